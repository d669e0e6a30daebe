from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class JobStatus(StrEnum):
    QUEUED = "queued"  # waiting for due_at
    RUNNING = "running"  # claimed by a worker until locked_until (renewed by its heartbeat)
    DONE = "done"
    FAILED = "failed"  # the body raised on every one of MAX_ATTEMPTS tries: kept for a person to look at


class Lane(StrEnum):
    """The kinds of work that must not wait on each other: each lane has threads of its
    own in a worker (app/jobs/fairness.py), so a flood in one never holds up another."""

    WEBHOOKS = "webhooks"
    EMAILS = "emails"
    COLLECTION = "collection"  # auto-finalization, dunning, reminders, finishing dead payment claims
    HOUSEKEEPING = "housekeeping"  # pruning, sweeping for dead payment claims
    OTHER = "other"  # a kind this version does not know


class JobKind(str):
    """A kind of job: its name, as stored in ``jobs.kind``, and the lane its jobs run in.
    The domain that queues a kind declares it (``SEND = JobKind("email.send", Lane.EMAILS)``);
    the registry of kinds above the domains (app/worker/kinds.py) says what runs it. A
    ``str``, so it compares, formats and keys a dict as its name."""

    lane: Lane

    def __new__(cls, name: str, lane: Lane = Lane.OTHER) -> JobKind:
        kind = super().__new__(cls, name)
        kind.lane = lane
        return kind


def lane_of(kind: str) -> Lane:
    """The lane of a kind; a bare name (one this version does not declare) runs in OTHER."""
    return kind.lane if isinstance(kind, JobKind) else Lane.OTHER


def _where(status: JobStatus) -> sa.TextClause:
    return sa.text(f"status = '{status.value}'")


def status_is(status: JobStatus) -> sa.ColumnElement[bool]:
    """``jobs.status = '<value>'`` with the value written into the SQL, not bound: the
    predicate of the partial indexes below. A prepared statement's generic plan (psycopg
    prepares after five runs) cannot prove a bound ``status = $1`` matches an index's
    predicate, and falls back to scanning every job, done ones included."""
    return Job.status == sa.literal_column(f"'{status.value}'", sa.String)


class Job(Base):
    """One piece of work for the worker. ``due_at`` is real (wall-clock) time; in test
    mode an advanced test clock moves the account's queued jobs closer (app/jobs/queue.py)."""

    __tablename__ = "jobs"
    __table_args__ = (
        # Partial indexes: the queue's hot rows are few, however many done rows are kept.
        sa.Index("ix_jobs_due", "due_at", postgresql_where=_where(JobStatus.QUEUED),
                 sqlite_where=_where(JobStatus.QUEUED)),
        # A lane's due jobs in order, with what the claim skips them by (their account's or
        # endpoint's share taken), read from the index alone.
        sa.Index("ix_jobs_lane", "lane", "due_at", "account_id", "concurrency_key",
                 postgresql_where=_where(JobStatus.QUEUED), sqlite_where=_where(JobStatus.QUEUED)),
        sa.Index("ix_jobs_lease", "locked_until", postgresql_where=_where(JobStatus.RUNNING),
                 sqlite_where=_where(JobStatus.RUNNING)),
        sa.Index("ix_jobs_clock", "account_id", "livemode", postgresql_where=_where(JobStatus.QUEUED),
                 sqlite_where=_where(JobStatus.QUEUED)),
        sa.Index("ix_jobs_finished", "finished_at", postgresql_where=_where(JobStatus.DONE),
                 sqlite_where=_where(JobStatus.DONE)),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(64))  # the id of what the job acts on
    payload: Mapped[dict[str, Any]]
    # Kind + subject + what makes this run distinct (a scheduled time, an attempt number):
    # when several processes schedule the same thing, one row is written.
    unique_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    account_id: Mapped[str | None] = mapped_column(sa.String(40))  # whose test clock moves it
    livemode: Mapped[bool | None]
    lane: Mapped[str] = mapped_column(sa.String(16))  # a Lane, by its kind (JobKind)
    # What else limits how many of these run at once, beside the account: a webhook
    # delivery's endpoint id.
    concurrency_key: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[JobStatus] = mapped_column(
        sa.Enum(JobStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    due_at: Mapped[float] = mapped_column(sa.Double)  # unix seconds, real time
    attempts: Mapped[int] = mapped_column(default=0)  # claims so far
    locked_by: Mapped[str | None] = mapped_column(sa.String(64))
    locked_until: Mapped[float | None] = mapped_column(sa.Double)
    last_error: Mapped[str | None] = mapped_column(sa.String(2000))
    created: Mapped[float] = mapped_column(sa.Double)
    finished_at: Mapped[float | None] = mapped_column(sa.Double)
