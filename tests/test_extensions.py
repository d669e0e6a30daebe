"""How the extensions are wired (app/__init__.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app.cli import upgrade
from app.extensions import db


def test_a_request_starts_no_thread_and_still_returns_its_connection(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Flask-SQLAlchemy-Lite's async-session teardown is dropped (no async engine is
    configured): Flask would start a thread for it on every request. The sync
    sessions are still closed when the request ends."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": "s" * 32})
    with app.app_context():
        upgrade()
    names = [getattr(hook, "__name__", "") for hook in app.teardown_appcontext_funcs]
    assert "_close_async_sessions" not in names and "_close_sessions" in names
    started: list[Any] = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self) or real_start(self))
    response = app.test_client().get("/v1/invoices", headers={"X-Api-Key": "sk_test_unknown"})
    assert response.status_code == 401
    assert started == []
    with app.app_context():
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        db.engine.dispose()


def test_the_factory_connects_to_nothing_so_gunicorn_can_preload_it(tmp_path: Path) -> None:
    """`gunicorn --preload` builds the app once in its master and forks the workers from it
    (README, Running it yourself): a connection opened by the factory would be one socket
    shared by every worker. The database and Redis named here do not listen (port 1), so
    any connection the factory tried would fail; the app is built, and its pool is empty
    until a request needs a connection."""
    app = create_app({"DATABASE_URL": "postgresql://vinr@127.0.0.1:1/vinr", "REDIS_URL": "redis://127.0.0.1:1/0",
                      "SECRET_KEY": "s" * 32}, instance_path=str(tmp_path))
    with app.app_context():
        assert (db.engine.pool.checkedin(), db.engine.pool.checkedout()) == (0, 0)
    response = app.test_client().get("/v1/invoices", headers={"X-Api-Key": "sk_test_unknown"})
    assert response.status_code >= 500  # the first request is what connects
