"""A worker shares its threads: one account, one endpoint or one lane never takes them
all while others wait (SPEC §4: one merchant's deliveries never hold up another's)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.emails.service import SEND
from app.jobs import claims
from app.jobs.claims import ClaimedJob
from app.jobs.models import Job, JobStatus, Lane
from app.jobs.queue import NewJob, enqueue_many
from app.webhooks.outbox import DELIVER
from app.worker import kinds
from app.worker.runner import Worker
from tests.conftest import is_postgres


@pytest.fixture()
def queue(db_session: Any) -> Any:
    """The test's session, with whatever other tests left due moved out of the way."""
    db_session.execute(sa.update(Job).where(Job.status == JobStatus.QUEUED).values(due_at=Job.due_at + 10 ** 9))
    db_session.execute(sa.update(Job).where(Job.status == JobStatus.RUNNING).values(locked_until=10 ** 12))
    return db_session


def deliveries(session: Any, account: str, endpoint: str, count: int, delay: float = 0.0) -> None:
    enqueue_many(session, [NewJob(DELIVER, f"whd_{account}_{endpoint}_{i}", {"round": 1, "attempt": 1}, delay,
                                  account_id=account, livemode=False, concurrency_key=endpoint)
                           for i in range(count)])


def claim(app: Flask, worker: Worker) -> list[list[ClaimedJob]]:
    """The units of work an idle worker starts, claim after claim, until its threads are
    full or what is due waits for a share (none of them ends meanwhile)."""
    started: list[list[ClaimedJob]] = []
    while True:
        with app.app_context():
            units = kinds.units(worker._claim(worker.concurrency - len(worker._in_flight)))
        if not units:
            return started
        for unit in units:
            worker._in_flight[unit[0].id] = unit  # as _start does, without running it
        started += units


def test_a_flooding_account_takes_half_the_threads_and_another_accounts_event_is_taken_at_once(
        app: Flask, queue: Any) -> None:
    for endpoint in ("we_a1", "we_a2", "we_a3", "we_a4"):
        deliveries(queue, "acct_flood", endpoint, 75, delay=-60)  # a backlog, due a minute ago
    deliveries(queue, "acct_quiet", "we_b", 1)
    queue.flush()
    units = claim(app, Worker(app, concurrency=4))
    by_account = Counter(unit[0].account_id for unit in units)
    assert by_account == {"acct_flood": 2, "acct_quiet": 1}
    assert all(len({job.account_id for job in unit} | {job.concurrency_key for job in unit}) == 2 for unit in units)
    left = queue.execute(sa.select(sa.func.count()).select_from(Job).where(
        Job.account_id == "acct_flood", Job.status == JobStatus.QUEUED, Job.attempts == 0)).scalar_one()
    assert left == 300 - 2 * kinds.KINDS[DELIVER].batch  # what was not started is not claimed


def test_one_endpoint_takes_a_quarter_of_the_threads_and_the_accounts_other_endpoint_is_served(
        app: Flask, queue: Any) -> None:
    deliveries(queue, "acct_one", "we_slow", 200, delay=-60)
    deliveries(queue, "acct_one", "we_other", 1)
    queue.flush()
    units = claim(app, Worker(app, concurrency=8))
    assert Counter(unit[0].concurrency_key for unit in units) == {"we_slow": 2, "we_other": 1}


def test_emails_to_a_slow_mail_server_leave_a_thread_to_webhooks(app: Flask, queue: Any) -> None:
    enqueue_many(queue, [NewJob(SEND, f"em_{i}", {"attempt": 1}, -60, account_id=f"acct_{i}", livemode=False)
                         for i in range(150)])
    deliveries(queue, "acct_hooks", "we_h", 1)
    queue.flush()
    units = claim(app, Worker(app, concurrency=4))
    assert Counter(unit[0].kind for unit in units) == {SEND: 3, DELIVER: 1}


def test_a_job_another_worker_took_since_it_was_read_is_not_taken_twice(app: Flask, queue: Any) -> None:
    deliveries(queue, "acct_race", "we_r", 3)
    queue.flush()
    found = [c for c in claims.candidates(queue, {lane: 100 for lane in Lane}, [], [])
             if c.account_id == "acct_race"]
    assert len(found) == 3
    first = claims.take(queue, "other-worker", [found[0].id], 30)
    assert [job.id for job in first] == [found[0].id]
    second = claims.take(queue, "this-worker", [c.id for c in found], 30)
    assert sorted(job.id for job in second) == sorted(c.id for c in found[1:])


@pytest.mark.skipif(not is_postgres(), reason="PostgreSQL only: needs VINR_TEST_DATABASE_URL (the planner's plan)")
def test_the_claims_read_walks_an_index_in_due_order_for_each_lane(queue: Any) -> None:
    """Each lane's read is an index scan (``ix_jobs_lane``, or ``ix_jobs_due`` in due order
    when the lane is most of the queue), never a scan of the whole table."""
    deliveries(queue, "acct_full", "we_full", 300, delay=-60)
    enqueue_many(queue, [NewJob(SEND, f"em_{i}", {"attempt": 1}, -60, account_id=f"acct_{i}", livemode=False)
                         for i in range(300)])
    queue.flush()
    connection = queue.connection()
    connection.exec_driver_sql("ANALYZE jobs")  # as autovacuum would
    statement = claims._CANDIDATES.params(now=time.time(), full_accounts=["acct_full"], full_keys=["we_full"],
                                          limit_expired=8, **{f"limit_{lane.value}": 25 for lane in Lane})
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # as if the table were large
    plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_jobs_lane" in plan and "ix_jobs_lease" in plan and "Seq Scan" not in plan, plan
