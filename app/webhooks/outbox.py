"""An event's deliveries, queued in the transaction that records the event (the outbox:
the change, its event and the deliveries it needs commit or roll back together). The app
factory subscribes ``queue_deliveries`` to the event log (app/events/service.py)."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from app.events.service import RecordedEvent
from app.ids import new_id
from app.jobs.models import JobKind, Lane
from app.jobs.queue import NewJob, enqueue_many
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

DELIVER = JobKind("webhook.deliver", Lane.WEBHOOKS)
_DELIVERIES = cast(sa.Table, WebhookDelivery.__table__)
_ENDPOINTS = (sa.select(WebhookEndpoint.id, WebhookEndpoint.enabled_events)
              .where(WebhookEndpoint.account_id == sa.bindparam("account_id"),
                     WebhookEndpoint.livemode == sa.bindparam("livemode"),
                     WebhookEndpoint.disabled.is_(False)))


_READ = "webhooks.outbox.endpoints"  # session.info: (transaction, {(account, mode): endpoints})


Listening = tuple[tuple[str, list[str]], ...]  # (endpoint id, the event types it listens for)


def _endpoints(session: Session, account_id: str, livemode: bool) -> Listening:
    """The account's enabled endpoints and the types they listen for, read once per
    transaction: a payment records three events, each fanned out to the same endpoints."""
    transaction = session.get_transaction()
    read: tuple[object, dict[tuple[str, bool], Listening]] | None = session.info.get(_READ)
    if read is None or read[0] is not transaction:
        read = session.info[_READ] = (transaction, {})
    key = (account_id, livemode)
    if key not in read[1]:
        rows = session.execute(_ENDPOINTS, {"account_id": account_id, "livemode": livemode})
        read[1][key] = tuple((str(endpoint_id), list(types)) for endpoint_id, types in rows)
    return read[1][key]


@sa.event.listens_for(WebhookEndpoint, "after_insert")
@sa.event.listens_for(WebhookEndpoint, "after_update")
@sa.event.listens_for(WebhookEndpoint, "after_delete")
def _endpoints_changed(_mapper: Any, _connection: Any, endpoint: WebhookEndpoint) -> None:
    """An endpoint written in this session: the transaction's next event reads them again."""
    session = object_session(endpoint)
    if session is not None:
        session.info.pop(_READ, None)


def attempt_job(delivery_id: str, account_id: str, livemode: bool, endpoint_id: str, *, round_: int, attempt: int,
                delay: float = 0.0) -> NewJob:
    """The job of one planned HTTP try; its key makes the try happen once however often
    it is planned. Its endpoint limits how many tries of it a worker makes at once."""
    return NewJob(DELIVER, delivery_id, {"round": round_, "attempt": attempt}, delay,
                  f"{DELIVER}:{delivery_id}:{round_}:{attempt}", account_id, livemode, endpoint_id)


def queue_deliveries(session: Session, event: RecordedEvent) -> None:
    """One delivery (and its first try) per enabled endpoint that listens for the event's type."""
    account_id, livemode, event_type = event.account_id, event.livemode, event.type
    endpoints = _endpoints(session, account_id, livemode)
    targets = [endpoint_id for endpoint_id, types in endpoints if "*" in types or event_type in types]
    if not targets:
        return
    deliveries = [(new_id("whd"), endpoint_id) for endpoint_id in targets]
    session.execute(sa.insert(_DELIVERIES), [
        {"id": delivery_id, "account_id": account_id, "livemode": livemode, "created": event.created,
         "endpoint_id": endpoint_id, "event_id": event.id, "event_type": event_type,
         "status": DeliveryStatus.PENDING.value, "round": 1, "attempts_in_round": 0}
        for delivery_id, endpoint_id in deliveries])
    enqueue_many(session, [attempt_job(delivery_id, account_id, livemode, endpoint_id, round_=1, attempt=1)
                           for delivery_id, endpoint_id in deliveries])
