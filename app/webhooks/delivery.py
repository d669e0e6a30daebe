"""Sending planned tries of deliveries, and what their answers mean (SPEC §4).

Each ``webhook.deliver`` job is one try of one delivery; the worker hands ``deliver``
up to BATCH_SENDS of them as one unit of work. It reads what to send, sends the tries
side by side outside any transaction, then records each attempt (with the body bytes,
at the first try, so every retry sends the same) and plans the next try or ends the
delivery, all in the unit's transaction. A job whose try was made already, or that
belongs to an older round (the delivery was resent since), does nothing. A worker that
dies between sending and recording leaves the try to be made again: at least once.

Times on the delivery follow the account's clock (a test clock in test mode);
signatures carry the real time.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.clocks import offset_of
from app.db import commit_without_waiting_for_disk
from app.events import service as events
from app.events.models import Event
from app.ids import new_id
from app.jobs.claims import ClaimedJob
from app.jobs.queue import enqueue_many
from app.transactions import reading
from app.webhooks import endpoints, states
from app.webhooks.addresses import BlockedDestination, refusal_message, resolve_destination
from app.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.webhooks.outbox import attempt_job
from app.webhooks.signing import signature_headers
from app.webhooks.transport import Sent, post

log = logging.getLogger(__name__)

DAY = 86400
# Seconds before each retry (the first try is at once), then daily (SPEC §4).
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
RETRY_FOR = 3 * DAY  # a round gives up once its first try is this old
DISABLE_AFTER = 5 * DAY  # of nothing but failures
OVERLOADED = frozenset({429, 502, 503, 504})  # and timeouts: these back off twice as long
TIMEOUT_SECONDS = 10.0
BATCH_SENDS = 25  # tries of one unit of work sent side by side (app/worker/kinds.py batch)


@dataclass(frozen=True)
class Planned:
    delivery_id: str
    round: int
    attempt: int
    event_id: str
    url: str
    livemode: bool
    body: bytes
    body_is_new: bool  # built for the first try: stored with its outcome
    secrets: tuple[str, ...]
    endpoint_disabled: bool


def deliver(session: Session, jobs: list[ClaimedJob]) -> None:
    """The body of a unit of ``webhook.deliver`` jobs: the tries are sent side by side
    and recorded in one transaction (app/worker/kinds.py), so a slow receiver delays the
    recording of its batch, not the sending."""
    with reading(session):  # no transaction, and on SQLite no lock, across the HTTP calls
        plans = _plan(session, jobs)
    if not plans:
        return
    sents = [_send(plans[0])] if len(plans) == 1 else list(_senders().map(_send, plans))
    _record(session, list(zip(plans, sents, strict=True)))


_local = threading.local()


def _senders() -> ThreadPoolExecutor:
    """The calling worker thread's own senders (started as needed, then kept): a
    receiver that takes its whole 10 s holds this unit of work only, not the others."""
    pool: ThreadPoolExecutor | None = getattr(_local, "senders", None)
    if pool is None:
        pool = _local.senders = ThreadPoolExecutor(max_workers=BATCH_SENDS, thread_name_prefix="vinr-webhook")
    return pool


def next_delay(attempt: int, sent: Sent) -> float:
    """Seconds from the ``attempt``-th failed try of a round to the next one."""
    delay = float(RETRY_DELAYS[attempt - 1] if attempt <= len(RETRY_DELAYS) else DAY)
    if sent.status in OVERLOADED or (sent.error or "").startswith("timeout"):
        delay *= 2
    if sent.retry_after is not None:
        delay = max(delay, float(min(sent.retry_after, DAY)))
    return delay * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, so failed receivers are not hit in step


_PLAN = (sa.select(WebhookDelivery, WebhookEndpoint, Event)
         .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
         .join(Event, Event.id == WebhookDelivery.event_id)
         .where(WebhookDelivery.id.in_(sa.bindparam("delivery_ids", expanding=True))))
# The same rows to record outcomes on, the deliveries locked (in id order, so two workers
# never wait on each other in a circle), with the account's clock.
_TO_RECORD = (sa.select(WebhookDelivery, WebhookEndpoint,
                        offset_of(WebhookDelivery.account_id, WebhookDelivery.livemode))
              .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
              .where(WebhookDelivery.id.in_(sa.bindparam("delivery_ids", expanding=True)))
              .order_by(WebhookDelivery.id)
              .with_for_update(of=WebhookDelivery)
              .execution_options(populate_existing=True))
_NOT_SENT = Sent(status=None, error="endpoint_disabled: the endpoint was disabled", retry_after=None, duration_ms=0)


def _plan(session: Session, jobs: list[ClaimedJob]) -> list[Planned]:
    """What each job is to send; none for a job whose try is not due (ended, resent
    since, made already, or its endpoint deleted)."""
    rows = {delivery.id: (delivery, endpoint, event) for delivery, endpoint, event in session.execute(
        _PLAN, {"delivery_ids": [job.subject for job in jobs]}).all()}
    plans: dict[str, Planned] = {}
    now = time.time()
    for job in jobs:
        found = rows.get(job.subject)
        round_, attempt = job.payload["round"], job.payload["attempt"]
        if found is None or job.subject in plans or not _is_due(found[0], round_, attempt):
            continue
        delivery, endpoint, event = found
        body, body_is_new = delivery.body, False
        if body is None:
            body, body_is_new = json.dumps(events.serialize(event), separators=(",", ":"),
                                           ensure_ascii=False).encode(), True
        secrets = (endpoint.secret,) + (
            (endpoint.previous_secret,) if endpoint.previous_secret and (endpoint.previous_secret_expires or 0) > now
            else ())
        plans[delivery.id] = Planned(delivery.id, round_, attempt, delivery.event_id, endpoint.url,
                                     delivery.livemode, body, body_is_new, secrets, endpoint.disabled)
    return list(plans.values())


def _is_due(delivery: WebhookDelivery, round_: int, attempt: int) -> bool:
    return (delivery.status is DeliveryStatus.PENDING and delivery.round == round_
            and delivery.attempts_in_round == attempt - 1)


def _send(planned: Planned) -> Sent:
    if planned.endpoint_disabled:
        return _NOT_SENT
    try:
        destination = resolve_destination(planned.url, livemode=planned.livemode)
    except BlockedDestination as blocked:
        # The merchant lists attempts: the reason (what the name resolves to) stays in our log.
        log.warning("webhook delivery %s not sent: %s", planned.delivery_id, blocked.reason)
        return Sent(status=None, error=f"address_blocked: {refusal_message(livemode=planned.livemode)}",
                    retry_after=None, duration_ms=0)
    headers = signature_headers(event_id=planned.event_id, body=planned.body, secrets=planned.secrets,
                                timestamp=int(time.time()))
    return post(destination, planned.body, headers, timeout=TIMEOUT_SECONDS)


def _record(session: Session, outcomes: list[tuple[Planned, Sent]]) -> None:
    commit_without_waiting_for_disk(session)  # lost, the jobs run again: a second try each
    rows = {delivery.id: (delivery, endpoint, offset) for delivery, endpoint, offset in session.execute(
        _TO_RECORD, {"delivery_ids": [planned.delivery_id for planned, _ in outcomes]}).all()}
    for planned, sent in outcomes:
        found = rows.get(planned.delivery_id)
        if found is not None:  # else the endpoint was deleted meanwhile
            _record_one(session, planned, sent, *found)


def _record_one(session: Session, planned: Planned, sent: Sent, delivery: WebhookDelivery,
                endpoint: WebhookEndpoint, offset: int) -> None:
    if not _is_due(delivery, planned.round, planned.attempt):
        return  # resent while this try was on its way: the new round decides what comes next
    if planned.endpoint_disabled:
        states.move(delivery, DeliveryStatus.FAILED)
        delivery.next_attempt_at = None
        return
    now = clock.now() + offset
    attempt = WebhookAttempt(id=new_id("wha"), account_id=delivery.account_id, livemode=delivery.livemode,
                             created=now, delivery_id=delivery.id, endpoint_id=endpoint.id,
                             event_id=delivery.event_id, event_type=delivery.event_type, http_status=sent.status,
                             error=sent.error[:500] if sent.error else None, duration_ms=sent.duration_ms,
                             succeeded=sent.ok, next_retry_at=None)
    session.add(attempt)
    if planned.body_is_new and delivery.body is None:
        delivery.body = planned.body
    delivery.attempts_in_round += 1
    delivery.last_attempt_at = now
    delivery.round_started_at = delivery.round_started_at or now
    delivery.next_attempt_at = None
    if sent.ok:
        states.move(delivery, DeliveryStatus.SUCCEEDED)
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
        return
    endpoint.failing_since = endpoint.failing_since or now
    if sent.status == 410:
        endpoints.disable(session, endpoint, "The endpoint answered 410 Gone.")
    elif now - endpoint.failing_since >= DISABLE_AFTER:
        endpoints.disable(session, endpoint, "Every delivery failed for 5 days.")
    elif now - delivery.round_started_at >= RETRY_FOR:
        states.move(delivery, DeliveryStatus.FAILED)
    else:
        delay = next_delay(planned.attempt, sent)
        delivery.next_attempt_at = attempt.next_retry_at = now + round(delay)
        enqueue_many(session, [attempt_job(delivery.id, delivery.account_id, delivery.livemode, delivery.endpoint_id,
                                           round_=planned.round, attempt=planned.attempt + 1, delay=delay)])
