"""The card-testing limit is shared between workers through VINR_REDIS_URL (SPEC §8);
without it, through the database (tests/portal/test_card_testing.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from limits import parse

from app import create_app
from app.extensions import db, limiter
from app.payments.models import CardAttempt
from tests.conftest import make_merchant
from tests.portal.conftest import Hosted, make_hosted

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_available() -> bool:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


@pytest.fixture()
def restore_limiter_storage() -> Iterator[None]:
    # Flask-Limiter keeps one storage per Limiter object (one app per process in
    # production); creating extra apps here re-points it, so put it back after.
    # Without Redis it is switched off (RATELIMIT_ENABLED), and so it must stay.
    saved = (limiter._storage, limiter._limiter, limiter.enabled, limiter.initialized)  # noqa: SLF001 - test isolation
    yield
    limiter._storage, limiter._limiter, limiter.enabled, limiter.initialized = saved  # noqa: SLF001


def test_limits_are_kept_in_redis_when_configured(tmp_path: Path, restore_limiter_storage: None) -> None:
    if not _redis_available():
        pytest.fail("Redis is expected at 127.0.0.1:6379 for this test (the CI machine runs one)")
    worker = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "s" * 32,
                         "REDIS_URL": REDIS_URL}, instance_path=str(tmp_path / "a"))
    assert worker.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    key = f"invoice:inv_{uuid.uuid4().hex}"
    rate = parse("2 per hour")
    with worker.app_context():
        assert limiter.limiter.hit(rate, key) and limiter.limiter.hit(rate, key)
        assert not limiter.limiter.test(rate, key)
    # The counters live in Redis, where every worker process sees them.
    stored = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(f"*{key}*")]
    assert stored, "the limiter did not write to Redis"


def test_without_redis_the_store_is_memory(app: Any) -> None:
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"


@pytest.fixture()
def redis_app(app: Flask, database_url: str, tmp_path: Path, restore_limiter_storage: None) -> Iterator[Flask]:
    """A second app on the test database with VINR_REDIS_URL set; everything it writes to the
    database is rolled back (as tests/conftest.py's db_session)."""
    if not _redis_available():
        pytest.fail("Redis is expected at 127.0.0.1:6379 for this test (the CI machine runs one)")
    application = create_app(instance_path=str(tmp_path / "redis"), overrides={
        "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key-0123456789", "TESTING": True,
        "REDIS_URL": REDIS_URL})
    with application.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        db.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield application
    finally:
        outer.rollback()
        connection.close()
        with application.app_context():
            db.engine.dispose()


def test_with_redis_the_sixth_failure_is_refused_and_the_database_counts_nothing(redis_app: Flask) -> None:
    client = redis_app.test_client()
    with redis_app.app_context():
        merchant = make_merchant(client, db.session)
        db.session.commit()
    api = merchant.test
    hosted = Hosted(client, api, make_hosted(api, api.ok("POST", "/v1/customers", {"email": "r@example.com"})["id"]))
    # An address of its own each run: Redis keeps the counts of earlier runs for an hour.
    tester = {"environ_base": {"REMOTE_ADDR": f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"}}
    for _ in range(5):
        assert "declined" in hosted.landed(hosted.pay("4000000000000002", **tester)).get_data(as_text=True)
    refused = hosted.pay("4000000000000002", **tester)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
    page = refused.get_data(as_text=True)
    assert "from this network" in page and f'href="{hosted.path}"' in page
    assert hosted.refreshed()["attempt_count"] == 5
    with redis_app.app_context():
        kept = db.session.scalar(sa.select(sa.func.count()).where(CardAttempt.invoice_id == hosted.invoice["id"]))
    assert kept == 0


def test_with_redis_form_errors_never_count(redis_app: Flask) -> None:
    client = redis_app.test_client()
    with redis_app.app_context():
        merchant = make_merchant(client, db.session)
        db.session.commit()
    api = merchant.test
    hosted = Hosted(client, api, make_hosted(api, api.ok("POST", "/v1/customers", {"email": "f@example.com"})["id"]))
    tester = {"environ_base": {"REMOTE_ADDR": f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"}}
    for _ in range(6):
        hosted.pay(cvc="", **tester)
    assert hosted.pay(**tester).status_code == 303
    assert hosted.refreshed()["status"] == "paid"
