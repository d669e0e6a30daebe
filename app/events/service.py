"""The event log: written in the same transaction as the change it records (SPEC §4).

What an event causes beyond the log (its webhook deliveries, an email) lives in packages
above this one: they subscribe here, and the app factory (app/__init__.py) subscribes them,
so each runs in the transaction that records the event and commits or rolls back with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.service import Caller
from app.events.models import Event
from app.ids import new_id
from app.pagination import Page, paginate
from app.tenancy import get_for, lookup, scoped

EVENT_TYPES = frozenset({
    "customer.created", "customer.updated", "customer.deleted", "account.business_profile.updated",
    "invoice.created", "invoice.updated", "invoice.finalized", "invoice.sent",
    "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed",
    "invoice.payment_action_required", "invoice.voided", "invoice.marked_uncollectible",
    "invoice.deleted", "payment.completed", "payment.failed",
    "refund.created", "refund.updated", "refund.failed", "payment.refunded",
    "credit_note.created", "credit_note.updated", "credit_note.voided",
    "bank_transaction.created", "bank_transaction.unmatched",
    # from the worker
    "invoice.finalization_failed", "email.sent", "email.failed", "webhook_endpoint.disabled",
})


_INSERT = sa.insert(cast(sa.Table, Event.__table__))


@dataclass(frozen=True)
class RecordedEvent:
    """An event as it was recorded, for its subscribers."""

    id: str
    account_id: str
    livemode: bool
    type: str
    created: int
    data: dict[str, Any]


Subscriber = Callable[[Session, RecordedEvent], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    """Call ``subscriber`` for every event recorded from now on, after those subscribed
    before it, in the recording transaction. Subscribing one twice is once."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


class NoSubscribers(RuntimeError):
    """An event recorded in a process whose app factory has not run: its webhooks would be lost."""


def record(session: Session, account_id: str, livemode: bool, type_: str, data: dict[str, Any]) -> None:
    """Append an event and run its subscribers (which queue its webhook deliveries). The
    caller's transaction commits or discards them with the change. Raises NoSubscribers
    before anything is written when nothing subscribed (no app was created)."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_}")
    if not _subscribers:
        raise NoSubscribers("no subscriber to the event log: create the app (app.create_app) first")
    event = RecordedEvent(new_id("evt"), account_id, livemode, type_, clock.now(), data)
    # A Core INSERT in the session's transaction: an event is never read or
    # changed again in the unit of work, so the ORM has nothing to track.
    session.execute(_INSERT, {"id": event.id, "account_id": account_id, "livemode": livemode,
                              "created": event.created, "type": type_, "data": data})
    for subscriber in _subscribers:
        subscriber(session, event)


def record_many(session: Session, account_id: str, livemode: bool, events: list[tuple[str, dict[str, Any]]]) -> None:
    """``record`` for each (type, data) of ``events``, in order, with one INSERT for all of
    them (a statement import records two events per entry: thousands in one request)."""
    if not events:
        return
    if unknown := {type_ for type_, _ in events} - EVENT_TYPES:
        raise ValueError(f"unknown event types {sorted(unknown)}")
    if not _subscribers:
        raise NoSubscribers("no subscriber to the event log: create the app (app.create_app) first")
    now = clock.now()
    recorded = [RecordedEvent(new_id("evt"), account_id, livemode, type_, now, data) for type_, data in events]
    session.execute(_INSERT, [{"id": e.id, "account_id": account_id, "livemode": livemode, "created": e.created,
                               "type": e.type, "data": e.data} for e in recorded])
    for event in recorded:
        for subscriber in _subscribers:
            subscriber(session, event)


def prune(session: Session, retention: int) -> None:
    """Forget events older than ``retention`` seconds (SPEC §4: kept 30 days), with their deliveries."""
    session.execute(sa.delete(Event).where(Event.created < clock.now() - retention)
                    .execution_options(synchronize_session=False))


def serialize(event: Event) -> dict[str, Any]:
    return {"id": event.id, "object": "event", "type": event.type, "created": event.created,
            "livemode": event.livemode, "data": event.data}


_RETAINED_EVENT = lookup(Event, Event.created >= sa.bindparam("retained_since"))


def get_event(session: Session, caller: Caller, event_id: str, retention: int) -> Event:
    """The caller's event, while within ``retention`` seconds, or NotFound."""
    return get_for(session, caller, Event, event_id, using=_RETAINED_EVENT,
                   params={"retained_since": clock.now() - retention})


def list_events(session: Session, caller: Caller, *, limit: int, starting_after: str | None,
                ending_before: str | None, type_: str | None, retention: int) -> Page[Event]:
    stmt = scoped(sa.select(Event), caller, Event).where(Event.created >= clock.now() - retention)
    if type_:
        stmt = stmt.where(Event.type == type_)
    return paginate(session, stmt, Event, caller, limit=limit, starting_after=starting_after,
                    ending_before=ending_before)
