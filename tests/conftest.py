"""Shared fixtures (STYLE "Tests").

The suite runs on SQLite by default and on PostgreSQL when
``VINR_TEST_DATABASE_URL`` is set. The schema is built by the real Alembic
migrations once per session; each test then runs inside a transaction that
is rolled back, so tests never see each other's rows. Tests that need real
commits from several connections (races) use ``committed_app`` instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, current_app
from flask.testing import FlaskClient
from hypothesis import settings
from weasyprint import HTML

from app import create_app
from app.accounts.service import create_merchant
from app.cli import upgrade
from app.extensions import db
from app.payments.flow import money_flow_of
from app.payments.processor import HttpProcessor
from app.worker.runner import Worker
from tests.emails.smtp import SmtpServer

# Property tests search afresh on each local run (and replay what failed from .hypothesis/);
# under CI they run the same examples on every machine and every run, so a red CI run is
# reproduced here with CI=true, and a green one does not turn red by chance.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() not in ("", "0", "false"):
    settings.load_profile("ci")

PUBLIC_URL = "https://pay.example.test"
PROCESSOR_URL = "https://processor.test"  # the live processor, mocked with `responses`
PROCESSOR_KEY = "sk_proc_x"


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("VINR_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


def _reset(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    application = create_app(instance_path=str(instance), overrides={
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-0123456789",
        "PUBLIC_URL": PUBLIC_URL,
        "TESTING": True,
    })
    _reset(application)
    yield application
    with application.app_context():
        db.engine.dispose()  # close pooled connections before the interpreter does


@pytest.fixture()
def db_session(app: Flask) -> Iterator[Any]:
    """A session whose work, and every request's, is rolled back after the test.

    No app context stays pushed during the test: each request then gets its
    own context and its own session, as in production (a pushed context would
    make every request of the test share one session and its identity map).
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        db.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
        session = db.sessionmaker()
    try:
        yield session
    finally:
        session.close()
        with app.app_context():
            db.sessionmaker.configure(bind=db.engine, join_transaction_mode="conditional_savepoint")
        outer.rollback()
        connection.close()


@pytest.fixture()
def client(app: Flask, db_session: Any) -> FlaskClient:
    # Without VINR_REDIS_URL the card-testing limit counts in the database, rolled back per test.
    return app.test_client()


@dataclass
class Api:
    """A client that sends one merchant's key, in one mode."""

    client: FlaskClient
    key: str
    account_id: str

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"X-Api-Key": self.key, **(headers or {})}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(path, json=json if json is not None else {},
                                headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def ok(self, method: str, path: str, json: Any = None, **kw: Any) -> dict[str, Any]:
        """Call and insist on 200; return the JSON body."""
        if method == "GET":
            response = self.get(path, **kw)
        elif method == "DELETE":
            response = self.delete(path, **kw)
        else:
            response = self.post(path, json, **kw)
        assert response.status_code == 200, (path, response.status_code, response.get_json())
        return response.get_json()  # type: ignore[no-any-return]


@dataclass
class Merchant:
    account_id: str
    test_key: str
    live_key: str
    test: Api
    live: Api


def make_merchant(client: FlaskClient, db_session: Any, name: str = "Acme GmbH", prefix: str = "ACME",
                  currency: str = "eur") -> Merchant:
    new = create_merchant(db_session, name, prefix, currency)
    db_session.flush()
    return Merchant(new.account.id, new.test_secret_key, new.live_secret_key,
                    Api(client, new.test_secret_key, new.account.id),
                    Api(client, new.live_secret_key, new.account.id))


@pytest.fixture()
def merchant(client: FlaskClient, db_session: Any) -> Merchant:
    return make_merchant(client, db_session)


@pytest.fixture()
def api(merchant: Merchant) -> Api:
    """The merchant's test-mode API."""
    return merchant.test


@pytest.fixture()
def other_merchant(client: FlaskClient, db_session: Any) -> Merchant:
    return make_merchant(client, db_session, name="Globex Ltd", prefix="GLOBEX")


@pytest.fixture()
def customer(api: Api) -> dict[str, Any]:
    return api.ok("POST", "/v1/customers", {
        "email": "jenny@example.com", "name": "Jenny Rosen",
        "address": {"country": "DE", "city": "Berlin", "postal_code": "10115", "line1": "Unter den Linden 1"},
    })


@pytest.fixture(scope="session")
def rules() -> Iterator[Any]:
    """The official e-invoice rules (tests/einvoicing/rules.py), compiled once per session, in
    the main thread (saxonche needs it)."""
    from saxonche import PySaxonProcessor

    from tests.einvoicing.rules import Rules

    with PySaxonProcessor(license=False) as processor:
        yield Rules(processor)


def is_postgres() -> bool:
    return bool(os.environ.get("VINR_TEST_DATABASE_URL", "").startswith("postgresql"))


@pytest.fixture()
def committed_app(app: Flask) -> Flask:
    """The app on its real engine: requests commit for real (for race tests).

    Rows are kept (under fresh accounts, so no other test sees them).
    """
    return app


ROOT = Path(__file__).resolve().parent.parent


# Live mode: a second app on the same database, with a live processor configured.


@pytest.fixture(scope="session")
def live_app(app: Flask, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A second app on the same (already migrated) database, with a live processor configured."""
    application = create_app(instance_path=str(tmp_path_factory.mktemp("live-instance")), overrides={
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-0123456789",
        "PUBLIC_URL": "https://pay.example.test",
        "TESTING": True,
        "PROCESSOR_URL": PROCESSOR_URL,
        "PROCESSOR_KEY": PROCESSOR_KEY,
    })
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture()
def live_db(live_app: Flask) -> Iterator[Any]:
    """As tests/conftest.py's db_session, for ``live_app``: everything is rolled back,
    and no app context stays pushed (each request gets its own session)."""
    with live_app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        saved = dict(db.sessionmaker.kw)
        db.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
        session = db.sessionmaker()
    try:
        yield session
    finally:
        session.close()
        with live_app.app_context():
            db.sessionmaker.kw.clear()
            db.sessionmaker.kw.update(saved)
        outer.rollback()
        connection.close()


@pytest.fixture()
def live_sleeps(live_app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff delays the live processor asked for: recorded, never slept.

    The app factory builds the HttpProcessor from the config (with the real
    ``time.sleep`` bound as its default), so the cached instance is patched.
    """
    with live_app.app_context():
        processor = money_flow_of(current_app).processor(True)
    assert isinstance(processor, HttpProcessor)
    assert processor.base_url == PROCESSOR_URL
    delays: list[float] = []
    monkeypatch.setattr(processor, "_sleep", delays.append)
    return delays


@pytest.fixture()
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per PDF WeasyPrint renders."""
    done: list[int] = []
    write_pdf = HTML.write_pdf

    def counted(self: HTML, *args: Any, **kwargs: Any) -> Any:
        done.append(1)
        return write_pdf(self, *args, **kwargs)

    monkeypatch.setattr(HTML, "write_pdf", counted)
    return done


@pytest.fixture()
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    monkeypatch.setitem(app.config, "SMTP_URL", server.url)
    yield server
    server.stop()


@pytest.fixture()
def run_jobs(app: Flask, db_session: Any) -> Any:
    """Run every job due now, as a worker would (in this thread, in the test's transaction)."""
    return Worker(app, worker_id="test-worker").run_due
