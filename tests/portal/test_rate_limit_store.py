"""The card-testing limit is shared between workers through VINR_REDIS_URL (SPEC §8)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from limits import parse

from app import create_app
from app.extensions import limiter

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
    saved = (limiter._storage, limiter._limiter)  # noqa: SLF001 - test isolation only
    yield
    limiter._storage, limiter._limiter = saved  # noqa: SLF001


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
