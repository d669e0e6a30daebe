"""The worker's hold on the jobs it claims: whatever fails, a claimed job is run, or
recorded as failed and retried later, and only the jobs in hand keep their lease."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import pytest
import sqlalchemy as sa
from flask import Flask

from app.jobs import claims
from app.jobs.claims import ClaimedJob
from app.jobs.models import Job, JobStatus, Lane, lane_of
from app.jobs.queue import enqueue
from app.worker import kinds
from app.worker.kinds import Kind, one_by_one
from app.worker.runner import Worker

KIND = "test.recorded"


class InThisThread:
    """A pool whose submitted units run in the test's thread once the worker's step is
    over, and whose Futures keep what a unit raised, as a thread pool's do."""

    def __init__(self) -> None:
        self.submitted: list[tuple[Callable[..., None], tuple[Any, ...], Future[None]]] = []

    def submit(self, fn: Callable[..., None], *args: Any) -> Future[None]:
        future: Future[None] = Future()
        self.submitted.append((fn, args, future))
        return future

    def run(self) -> None:
        while self.submitted:
            fn, args, future = self.submitted.pop(0)
            try:
                future.set_result(fn(*args))
            except BaseException as error:
                future.set_exception(error)


def lost_connection() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


@pytest.fixture()
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A job kind that records the subjects it ran."""
    subjects: list[str] = []

    def handler(_session: Any, job: ClaimedJob) -> None:
        subjects.append(job.subject)

    monkeypatch.setitem(kinds.KINDS, KIND, Kind(one_by_one(handler)))
    return subjects


def row(db_session: Any, subject: str) -> Job:
    return db_session.execute(sa.select(Job).where(Job.kind == KIND, Job.subject == subject)
                              .execution_options(populate_existing=True)).scalar_one()


def step(worker: Worker) -> None:
    """One turn of the worker's main loop, then the units it started (the loop's wait for
    more work, on PostgreSQL a LISTEN connection of its own, is left out)."""
    worker._wait = lambda _seconds: None  # type: ignore[method-assign]
    pool = InThisThread()
    try:
        worker._step(cast(ThreadPoolExecutor, pool))
    finally:
        pool.run()



def test_every_kind_of_job_runs_in_its_own_lane() -> None:
    """Each domain declares its kinds with their lane (JobKind); a kind left a bare name would
    run in the lane of kinds this version does not know."""
    lanes = {str(kind): lane_of(kind) for kind in kinds.KINDS}
    assert lanes == {
        "webhook.deliver": Lane.WEBHOOKS, "email.send": Lane.EMAILS,
        "invoice.auto_finalize": Lane.COLLECTION, "invoice.retry_payment": Lane.COLLECTION,
        "invoice.remind": Lane.COLLECTION, "invoice.reask_payment": Lane.COLLECTION,
        "payments.finish_dead_claim": Lane.COLLECTION,
        "housekeeping.prune": Lane.HOUSEKEEPING, "payments.sweep_dead_claims": Lane.HOUSEKEEPING,
        "refunds.reask": Lane.COLLECTION, "refunds.sweep_pending": Lane.HOUSEKEEPING,
    }

def test_a_database_error_right_after_the_claim_commits_does_not_strand_the_claimed_job(
        app: Flask, db_session: Any, ran: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    enqueue(db_session, KIND, "first")
    db_session.flush()
    worker = Worker(app, concurrency=2)

    def unreachable(_self: Worker) -> float:
        raise lost_connection()

    monkeypatch.setattr(Worker, "_until_next_due", unreachable)
    with contextlib.suppress(sa.exc.OperationalError):  # the main loop logs it and tries again
        step(worker)
    assert ran == ["first"]
    assert row(db_session, "first").status is JobStatus.DONE


def test_a_failure_the_database_would_not_record_is_recorded_later_and_its_lease_not_renewed(
        app: Flask, db_session: Any, ran: list[str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    enqueue(db_session, KIND, "second")
    db_session.flush()
    worker = Worker(app, concurrency=2, lease=30)
    real_retry_later = claims.retry_later
    database_down = [True]

    def finish(*_args: Any) -> None:
        raise lost_connection()

    def retry_later(*args: Any) -> None:
        if database_down[0]:
            raise lost_connection()
        real_retry_later(*args)

    monkeypatch.setattr(claims, "finish", finish)
    monkeypatch.setattr(claims, "retry_later", retry_later)
    monkeypatch.setattr(Worker, "_until_next_due", lambda _self: 0.0)
    with caplog.at_level(logging.INFO, logger="app.worker.runner"):
        step(worker)
        assert ran == ["second"]
        claimed = row(db_session, "second")
        assert claimed.status is JobStatus.RUNNING and claimed.locked_by == worker.id
        lease_until = claimed.locked_until
        time.sleep(0.01)  # so a renewed lease would end later than this one
        worker._renew()  # the heartbeat: this job is no longer in hand
        assert row(db_session, "second").locked_until == lease_until

        database_down[0] = False
        step(worker)  # the database answers again
    retried = row(db_session, "second")
    assert retried.status is JobStatus.QUEUED and retried.locked_by is None
    assert retried.attempts == 1 and retried.last_error is not None
    assert retried.last_error.startswith("OperationalError")
    assert retried.due_at > time.time()
    logged = [r for r in caplog.records if str(row(db_session, "second").id) in r.getMessage()]
    assert any(r.levelno == logging.ERROR and "could not record" in r.getMessage() for r in logged)
    assert any("retried later" in r.getMessage() for r in logged)


def test_the_heartbeat_renews_the_jobs_in_hand_only(app: Flask, db_session: Any, ran: list[str]) -> None:
    enqueue(db_session, KIND, "claimed elsewhere in this process")
    db_session.flush()
    worker = Worker(app, concurrency=2, lease=30)
    [claimed] = [job for job in claims.claim(db_session, worker.id, 1000, 30) if job.kind == KIND]
    lease_until = row(db_session, claimed.subject).locked_until
    time.sleep(0.01)
    worker._renew()
    assert row(db_session, claimed.subject).locked_until == lease_until
