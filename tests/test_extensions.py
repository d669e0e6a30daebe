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
