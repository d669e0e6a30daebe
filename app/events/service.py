"""The event log: written in the same transaction as the change it records (SPEC §4)."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.service import Caller
from app.events.models import Event
from app.ids import new_id
from app.pagination import Page, paginate
from app.tenancy import get_for, lookup, scoped
from app.webhooks.outbox import queue_deliveries

EVENT_TYPES = frozenset({
    "customer.created", "customer.updated", "customer.deleted", "account.business_profile.updated",
    "invoice.created", "invoice.updated", "invoice.finalized", "invoice.sent",
    "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed",
    "invoice.payment_action_required", "invoice.voided", "invoice.marked_uncollectible",
    "invoice.deleted", "payment.completed", "payment.failed",
    # from the worker
    "invoice.finalization_failed", "email.sent", "email.failed", "webhook_endpoint.disabled",
})


_INSERT = sa.insert(cast(sa.Table, Event.__table__))


def record(session: Session, account_id: str, livemode: bool, type_: str, data: dict[str, Any]) -> None:
    """Append an event and queue its webhook deliveries. The caller's transaction
    commits or discards them with the change."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_}")
    event_id, created = new_id("evt"), clock.now()
    # A Core INSERT in the session's transaction: an event is never read or
    # changed again in the unit of work, so the ORM has nothing to track.
    session.execute(_INSERT, {"id": event_id, "account_id": account_id, "livemode": livemode,
                              "created": created, "type": type_, "data": data})
    queue_deliveries(session, account_id, livemode, event_id, type_, created)


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
