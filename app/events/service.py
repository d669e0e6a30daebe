"""The event log: written in the same transaction as the change it records (SPEC §4)."""

from __future__ import annotations

import json
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.service import Caller
from app.db import run_on_driver
from app.errors import NotFound
from app.events.models import Event
from app.ids import new_id
from app.pagination import Page, paginate

EVENT_TYPES = frozenset({
    "customer.created", "customer.updated", "customer.deleted",
    "invoice.created", "invoice.updated", "invoice.finalized", "invoice.sent",
    "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed",
    "invoice.payment_action_required", "invoice.voided", "invoice.marked_uncollectible",
    "invoice.deleted", "payment.completed", "payment.failed",
})


_INSERT = sa.insert(cast(sa.Table, Event.__table__))


def record(session: Session, account_id: str, livemode: bool, type_: str, data: dict[str, Any]) -> None:
    """Append an event. The caller's transaction commits or discards it with the change."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_}")
    # A plain INSERT on the session's own connection, now: an event is never
    # read or changed again in the request, so the unit of work (about a third
    # of a write request's flush) has nothing to track. Same transaction.
    run_on_driver(session, _INSERT, {"id": new_id("evt"), "account_id": account_id, "livemode": livemode,
                                     "created": clock.now(), "type": type_, "data": json.dumps(data)})


def serialize(event: Event) -> dict[str, Any]:
    return {"id": event.id, "object": "event", "type": event.type, "created": event.created,
            "livemode": event.livemode, "data": event.data}


def _scope(caller: Caller, retention: int) -> sa.Select[Any]:
    return sa.select(Event).where(
        Event.account_id == caller.account.id, Event.livemode == caller.livemode,
        Event.created >= clock.now() - retention,
    )


def get_event(session: Session, caller: Caller, event_id: str, retention: int) -> Event:
    event = session.scalar(_scope(caller, retention).where(Event.id == event_id))
    if event is None:
        raise NotFound(f"No such event: '{event_id}'", param="id")
    return event


def list_events(session: Session, caller: Caller, *, limit: int, starting_after: str | None,
                ending_before: str | None, type_: str | None, retention: int) -> Page[Event]:
    stmt = _scope(caller, retention)
    if type_:
        stmt = stmt.where(Event.type == type_)
    return paginate(session, stmt, Event, limit=limit, starting_after=starting_after,
                    ending_before=ending_before)
