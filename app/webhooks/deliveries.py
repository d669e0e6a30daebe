"""What a merchant sees of deliveries, and sending events again (SPEC §4)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.clocks import now_for
from app.accounts.service import Caller
from app.errors import InvalidRequest
from app.events.models import Event
from app.events.service import get_event
from app.ids import new_id
from app.jobs.queue import enqueue_many
from app.pagination import Page, paginate
from app.tenancy import scoped
from app.webhooks import endpoints, states
from app.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.webhooks.outbox import attempt_job
from app.webhooks.schemas import AttemptList

RECOVER_AT_MOST = 10_000  # deliveries per call; call again with a later ``since`` for more


def serialize_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    return {"id": delivery.id, "object": "webhook_delivery", "livemode": delivery.livemode,
            "created": delivery.created, "endpoint": delivery.endpoint_id, "event": delivery.event_id,
            "event_type": delivery.event_type, "status": delivery.status.value,
            "attempt_count": delivery.attempts_in_round, "last_attempt_at": delivery.last_attempt_at,
            "next_attempt_at": delivery.next_attempt_at}


def serialize_attempt(attempt: WebhookAttempt) -> dict[str, Any]:
    return {"id": attempt.id, "object": "webhook_delivery_attempt", "livemode": attempt.livemode,
            "created": attempt.created, "delivery": attempt.delivery_id, "endpoint": attempt.endpoint_id,
            "event": attempt.event_id, "event_type": attempt.event_type, "succeeded": attempt.succeeded,
            "http_status": attempt.http_status, "error": attempt.error, "duration_ms": attempt.duration_ms,
            "next_retry_at": attempt.next_retry_at}


def list_attempts(session: Session, caller: Caller, endpoint_id: str, query: AttemptList) -> Page[WebhookAttempt]:
    endpoint = endpoints.get(session, caller, endpoint_id)
    stmt = scoped(sa.select(WebhookAttempt), caller, WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id)
    if query.event is not None:
        stmt = stmt.where(WebhookAttempt.event_id == query.event)
    return paginate(session, stmt, WebhookAttempt, caller, limit=query.limit, starting_after=query.starting_after,
                    ending_before=query.ending_before)


def resend(session: Session, caller: Caller, endpoint_id: str, event_id: str, retention: int) -> WebhookDelivery:
    """Send the event to the endpoint again, now, with the same id and body (or for the
    first time, if it never went there), on a fresh retry schedule."""
    endpoint = endpoints.get(session, caller, endpoint_id)
    _refuse_disabled(endpoint)
    event = get_event(session, caller, event_id, retention)
    delivery = session.execute(sa.select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == event.id)).scalar_one_or_none()
    if delivery is None:
        delivery = _new_delivery(endpoint, event)
        session.add(delivery)
        session.flush()
        enqueue_many(session, [attempt_job(delivery.id, delivery.account_id, delivery.livemode,
                                           delivery.endpoint_id, round_=1, attempt=1)])
        return delivery
    _plan_again(session, delivery)
    return delivery


def recover(session: Session, caller: Caller, endpoint_id: str, since: int, until: int | None) -> int:
    """Send again every delivery to the endpoint that failed (gave up, or ended when the
    endpoint was disabled) and was last tried from ``since`` to ``until`` (account time).
    Returns how many were planned."""
    endpoint = endpoints.get(session, caller, endpoint_id)
    _refuse_disabled(endpoint)
    stmt = sa.select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == DeliveryStatus.FAILED,
        sa.func.coalesce(WebhookDelivery.last_attempt_at, WebhookDelivery.created) >= since)
    if until is not None:
        stmt = stmt.where(sa.func.coalesce(WebhookDelivery.last_attempt_at, WebhookDelivery.created) <= until)
    failed = session.execute(stmt.order_by(WebhookDelivery.created).limit(RECOVER_AT_MOST)).scalars().all()
    for delivery in failed:
        _plan_again(session, delivery)
    return len(failed)


def _refuse_disabled(endpoint: WebhookEndpoint) -> None:
    if endpoint.disabled:
        raise InvalidRequest("The endpoint is disabled: enable it first (POST it with \"disabled\": false).",
                             code="webhook_endpoint_disabled")


def _new_delivery(endpoint: WebhookEndpoint, event: Event) -> WebhookDelivery:
    return WebhookDelivery(id=new_id("whd"), account_id=endpoint.account_id, livemode=endpoint.livemode,
                           created=clock.now(), endpoint_id=endpoint.id, event_id=event.id, event_type=event.type,
                           status=DeliveryStatus.PENDING, round=1, attempts_in_round=0)


def _plan_again(session: Session, delivery: WebhookDelivery) -> None:
    """A new round: its first try now; any try still planned from the last round is void."""
    states.move(delivery, DeliveryStatus.PENDING)
    delivery.round += 1
    delivery.attempts_in_round = 0
    delivery.round_started_at = None
    delivery.next_attempt_at = now_for(session, delivery.account_id, delivery.livemode)
    session.flush()
    enqueue_many(session, [attempt_job(delivery.id, delivery.account_id, delivery.livemode, delivery.endpoint_id,
                                       round_=delivery.round, attempt=1)])
