"""Real ``flask --app wsgi worker`` processes on the test database: several at once do
each job once, SIGKILL loses nothing, SIGTERM exits cleanly (SPEC §8)."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.accounts.service import create_merchant
from app.events import service as events
from app.extensions import db
from app.jobs.models import Job, JobStatus
from app.webhooks.models import WebhookDelivery
from app.webhooks.outbox import DELIVER
from app.worker.kinds import KINDS
from tests.conftest import is_postgres
from tests.receiver import Receiver, Reply
from tests.workers import Workers

pytestmark = pytest.mark.slow


@pytest.fixture()
def workers(database_url: str, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(database_url, tmp_path)
    yield running
    running.stop_all()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def queue_events(app: Flask, receiver: Receiver, count: int) -> tuple[str, list[str]]:
    """A fresh merchant with an endpoint at ``receiver`` and ``count`` events, committed: as
    many deliveries queued through the outbox."""
    with app.app_context():
        merchant = create_merchant(db.session, "Worker Test", "WRK")
        db.session.commit()
    client = app.test_client()
    made = client.post("/v1/webhook_endpoints", headers={"X-Api-Key": merchant.test_secret_key},
                       json={"url": receiver.url, "enabled_events": ["customer.created"]})
    assert made.status_code == 200, made.get_json()
    account = merchant.account.id
    with app.app_context():
        for i in range(count):
            events.record(db.session, account, False, "customer.created", {"id": f"cust_{i}", "object": "customer"})
        db.session.commit()
        ids = db.session.execute(sa.select(WebhookDelivery.event_id).where(
            WebhookDelivery.account_id == account)).scalars().all()
    assert len(ids) == count
    return account, list(ids)


def delivered(receiver: Receiver) -> Counter[str]:
    return Counter(r.headers["webhook-id"] for r in list(receiver.received))


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_until_idle(app: Flask, workers: Workers, worker: Any) -> None:
    """Until ``worker`` has started and, with nothing to do, waits for work: on PostgreSQL
    with its LISTEN connection open (work committed from then on wakes it)."""
    wait_until(lambda: " started (" in workers.output(worker), 30, "the worker to start")
    if is_postgres():
        def listening() -> bool:
            with app.app_context():
                return bool(db.session.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query LIKE 'LISTEN %'")).scalar_one())
        wait_until(listening, 30, "the worker to LISTEN")


def statuses(app: Flask, account: str) -> Counter[str]:
    with app.app_context():
        rows = db.session.execute(sa.select(WebhookDelivery.status).where(
            WebhookDelivery.account_id == account)).scalars().all()
    return Counter(status.value for status in rows)


def test_two_workers_deliver_each_of_1000_events_exactly_once(committed_app: Flask, receiver: Receiver,
                                                             workers: Workers) -> None:
    account, ids = queue_events(committed_app, receiver, 1000)
    first, second = workers.start("--concurrency", "4"), workers.start("--concurrency", "4")
    wait_until(lambda: len(delivered(receiver)) == 1000, 120, "1000 deliveries")
    wait_until(lambda: statuses(committed_app, account) == Counter({"succeeded": 1000}), 30, "recorded outcomes")
    counts = delivered(receiver)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1  # no lease ran out, so nothing was sent twice
    for process in (first, second):
        process.send_signal(signal.SIGTERM)
    assert [p.wait(timeout=30) for p in (first, second)] == [0, 0]


def test_a_worker_killed_mid_way_loses_nothing(committed_app: Flask, receiver: Receiver, workers: Workers) -> None:
    receiver.default = Reply(200, delay=0.05)
    account, ids = queue_events(committed_app, receiver, 120)
    doomed = workers.start("--concurrency", "2", "--lease", "3")
    wait_until(lambda: len(receiver.received) >= 20, 60, "the first deliveries")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    before = len(delivered(receiver))
    assert before < 120
    workers.start("--concurrency", "2", "--lease", "3")
    wait_until(lambda: set(delivered(receiver)) == set(ids), 120, "every delivery after the restart")
    wait_until(lambda: statuses(committed_app, account) == Counter({"succeeded": 120}), 30, "recorded outcomes")
    # At least once: only what the killed worker had in hand (2 units of work) may have gone twice.
    assert sum(delivered(receiver).values()) - 120 <= 2 * KINDS[DELIVER].batch


def test_sigterm_lets_the_job_in_hand_finish(committed_app: Flask, receiver: Receiver, workers: Workers) -> None:
    receiver.default = Reply(200, delay=1.0)
    account, ids = queue_events(committed_app, receiver, 1)
    worker = workers.start("--concurrency", "1")
    wait_until(lambda: running_jobs(committed_app, account) == 1, 30, "the delivery to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert statuses(committed_app, account) == Counter({"succeeded": 1})
    assert set(delivered(receiver)) == set(ids)


def running_jobs(app: Flask, account: str) -> int:
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(Job).where(
            Job.account_id == account, Job.status == JobStatus.RUNNING)).scalar_one()


def test_an_idle_worker_delivers_a_committed_event_promptly(committed_app: Flask, receiver: Receiver,
                                                           workers: Workers) -> None:
    wait_until_idle(committed_app, workers, workers.start("--concurrency", "2"))
    committed = time.time()
    account, ids = queue_events(committed_app, receiver, 1)
    wait_until(lambda: len(receiver.received) == 1, 10, "the delivery")
    assert receiver.received[0].headers["webhook-id"] == ids[0]
    assert json.loads(receiver.received[0].body)["type"] == "customer.created"
    assert receiver.received[0].at - committed < 5


def test_a_running_worker_acts_on_a_moved_test_clock(committed_app: Flask, receiver: Receiver,
                                                    workers: Workers) -> None:
    receiver.reply(Reply(503, {"Retry-After": "3000"}))  # the next try in an hour (3000 s, jittered)
    with committed_app.app_context():
        merchant = create_merchant(db.session, "Clock Test", "CLK")
        db.session.commit()
    client = committed_app.test_client()
    headers = {"X-Api-Key": merchant.test_secret_key}
    assert client.post("/v1/webhook_endpoints", headers=headers,
                       json={"url": receiver.url, "enabled_events": ["*"]}).status_code == 200
    workers.start()
    client.post("/v1/customers", headers=headers, json={"email": "clock@example.com"})
    made = client.get("/v1/webhook_endpoints", headers=headers).get_json()["data"][0]
    wait_until(lambda: client.get(f"/v1/webhook_endpoints/{made['id']}/deliveries", headers=headers)
               .get_json()["data"] != [], 10, "the failed try to be recorded")
    client.post("/v1/test_helpers/advance_clock", headers=headers, json={"seconds": 3600})
    moved = time.time()
    first, second = receiver.wait_for(2, 10)
    assert second.body == first.body
    assert second.at - moved < 5


@pytest.mark.postgres
def test_a_worker_rides_out_lost_database_connections(committed_app: Flask, receiver: Receiver,
                                                     workers: Workers) -> None:
    if not is_postgres():
        pytest.skip("PostgreSQL only: needs VINR_TEST_DATABASE_URL (connections are cut on the server)")
    worker = workers.start()
    wait_until_idle(committed_app, workers, worker)
    with committed_app.app_context():
        db.session.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        db.session.commit()
    account, ids = queue_events(committed_app, receiver, 3)
    wait_until(lambda: set(delivered(receiver)) == set(ids), 20, "deliveries after the reconnect")
    assert worker.poll() is None  # still running
