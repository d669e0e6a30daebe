"""Putting work on the queue, inside the caller's transaction (the outbox).

A job row commits or rolls back with the change that caused it, so a state change
and its consequences are never separated. This is the whole enqueue API, kept thin
so a PostgreSQL engine such as Procrastinate could take over that side later.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.jobs.models import Job, JobStatus, lane_of, status_is

CHANNEL = "vinr_jobs"  # PostgreSQL NOTIFY channel the workers LISTEN on
_JOBS = cast(sa.Table, Job.__table__)


@dataclass(frozen=True)
class NewJob:
    kind: str  # a JobKind, whose lane the job runs in
    subject: str
    payload: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0  # seconds from now; the same on a test clock (it moves on, not faster)
    unique_key: str | None = None
    account_id: str | None = None
    livemode: bool | None = None
    concurrency_key: str | None = None  # beside the account, what limits these jobs in flight (an endpoint)


def enqueue(session: Session, kind: str, subject: str, *, payload: dict[str, Any] | None = None,
            delay: float = 0.0, unique_key: str | None = None, account_id: str | None = None,
            livemode: bool | None = None) -> None:
    """Queue one job in the session's transaction. A ``unique_key`` already queued (or
    run) is not queued again. ``account_id``/``livemode`` tie the job to that account's
    test clock in test mode, and to the account's share of a worker's threads."""
    enqueue_many(session, [NewJob(kind, subject, payload or {}, delay, unique_key, account_id, livemode)])


def enqueue_many(session: Session, jobs: Sequence[NewJob]) -> None:
    """As ``enqueue``, for several jobs in one statement."""
    if not jobs:
        return
    now = time.time()
    rows = [{"kind": str(j.kind), "subject": j.subject, "payload": j.payload, "unique_key": j.unique_key,
             "account_id": j.account_id, "livemode": j.livemode, "lane": lane_of(j.kind).value,
             "concurrency_key": j.concurrency_key, "status": JobStatus.QUEUED.value,
             "due_at": now + j.delay, "attempts": 0, "created": now} for j in jobs]
    session.execute(_insert_ignoring_duplicates(session), rows)
    if any(j.delay <= 0 for j in jobs):
        wake_workers(session)


def wake_workers(session: Session) -> None:
    """On PostgreSQL, tell listening workers when this transaction commits (NOTIFY is
    delivered on commit and dropped on rollback). SQLite workers poll."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))


def shift_due(session: Session, account_id: str, livemode: bool, seconds: int) -> None:
    """A test clock moved forward by ``seconds``: the account's queued jobs fall due that
    much sooner in real time, as if that time had passed."""
    session.execute(
        sa.update(Job)
        .where(Job.account_id == account_id, Job.livemode == livemode, status_is(JobStatus.QUEUED))
        .values(due_at=Job.due_at - seconds)
        .execution_options(synchronize_session=False))
    wake_workers(session)


def _insert_ignoring_duplicates(session: Session) -> sa.Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(_JOBS).on_conflict_do_nothing(index_elements=["unique_key"])
    return sqlite.insert(_JOBS).on_conflict_do_nothing(index_elements=["unique_key"])
