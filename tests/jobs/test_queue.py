"""The job table: the outbox, claims under a lease, retries (STYLE "Jobs are rows too")."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from app.jobs import claims
from app.jobs.claims import LeaseLost
from app.jobs.models import Job, JobStatus
from app.jobs.queue import enqueue
from tests.conftest import Api, is_postgres


def jobs(db_session: Any, kind: str = "test.kind") -> list[Job]:
    return list(db_session.execute(sa.select(Job).where(Job.kind == kind).order_by(Job.id)
                                   .execution_options(populate_existing=True)).scalars())


def test_a_unique_key_is_queued_once(db_session: Any) -> None:
    for _ in range(3):
        enqueue(db_session, "test.kind", "subject", unique_key="test.kind:subject:1")
    enqueue(db_session, "test.kind", "subject", unique_key="test.kind:subject:2")
    assert [j.unique_key for j in jobs(db_session)] == ["test.kind:subject:1", "test.kind:subject:2"]


def test_a_job_queued_in_a_transaction_that_rolls_back_is_gone(db_session: Any) -> None:
    savepoint = db_session.begin_nested()
    enqueue(db_session, "test.kind", "subject")
    savepoint.rollback()
    assert jobs(db_session) == []


def test_claims_take_due_jobs_only_and_each_once(db_session: Any) -> None:
    enqueue(db_session, "test.kind", "now")
    enqueue(db_session, "test.kind", "later", delay=3600)
    [held] = [j for j in claims.claim(db_session, "w1", 1000, 30) if j.kind == "test.kind"]
    assert held.subject == "now" and held.attempts == 1
    assert [j for j in claims.claim(db_session, "w2", 1000, 30) if j.kind == "test.kind"] == []
    claims.finish(db_session, [held], "w1")
    assert [j.status for j in jobs(db_session)] == [JobStatus.DONE, JobStatus.QUEUED]


def test_an_expired_lease_puts_the_job_back_and_the_late_finish_counts_for_nothing(db_session: Any) -> None:
    enqueue(db_session, "test.kind", "subject")
    [held] = [j for j in claims.claim(db_session, "dead", 1000, 30) if j.kind == "test.kind"]
    assert [j for j in claims.claim(db_session, "alive", 1000, 30) if j.kind == "test.kind"] == []  # still held
    db_session.execute(sa.update(Job).where(Job.id == held.id).values(locked_until=time.time() - 1))
    [again] = [j for j in claims.claim(db_session, "alive", 1000, 30) if j.kind == "test.kind"]
    assert again.id == held.id and again.attempts == 2
    with pytest.raises(LeaseLost):
        claims.finish(db_session, [held], "dead")
    claims.finish(db_session, [again], "alive")
    assert jobs(db_session)[0].status is JobStatus.DONE


def test_renewing_a_lease_keeps_the_job(db_session: Any) -> None:
    enqueue(db_session, "test.kind", "subject")
    [held] = [j for j in claims.claim(db_session, "w1", 1000, 1) if j.kind == "test.kind"]
    claims.renew(db_session, "w1", [held.id], 600)
    [row] = jobs(db_session)
    assert row.locked_until is not None and row.locked_until > time.time() + 500


def test_a_job_that_raises_is_retried_later_then_fails_for_good(db_session: Any) -> None:
    enqueue(db_session, "test.kind", "subject")
    [held] = [j for j in claims.claim(db_session, "w1", 1000, 30) if j.kind == "test.kind"]
    claims.retry_later(db_session, held, "w1", "RuntimeError: boom")
    [row] = jobs(db_session)
    assert row.status is JobStatus.QUEUED and row.last_error == "RuntimeError: boom"
    assert row.due_at > time.time() + 3  # about 5 s, jittered
    db_session.execute(sa.update(Job).where(Job.id == row.id).values(attempts=claims.MAX_ATTEMPTS - 1,
                                                                     due_at=time.time()))
    [last] = [j for j in claims.claim(db_session, "w1", 1000, 30) if j.kind == "test.kind"]
    claims.retry_later(db_session, last, "w1", "RuntimeError: boom")
    assert jobs(db_session)[0].status is JobStatus.FAILED


def test_released_jobs_are_due_again_without_counting_an_attempt(db_session: Any) -> None:
    enqueue(db_session, "test.kind", "subject")
    [held] = [j for j in claims.claim(db_session, "w1", 1000, 30) if j.kind == "test.kind"]
    claims.release(db_session, [held.id], "w1")
    [row] = jobs(db_session)
    assert row.status is JobStatus.QUEUED and row.attempts == 0


def test_advancing_the_test_clock_brings_the_accounts_jobs_forward(api: Api, db_session: Any) -> None:
    enqueue(db_session, "test.kind", "mine", delay=3600, account_id=api.account_id, livemode=False)
    enqueue(db_session, "test.kind", "live", delay=3600, account_id=api.account_id, livemode=True)
    enqueue(db_session, "test.kind", "other", delay=3600, account_id="acct_other", livemode=False)
    db_session.flush()
    before = time.time()
    answer = api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 3600})
    assert answer["object"] == "test_clock" and answer["livemode"] is False
    assert answer["now"] >= int(before) + 3600
    due = {j.subject: j.due_at for j in jobs(db_session)}
    assert due["mine"] <= time.time() + 1
    assert due["live"] > time.time() + 3500 and due["other"] > time.time() + 3500


def test_the_test_clock_moves_only_forward_and_only_in_test_mode(merchant: Any) -> None:
    for seconds in (0, -5):
        response = merchant.test.post("/v1/test_helpers/advance_clock", {"seconds": seconds})
        assert response.status_code == 400 and response.get_json()["error"]["param"] == "seconds"
    live = merchant.live.post("/v1/test_helpers/advance_clock", {"seconds": 60})
    assert live.status_code == 400 and "test mode" in live.get_json()["error"]["message"]
    first = merchant.test.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 60})["now"]
    second = merchant.test.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 60})["now"]
    assert 60 <= second - first <= 62


@pytest.mark.skipif(not is_postgres(), reason="PostgreSQL only: needs VINR_TEST_DATABASE_URL (generic plans of "
                                              "prepared statements)")
def test_the_claim_uses_the_queue_indexes_in_a_prepared_statements_generic_plan(db_session: Any) -> None:
    """psycopg prepares a statement after five runs, and PostgreSQL may then plan it once for
    any parameters: a bound status could not use the partial indexes, and every claim would
    read every job, done ones included."""
    connection = db_session.connection()
    sql = str(claims._DUE.compile(dialect=connection.dialect))
    assert "%(now)s" in sql and "%(limit)s" in sql, sql
    assert "status = 'queued'" in sql and "status = 'running'" in sql, sql  # written in, not bound
    sql = sql.replace("%(now)s", "$1").replace("%(limit)s", "$2")
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # as if the table were large
    connection.exec_driver_sql(f"PREPARE vinr_claim_probe(float8, int) AS {sql}")
    try:
        plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN EXECUTE vinr_claim_probe(0, 10)"))
    finally:
        connection.exec_driver_sql("DEALLOCATE vinr_claim_probe")
    # Each branch from a partial index of its status (with few rows the planner may take either
    # index of queued jobs); never a scan of the whole table.
    assert "ix_jobs_lease" in plan and ("ix_jobs_due" in plan or "ix_jobs_clock" in plan), plan
    assert "Seq Scan" not in plan, plan
