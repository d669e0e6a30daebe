from __future__ import annotations

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the card-testing limit's tests count in (the CI machine runs one)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.fail(f"Redis is expected at {REDIS_URL} for this test (the CI machine runs one)")
    return REDIS_URL
