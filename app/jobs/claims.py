"""A worker's hold on jobs: claim due rows under a lease, renew it, give it up.

At least once: a job is done when the transaction that marks it done commits. A worker
that dies holding jobs stops renewing their lease, and once it runs out the next claim
takes them like due jobs. Every job body is therefore idempotent.

A worker claims in two statements of one transaction: ``candidates`` reads, lane by
lane, the oldest due jobs of the accounts and endpoints that have not taken their share
of its threads (app/jobs/fairness.py chooses among them), and ``take`` is one
``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …`` of the chosen
ids that are still claimable. On PostgreSQL, concurrent workers pass over each other's
rows, and a row another worker took since it was read is no longer claimable; on
SQLite the transaction runs inside ``BEGIN IMMEDIATE`` (app/db.py), which serializes
writers. ``claim`` takes the oldest due jobs whoever they belong to (tests, tools).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.jobs.models import Job, JobStatus, Lane, status_is

MAX_ATTEMPTS = 20  # a body that raised this often is FAILED and waits for a person
RETRY_BASE_SECONDS = 5.0
RETRY_CAP_SECONDS = 3600.0


class TryLater(Exception):
    """Raised by a job body that cannot do its work yet (it waits on something outside the
    job): the job is tried again after the same growing delay as a failure, and logged
    without a traceback, since nothing is wrong."""


class LeaseLost(Exception):
    """The job's lease ran out and another worker claimed it: this run's changes are
    rolled back, and the other run counts."""


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    subject: str
    payload: dict[str, Any]
    attempts: int  # including this claim
    account_id: str | None
    livemode: bool | None
    lane: str = Lane.OTHER.value
    concurrency_key: str | None = None


@dataclass(frozen=True)
class Candidate:
    id: int
    kind: str
    lane: str
    account_id: str | None
    concurrency_key: str | None
    due_at: float


# Statements built once, with bound parameters (they run for every job).
_CLAIMABLE = sa.or_(sa.and_(status_is(JobStatus.QUEUED), Job.due_at <= sa.bindparam("now")),
                    sa.and_(status_is(JobStatus.RUNNING), Job.locked_until < sa.bindparam("now")))
_RETURNED = (Job.id, Job.kind, Job.subject, Job.payload, Job.attempts, Job.account_id, Job.livemode, Job.lane,
             Job.concurrency_key)
_DUE = (sa.select(Job.id).where(_CLAIMABLE)
        .order_by(Job.due_at).limit(sa.bindparam("limit")).with_for_update(skip_locked=True))
_CLAIM = (sa.update(Job).where(Job.id.in_(_DUE.scalar_subquery()))
          .values(status=JobStatus.RUNNING, locked_by=sa.bindparam("worker"),
                  locked_until=sa.bindparam("until"), attempts=Job.attempts + 1)
          .returning(*_RETURNED)
          .execution_options(synchronize_session=False))
_CANDIDATE = (Job.id, Job.kind, Job.lane, Job.account_id, Job.concurrency_key, Job.due_at)


def _lane_due(lane: Lane) -> sa.Subquery:
    """The lane's oldest queued due jobs, but those of the accounts and keys told to skip
    (which have their share): an ordered walk of ix_jobs_lane that stops at the limit."""
    return (sa.select(*_CANDIDATE)
            .where(status_is(JobStatus.QUEUED), Job.lane == lane.value, Job.due_at <= sa.bindparam("now"),
                   sa.or_(Job.account_id.is_(None),
                          Job.account_id.not_in(sa.bindparam("full_accounts", expanding=True))),
                   sa.or_(Job.concurrency_key.is_(None),
                          Job.concurrency_key.not_in(sa.bindparam("full_keys", expanding=True))))
            .order_by(Job.due_at).limit(sa.bindparam(f"limit_{lane.value}", type_=sa.Integer)).subquery())


_EXPIRED = (sa.select(*_CANDIDATE)  # a dead worker's jobs: few, and due first
            .where(status_is(JobStatus.RUNNING), Job.locked_until < sa.bindparam("now"))
            .order_by(Job.locked_until).limit(sa.bindparam("limit_expired", type_=sa.Integer)).subquery())
_CANDIDATES = sa.union_all(*(sa.select(*sub.c) for sub in [*(_lane_due(lane) for lane in Lane), _EXPIRED]))
_TAKE = (sa.update(Job)
         .where(Job.id.in_(sa.select(Job.id).where(Job.id.in_(sa.bindparam("job_ids", expanding=True)), _CLAIMABLE)
                           .with_for_update(skip_locked=True).scalar_subquery()))
         .values(status=JobStatus.RUNNING, locked_by=sa.bindparam("worker"),
                 locked_until=sa.bindparam("until"), attempts=Job.attempts + 1)
         .returning(*_RETURNED)
         .execution_options(synchronize_session=False))
_HELD = (Job.locked_by == sa.bindparam("worker"), status_is(JobStatus.RUNNING))
_RENEW = (sa.update(Job).where(Job.id.in_(sa.bindparam("job_ids", expanding=True)), *_HELD)
          .values(locked_until=sa.bindparam("until"))
          .execution_options(synchronize_session=False))
_FINISH = (sa.update(Job).where(Job.id.in_(sa.bindparam("job_ids", expanding=True)), *_HELD)
           .values(status=JobStatus.DONE, finished_at=sa.bindparam("now"), locked_by=None, locked_until=None)
           .execution_options(synchronize_session=False))


def claim(session: Session, worker_id: str, limit: int, lease: float) -> list[ClaimedJob]:
    """Take up to ``limit`` due jobs, oldest due first, for ``lease`` seconds: queued
    ones, and running ones whose worker's lease ran out."""
    now = time.time()
    rows = session.execute(_CLAIM, {"now": now, "limit": limit, "worker": worker_id, "until": now + lease}).all()
    return sorted((ClaimedJob(*row) for row in rows), key=lambda job: job.id)


