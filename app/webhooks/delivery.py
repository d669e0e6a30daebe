"""Sending one planned try of a delivery, and what its answer means (SPEC §4).

The worker runs ``deliver`` for each ``webhook.deliver`` job. The job is one try:
read what to send (and fix the body bytes at the first try), send it outside any
transaction, then record the attempt and plan the next try, or end the delivery, in
the job's own transaction. A job whose try was made already, or that belongs to an
older round (the delivery was resent since), does nothing, so a job run twice sends once.

Times on the delivery follow the account's clock (a test clock in test mode);
signatures carry the real time.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.accounts.clocks import now_for
from app.events import service as events
from app.events.models import Event
from app.ids import new_id
from app.jobs.claims import ClaimedJob
from app.jobs.queue import enqueue_many
from app.transactions import end_transaction
from app.webhooks import endpoints, states
from app.webhooks.addresses import BlockedDestination, resolve_destination
from app.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.webhooks.outbox import attempt_job
from app.webhooks.signing import signature_headers
from app.webhooks.transport import Sent, post

DAY = 86400
# Seconds before each retry (the first try is at once), then daily (SPEC §4).
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
RETRY_FOR = 3 * DAY  # a round gives up once its first try is this old
DISABLE_AFTER = 5 * DAY  # of nothing but failures
OVERLOADED = frozenset({429, 502, 503, 504})  # and timeouts: these back off twice as long
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Planned:
    delivery_id: str
    round: int
    attempt: int
    event_id: str
    url: str
    livemode: bool
    body: bytes
    secrets: tuple[str, ...]


def deliver(session: Session, job: ClaimedJob) -> None:
    """The body of a ``webhook.deliver`` job."""
    planned = _plan(session, job.subject, job.payload["round"], job.payload["attempt"])
    if planned is None:
        return
    end_transaction(session)  # no transaction, and on SQLite no write lock, across the HTTP call
    sent = _send(planned)
    _record(session, planned, sent)


def next_delay(attempt: int, sent: Sent) -> float:
    """Seconds from the ``attempt``-th failed try of a round to the next one."""
    delay = float(RETRY_DELAYS[attempt - 1] if attempt <= len(RETRY_DELAYS) else DAY)
    if sent.status in OVERLOADED or (sent.error or "").startswith("timeout"):
        delay *= 2
    if sent.retry_after is not None:
        delay = max(delay, float(min(sent.retry_after, DAY)))
    return delay * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, so failed receivers are not hit in step


def _plan(session: Session, delivery_id: str, round_: int, attempt: int) -> Planned | None:
    delivery = session.get(WebhookDelivery, delivery_id)
    if (delivery is None or delivery.status is not DeliveryStatus.PENDING or delivery.round != round_
            or delivery.attempts_in_round != attempt - 1):
        return None  # deleted, ended, resent since, or this try was made already
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None  # deleting an endpoint deletes its deliveries
    if endpoint.disabled:
        states.move(delivery, DeliveryStatus.FAILED)
        delivery.next_attempt_at = None
        return None
    if delivery.body is None:
        event = session.get(Event, delivery.event_id)
        assert event is not None  # pruning an event deletes its deliveries
        delivery.body = json.dumps(events.serialize(event), separators=(",", ":"), ensure_ascii=False).encode()
    now = time.time()
    secrets = (endpoint.secret,) + (
        (endpoint.previous_secret,) if endpoint.previous_secret and (endpoint.previous_secret_expires or 0) > now
        else ())
    return Planned(delivery.id, round_, attempt, delivery.event_id, endpoint.url, delivery.livemode, delivery.body,
                   secrets)


def _send(planned: Planned) -> Sent:
    try:
        destination = resolve_destination(planned.url, livemode=planned.livemode)
    except BlockedDestination as blocked:
        return Sent(status=None, error=f"address_blocked: {blocked.reason}", retry_after=None, duration_ms=0)
    headers = signature_headers(event_id=planned.event_id, body=planned.body, secrets=planned.secrets,
                                timestamp=int(time.time()))
    return post(destination, planned.body, headers, timeout=TIMEOUT_SECONDS)


def _record(session: Session, planned: Planned, sent: Sent) -> None:
    delivery = session.get(WebhookDelivery, planned.delivery_id, with_for_update=True)
    if delivery is None:
        return  # the endpoint was deleted meanwhile
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None
    now = now_for(session, delivery.account_id, delivery.livemode)
    current = (delivery.status is DeliveryStatus.PENDING and delivery.round == planned.round
               and delivery.attempts_in_round == planned.attempt - 1)
    attempt = WebhookAttempt(id=new_id("wha"), account_id=delivery.account_id, livemode=delivery.livemode,
                             created=now, delivery_id=delivery.id, endpoint_id=endpoint.id,
                             event_id=delivery.event_id, event_type=delivery.event_type, http_status=sent.status,
                             error=sent.error[:500] if sent.error else None, duration_ms=sent.duration_ms,
                             succeeded=sent.ok, next_retry_at=None)
    session.add(attempt)
    if not current:
        return  # resent while this try was on its way: the new round decides what comes next
    delivery.attempts_in_round += 1
    delivery.last_attempt_at = now
    delivery.round_started_at = delivery.round_started_at or now
    delivery.next_attempt_at = None
    if sent.ok:
        states.move(delivery, DeliveryStatus.SUCCEEDED)
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
        enqueue_many(session, [attempt_job(delivery.id, delivery.account_id, delivery.livemode,
                                           round_=planned.round, attempt=planned.attempt + 1, delay=delay)])
