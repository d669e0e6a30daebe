"""The card-testing limit's one interface (app.card_testing.service) against both of its
stores, the database and Redis: tries under way count, so parallel tries cannot slip past
the limit; checking and recording are one step; every configured window is kept; and a
Redis that cannot be reached hands the count to the database instead of failing."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from app import clock
from app.card_testing import stores
from app.card_testing.models import ADDRESS_LENGTH, CardTry, CardTryStatus
from app.card_testing.rule import CardTestingLimited, Limits
from app.card_testing.service import CardTestingLimit
from app.extensions import db

LIMITS = Limits.parse("5 per hour", "5 per hour")
MakeLimit = Callable[[Limits], CardTestingLimit]


def fresh(kind: str) -> str:
    """A new address or invoice id: Redis keeps the counts of earlier runs for an hour."""
    return f"{kind}_{secrets.token_hex(8)}"


@pytest.fixture(params=["database", "redis"])
def make_limit(request: pytest.FixtureRequest) -> MakeLimit:
    if request.param == "database":
        return lambda limits: CardTestingLimit(limits)
    url = request.getfixturevalue("redis_url")
    return lambda limits: CardTestingLimit(limits, shared=stores.RedisStore.from_url(url))


def test_tries_under_way_fill_the_limit(db_session: Any, make_limit: MakeLimit) -> None:
    limit = make_limit(LIMITS)
    address = fresh("addr")
    started = [limit.begin(db_session, client_address=address, invoice_id=fresh("inv")) for _ in range(5)]
    with pytest.raises(CardTestingLimited) as refused:
        limit.begin(db_session, client_address=address, invoice_id=fresh("inv"))
    assert 0 < refused.value.retry_after <= 3600 and refused.value.scope == "address"
    assert refused.value.status == 429 and refused.value.to_dict()["error"]["type"] == "rate_limit_error"
    limit.finish(db_session, started[0], failed=False)  # it succeeded: forgotten
    limit.begin(db_session, client_address=address, invoice_id=fresh("inv"))


def test_failed_tries_stay_counted_on_the_invoice(db_session: Any, make_limit: MakeLimit) -> None:
    limit = make_limit(LIMITS)
    invoice = fresh("inv")
    for _ in range(5):
        limit.finish(db_session, limit.begin(db_session, client_address=fresh("addr"), invoice_id=invoice),
                     failed=True)
    with pytest.raises(CardTestingLimited) as refused:
        limit.begin(db_session, client_address=fresh("addr"), invoice_id=invoice)
    assert refused.value.scope == "invoice"


def test_the_wait_is_until_the_oldest_counted_try_leaves_the_window(db_session: Any, make_limit: MakeLimit,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    limit = make_limit(LIMITS)
    invoice = fresh("inv")
    start = clock.now()
    for minute in range(5):
        monkeypatch.setattr(clock, "now", lambda m=minute: start + 60 * m)
        begun = limit.begin(db_session, client_address=fresh("addr"), invoice_id=invoice)
        limit.finish(db_session, begun, failed=True)
    monkeypatch.setattr(clock, "now", lambda: start + 600)
    with pytest.raises(CardTestingLimited) as refused:
        limit.begin(db_session, client_address=fresh("addr"), invoice_id=invoice)
    assert refused.value.retry_after == 3000


def test_every_configured_window_is_kept(db_session: Any, make_limit: MakeLimit,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    limit = make_limit(Limits.parse("2 per minute; 3 per day", "100 per day"))
    address = fresh("addr")
    start = clock.now()
    for second in (0, 1):
        monkeypatch.setattr(clock, "now", lambda s=second: start + s)
        limit.begin(db_session, client_address=address, invoice_id=fresh("inv"))
    with pytest.raises(CardTestingLimited):
        limit.begin(db_session, client_address=address, invoice_id=fresh("inv"))
    monkeypatch.setattr(clock, "now", lambda: start + 120)
    limit.begin(db_session, client_address=address, invoice_id=fresh("inv"))
    with pytest.raises(CardTestingLimited) as refused:
        limit.begin(db_session, client_address=address, invoice_id=fresh("inv"))
    assert refused.value.retry_after == 24 * 3600 - 120


def test_a_refused_try_is_not_recorded(db_session: Any, make_limit: MakeLimit) -> None:
    """The sixth try is refused on its address; its invoice is not charged with it."""
    limit = make_limit(LIMITS)
    address, invoice = fresh("addr"), fresh("inv")
    for _ in range(5):
        limit.begin(db_session, client_address=address, invoice_id=fresh("inv"))
    for _ in range(3):
        with pytest.raises(CardTestingLimited):
            limit.begin(db_session, client_address=address, invoice_id=invoice)
    for _ in range(5):
        limit.begin(db_session, client_address=fresh("addr"), invoice_id=invoice)


def test_tries_no_window_counts_are_deleted(db_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = CardTestingLimit(LIMITS)
    old = limit.begin(db_session, client_address=fresh("addr"), invoice_id=fresh("inv"))
    monkeypatch.setattr(clock, "now", lambda real=clock.now: real() + 3600)
    limit.begin(db_session, client_address=fresh("addr"), invoice_id=fresh("inv"))
    assert db_session.scalar(sa.select(sa.func.count()).where(CardTry.id == int(old.try_id))) == 0


def test_redis_keeps_no_try_longer_than_the_longest_window(db_session: Any, redis_url: str) -> None:
    limit = CardTestingLimit(Limits.parse("5 per minute", "5 per hour"), shared=stores.RedisStore.from_url(redis_url))
    begun = limit.begin(db_session, client_address=fresh("addr"), invoice_id=fresh("inv"))
    limit.finish(db_session, begun, failed=True)
    server = redis.Redis.from_url(redis_url)
    for key in (f"vinr:card-testing:address:{begun.subject.address}",
                f"vinr:card-testing:invoice:{begun.subject.invoice_id}"):
        assert server.zscore(key, begun.try_id) is not None
        assert 3590 < server.ttl(key) <= 3600


def test_a_long_address_is_cut_to_the_column(db_session: Any) -> None:
    begun = CardTestingLimit(LIMITS).begin(db_session, client_address="x" * 500, invoice_id=fresh("inv"))
    row = db_session.get(CardTry, int(begun.try_id))
    assert row.client_address == "x" * ADDRESS_LENGTH and row.status is CardTryStatus.UNDER_WAY


def _parallel_tries(committed_app: Flask, limit: CardTestingLimit, *, count: int = 12) -> list[str]:
    address = fresh("addr")
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def one_try() -> None:
        with committed_app.app_context():
            barrier.wait(timeout=10)
            try:
                limit.begin(db.session, client_address=address, invoice_id=fresh("inv"))
                db.session.commit()
                outcomes.append("let through")
            except CardTestingLimited:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=one_try) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def test_parallel_tries_from_one_address_are_counted_one_at_a_time_in_the_database(
        committed_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve tries at once from one address: exactly five are let through, because each
    check-and-record holds the lock (PostgreSQL: advisory lock; SQLite: the write lock).
    The gap between counting and recording is widened so an unlocked count would be seen."""
    original = stores.DatabaseStore._wait

    def slow_wait(*args: Any) -> Any:
        found = original(*args)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(stores.DatabaseStore, "_wait", slow_wait)
    assert _parallel_tries(committed_app, CardTestingLimit(LIMITS)) == ["let through"] * 5 + ["refused"] * 7