def candidates(session: Session, limits: dict[Lane, int], full_accounts: list[str],
               full_keys: list[str]) -> list[Candidate]:
    """Up to ``limits[lane]`` due jobs of each lane, oldest first, leaving out those of
    ``full_accounts`` and ``full_keys``; and jobs whose lease ran out. Reads, locks nothing."""
    params: dict[str, Any] = {f"limit_{lane.value}": max(0, limits.get(lane, 0)) for lane in Lane}
    params.update(now=time.time(), full_accounts=full_accounts, full_keys=full_keys,
                  limit_expired=max(0, sum(limits.values())))
    rows = session.execute(_CANDIDATES, params).all()
    return sorted((Candidate(*row) for row in rows), key=lambda c: (c.due_at, c.id))


def take(session: Session, worker_id: str, job_ids: list[int], lease: float) -> list[ClaimedJob]:
    """Claim the jobs of ``job_ids`` that are still claimable, for ``lease`` seconds."""
    if not job_ids:
        return []
    now = time.time()
    rows = session.execute(_TAKE, {"job_ids": job_ids, "now": now, "worker": worker_id, "until": now + lease}).all()
    return sorted((ClaimedJob(*row) for row in rows), key=lambda job: job.id)


def renew(session: Session, worker_id: str, job_ids: list[int], lease: float) -> None:
    """The heartbeat: extend the lease of the jobs this worker has in hand, and of no
    other. A job it claimed but no longer runs (whose outcome it could not record, say)
    keeps its lease only until it runs out: then the next claim takes it again."""
    if job_ids:
        session.execute(_RENEW, {"job_ids": job_ids, "worker": worker_id, "until": time.time() + lease})


def finish(session: Session, jobs: list[ClaimedJob], worker_id: str) -> None:
    """Mark the jobs done, in the transaction holding their body's last changes.

    Raises LeaseLost when a lease is no longer this worker's."""
    result = session.execute(_FINISH, {"job_ids": [job.id for job in jobs], "worker": worker_id, "now": time.time()})
    if result.rowcount != len(jobs):  # type: ignore[attr-defined]  # CursorResult
        raise LeaseLost(f"jobs {[job.id for job in jobs]} are no longer all held by {worker_id}")


def retry_later(session: Session, job: ClaimedJob, worker_id: str, error: str) -> None:
    """The body raised: try again after a growing, jittered delay, or give up after
    MAX_ATTEMPTS (the row stays, FAILED, with the error)."""
    failed = job.attempts >= MAX_ATTEMPTS
    delay = min(RETRY_BASE_SECONDS * 2 ** (job.attempts - 1), RETRY_CAP_SECONDS) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
    session.execute(
        sa.update(Job).where(Job.id == job.id, Job.locked_by == worker_id, Job.status == JobStatus.RUNNING)
        .values(status=JobStatus.FAILED if failed else JobStatus.QUEUED, due_at=time.time() + delay,
                last_error=error[:2000], locked_by=None, locked_until=None,
                finished_at=time.time() if failed else None)
        .execution_options(synchronize_session=False))


def release(session: Session, job_ids: list[int], worker_id: str) -> None:
    """Give back claimed jobs not started (a worker stopping): due again at once, and the
    claim does not count as an attempt."""
    if job_ids:
        session.execute(
            sa.update(Job).where(Job.id.in_(job_ids), Job.locked_by == worker_id, Job.status == JobStatus.RUNNING)
            .values(status=JobStatus.QUEUED, locked_by=None, locked_until=None, attempts=Job.attempts - 1)
            .execution_options(synchronize_session=False))


def prune_done(session: Session, older_than: float) -> None:
    """Forget done jobs finished before ``older_than`` (their unique keys with them)."""
    session.execute(sa.delete(Job).where(status_is(JobStatus.DONE), Job.finished_at < older_than)
                    .execution_options(synchronize_session=False))


def counts(session: Session) -> dict[str, int]:
    """Jobs by status (``flask --app wsgi jobs``)."""
    rows = session.execute(sa.select(Job.status, sa.func.count()).group_by(Job.status)).all()
    return {JobStatus(status).value: count for status, count in rows}


def failed(session: Session, limit: int = 50) -> list[Job]:
    """The most recently failed jobs, newest first."""
    return list(session.execute(sa.select(Job).where(Job.status == JobStatus.FAILED)
                                .order_by(Job.finished_at.desc()).limit(limit)).scalars())


def retry_failed(session: Session) -> int:
    """Give every failed job a fresh set of attempts, due now (after a fix is deployed)."""
    result = session.execute(sa.update(Job).where(Job.status == JobStatus.FAILED)
                             .values(status=JobStatus.QUEUED, due_at=time.time(), attempts=0, finished_at=None)
                             .execution_options(synchronize_session=False))
    return result.rowcount  # type: ignore[attr-defined, no-any-return]  # CursorResult
