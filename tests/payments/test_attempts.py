"""The card-testing count (app.payments.attempts): tries under way count, so parallel tries
cannot slip past the limit, and checking and recording are one step on both databases."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app import clock
from app.errors import RateLimited
from app.extensions import db
from app.payments import attempts
from app.payments.models import CardAttempt

LIMITS = attempts.Limits.parse("5 per hour", "5 per hour")


def fresh(kind: str) -> str:
    return f"{kind}_{secrets.token_hex(8)}"


def test_tries_under_way_fill_the_limit(db_session: Any) -> None:
    address = fresh("addr")
    started = [attempts.begin(db_session, LIMITS, client_address=address, invoice_id=fresh("inv")) for _ in range(5)]
    with pytest.raises(RateLimited) as refused:
        attempts.begin(db_session, LIMITS, client_address=address, invoice_id=fresh("inv"))
    assert 0 < refused.value.retry_after <= 3600
    attempts.finish(db_session, started[0].id, failed=False)  # it succeeded: forgotten
    attempts.begin(db_session, LIMITS, client_address=address, invoice_id=fresh("inv"))


def test_the_wait_is_until_the_oldest_counted_try_leaves_the_window(db_session: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    invoice = fresh("inv")
    start = clock.now()
    for minute in range(5):
        monkeypatch.setattr(clock, "now", lambda m=minute: start + 60 * m)
        attempt = attempts.begin(db_session, LIMITS, client_address=fresh("addr"), invoice_id=invoice)
        attempts.finish(db_session, attempt.id, failed=True)
    monkeypatch.setattr(clock, "now", lambda: start + 600)
    with pytest.raises(RateLimited) as refused:
        attempts.begin(db_session, LIMITS, client_address=fresh("addr"), invoice_id=invoice)
    assert refused.value.retry_after == 3000


def test_every_configured_window_is_kept(db_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    limits = attempts.Limits.parse("2 per minute; 3 per day", "100 per day")
    address = fresh("addr")
    start = clock.now()
    for second in (0, 1):
        monkeypatch.setattr(clock, "now", lambda s=second: start + s)
        attempts.begin(db_session, limits, client_address=address, invoice_id=fresh("inv"))
    with pytest.raises(RateLimited):
        attempts.begin(db_session, limits, client_address=address, invoice_id=fresh("inv"))
    monkeypatch.setattr(clock, "now", lambda: start + 120)
    attempts.begin(db_session, limits, client_address=address, invoice_id=fresh("inv"))
    with pytest.raises(RateLimited) as refused:
        attempts.begin(db_session, limits, client_address=address, invoice_id=fresh("inv"))
    assert refused.value.retry_after == 24 * 3600 - 120


def test_tries_no_window_counts_are_deleted(db_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    old = attempts.begin(db_session, LIMITS, client_address=fresh("addr"), invoice_id=fresh("inv"))
    old_id = old.id
    monkeypatch.setattr(clock, "now", lambda real=clock.now: real() + 3600)
    attempts.begin(db_session, LIMITS, client_address=fresh("addr"), invoice_id=fresh("inv"))
    assert db_session.scalar(sa.select(sa.func.count()).where(CardAttempt.id == old_id)) == 0


def test_a_long_address_is_cut_to_the_column(db_session: Any) -> None:
    attempt = attempts.begin(db_session, LIMITS, client_address="x" * 500, invoice_id=fresh("inv"))
    assert attempt.client_address == "x" * attempts.ADDRESS_LENGTH


def test_parallel_tries_from_one_address_are_counted_one_at_a_time(committed_app: Flask,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve tries at once from one address: exactly five are let through, because each
    check-and-record holds the lock (PostgreSQL: advisory lock; SQLite: the write lock).
    The gap between counting and recording is widened so an unlocked count would be seen."""
    original = attempts._wait

    def slow_wait(*args: Any) -> Any:
        found = original(*args)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(attempts, "_wait", slow_wait)
    address = fresh("addr")
    barrier = threading.Barrier(12)
    outcomes: list[str] = []

    def one_try() -> None:
        with committed_app.app_context():
            barrier.wait(timeout=10)
            try:
                attempts.begin(db.session, LIMITS, client_address=address, invoice_id=fresh("inv"))
                db.session.commit()
                outcomes.append("let through")
            except RateLimited:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=one_try) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["let through"] * 5 + ["refused"] * 7