def test_parallel_tries_from_one_address_are_counted_one_at_a_time_in_redis(committed_app: Flask,
                                                                            redis_url: str) -> None:
    limit = CardTestingLimit(LIMITS, shared=stores.RedisStore.from_url(redis_url))
    assert _parallel_tries(committed_app, limit) == ["let through"] * 5 + ["refused"] * 7


DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_while_redis_is_down_tries_are_counted_in_the_database(db_session: Any,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    limit = CardTestingLimit(LIMITS, shared=stores.RedisStore.from_url(DEAD_REDIS))
    address = fresh("addr")
    with caplog.at_level(logging.WARNING, logger="app.card_testing.service"):
        for _ in range(5):
            begun = limit.begin(db_session, client_address=address, invoice_id=fresh("inv"))
            assert begun.in_database
            limit.finish(db_session, begun, failed=True)
        with pytest.raises(CardTestingLimited):
            limit.begin(db_session, client_address=address, invoice_id=fresh("inv"))
    assert "counting this try in the database instead" in caplog.text
    kept = db_session.scalar(sa.select(sa.func.count()).where(CardTry.client_address == address))
    assert kept == 5


def test_a_dead_redis_is_not_asked_again_for_a_while(db_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreachable Redis costs one timeout per process every REDIS_RETRY_AFTER seconds,
    not one per card try; then it is asked again, and counts once it is back."""
    store = stores.RedisStore.from_url(DEAD_REDIS)
    asked: list[str] = []
    original = store._begin

    def counting(*args: Any, **kw: Any) -> Any:
        asked.append("begin")
        return original(*args, **kw)

    store._begin = counting  # type: ignore[assignment]
    limit = CardTestingLimit(LIMITS, shared=store)
    for _ in range(3):
        limit.begin(db_session, client_address=fresh("addr"), invoice_id=fresh("inv"))
    assert asked == ["begin"]
    monkeypatch.setattr(stores.time, "monotonic", lambda real=time.monotonic: real() + stores.REDIS_RETRY_AFTER)
    limit.begin(db_session, client_address=fresh("addr"), invoice_id=fresh("inv"))
    assert asked == ["begin", "begin"]


def test_a_try_redis_cannot_forget_stays_counted(db_session: Any, redis_url: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    store = stores.RedisStore.from_url(redis_url)
    limit = CardTestingLimit(LIMITS, shared=store)
    begun = limit.begin(db_session, client_address=fresh("addr"), invoice_id=fresh("inv"))
    store.client = redis.Redis.from_url(DEAD_REDIS, socket_connect_timeout=0.2)  # Redis goes away mid-try
    with caplog.at_level(logging.WARNING, logger="app.card_testing.service"):
        limit.finish(db_session, begun, failed=False)
    assert "stays counted until its window passes" in caplog.text
    assert redis.Redis.from_url(redis_url).zscore(f"vinr:card-testing:address:{begun.subject.address}",
                                                  begun.try_id) is not None
