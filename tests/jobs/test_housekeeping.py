"""The worker's upkeep: old events and idempotency keys go, dead collection slots are finished."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from app import clock
from app.events.models import Event
from app.idempotency.models import IdempotencyKey
from app.jobs.queue import enqueue
from app.worker.housekeeping import PRUNE
from app.worker.runner import Worker
from tests.conftest import Api


def test_events_older_than_30_days_and_keys_older_than_a_day_are_pruned(app: Flask, api: Api,
                                                                        db_session: Any) -> None:
    api.ok("POST", "/v1/customers", {"email": "old@example.com"}, headers={"Idempotency-Key": "old-key"})
    api.ok("POST", "/v1/customers", {"email": "new@example.com"}, headers={"Idempotency-Key": "new-key"})
    old_event = db_session.execute(sa.select(Event).where(Event.account_id == api.account_id)
                                   .order_by(Event.created, Event.id)).scalars().first()
    db_session.execute(sa.update(Event).where(Event.id == old_event.id).values(created=clock.now() - 31 * 86400))
    db_session.execute(sa.update(IdempotencyKey).where(IdempotencyKey.key == "old-key")
                       .values(created=clock.now() - 25 * 3600))
    enqueue(db_session, PRUNE, "test")  # it runs once an hour (its key holds the hour); this one now
    Worker(app).run_due()
    kept = db_session.execute(sa.select(Event.id).where(Event.account_id == api.account_id)).scalars().all()
    assert old_event.id not in kept and len(kept) == 1
    keys = db_session.execute(sa.select(IdempotencyKey.key).where(
        IdempotencyKey.account_id == api.account_id)).scalars().all()
    assert keys == ["new-key"]
