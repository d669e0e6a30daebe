"""The card-testing limit is shared between workers through VINR_REDIS_URL (SPEC §8);
without it, through the database (tests/portal/test_card_testing.py). A Redis that cannot
be reached hands the count to the database: the customer never sees an error for it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.card_testing.models import CardTry
from app.extensions import db
from tests.conftest import make_merchant
from tests.portal.conftest import Hosted, make_hosted

REDIS_URL = "redis://127.0.0.1:6379/15"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
DECLINED = "4000000000000002"


def _redis_available() -> bool:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


def test_without_redis_the_store_is_the_database(app: Any) -> None:
    assert app.extensions["card_testing"].shared is None


def _app_with_redis(url: str, database_url: str, instance: Path) -> Iterator[Flask]:
    """A second app on the test database with VINR_REDIS_URL set; everything it writes to the
    database is rolled back (as tests/conftest.py's db_session)."""
    application = create_app(instance_path=str(instance), overrides={
        "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key-0123456789", "TESTING": True,
        "REDIS_URL": url})
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


@pytest.fixture()
def redis_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    if not _redis_available():
        pytest.fail("Redis is expected at 127.0.0.1:6379 for this test (the CI machine runs one)")
    yield from _app_with_redis(REDIS_URL, database_url, tmp_path / "redis")


@pytest.fixture()
def dead_redis_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _app_with_redis(DEAD_REDIS, database_url, tmp_path / "dead")


def _hosted(application: Flask, email: str) -> Hosted:
    client = application.test_client()
    with application.app_context():
        merchant = make_merchant(client, db.session)
        db.session.commit()
    api = merchant.test
    return Hosted(client, api, make_hosted(api, api.ok("POST", "/v1/customers", {"email": email})["id"]))


def _tester() -> dict[str, Any]:
    # An address of its own each run: Redis keeps the counts of earlier runs for an hour.
    return {"environ_base": {"REMOTE_ADDR": f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"}}


def _kept_in_database(application: Flask, hosted: Hosted) -> int:
    with application.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(CardTry.invoice_id == hosted.invoice["id"])) or 0


def test_with_redis_the_sixth_failure_is_refused_and_the_database_counts_nothing(redis_app: Flask) -> None:
    hosted = _hosted(redis_app, "r@example.com")
    tester = _tester()
    for _ in range(5):
        assert "declined" in hosted.landed(hosted.pay(DECLINED, **tester)).get_data(as_text=True)
    refused = hosted.pay(DECLINED, **tester)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
    page = refused.get_data(as_text=True)
    assert "from this network" in page and f'href="{hosted.path}"' in page
    assert hosted.refreshed()["attempt_count"] == 5
    assert _kept_in_database(redis_app, hosted) == 0
    # The counts live in Redis, where every worker process sees them.
    address = tester["environ_base"]["REMOTE_ADDR"]
    assert redis.Redis.from_url(REDIS_URL).zcard(f"vinr:card-testing:address:{address}") == 5


def test_with_redis_form_errors_never_count(redis_app: Flask) -> None:
    hosted = _hosted(redis_app, "f@example.com")
    tester = _tester()
    for _ in range(6):
        hosted.pay(cvc="", **tester)
    assert hosted.pay(**tester).status_code == 303
    assert hosted.refreshed()["status"] == "paid"


def test_while_redis_is_down_the_database_counts_and_the_customer_sees_no_error(
        dead_redis_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    hosted = _hosted(dead_redis_app, "d@example.com")
    tester = _tester()
    with caplog.at_level(logging.WARNING, logger="app.card_testing.service"):
        for _ in range(5):
            assert "declined" in hosted.landed(hosted.pay(DECLINED, **tester)).get_data(as_text=True)
        refused = hosted.pay(DECLINED, **tester)
    assert refused.status_code == 429 and 3500 < int(refused.headers["Retry-After"]) <= 3600
    assert "from this network" in refused.get_data(as_text=True)
    assert hosted.refreshed()["attempt_count"] == 5
    assert _kept_in_database(dead_redis_app, hosted) == 5
    assert "counting this try in the database instead" in caplog.text
