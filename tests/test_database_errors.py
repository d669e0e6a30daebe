"""A database connection that breaks under a request (a restarted or failed-over server, a
killed backend) answers a clear 503 with Retry-After, never a 500; the next request gets a
new connection. The break is real: the request's own backend is terminated on the server
(``pg_terminate_backend``) just before a chosen statement runs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from app.accounts.service import create_merchant
from app.extensions import db
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="PostgreSQL only: SQLite has no server connection to lose")


@dataclass
class Breaker:
    """Terminates the backend of the first statement containing ``needle``, once."""

    engine: sa.Engine
    needle: str | None = None
    killed: list[int] = field(default_factory=list)

    def before_execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.needle is None or self.killed or self.needle not in statement:
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        self.killed.append(pid)
        killer = self.engine.raw_connection()  # a DBAPI connection: runs no SQLAlchemy events
        try:
            cursor = killer.cursor()
            cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
            for _ in range(100):  # the backend exits asynchronously: wait until it is gone
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.05)
            killer.commit()
        finally:
            killer.close()


@pytest.fixture()
def breaker(committed_app: Flask) -> Iterator[Breaker]:
    with committed_app.app_context():
        engine = db.engine
    found = Breaker(engine)
    sa.event.listen(engine, "before_cursor_execute", found.before_execute)
    try:
        yield found
    finally:
        sa.event.remove(engine, "before_cursor_execute", found.before_execute)


@pytest.fixture()
def key(committed_app: Flask) -> str:
    with committed_app.app_context():
        new = create_merchant(db.session, "Lost Connection GmbH", "LOST")
        db.session.commit()
        return new.test_secret_key


def test_an_api_request_whose_connection_breaks_answers_503_and_the_next_one_works(
        committed_app: Flask, breaker: Breaker, key: str) -> None:
    client = committed_app.test_client()
    breaker.needle = "FROM invoices"
    response = client.get("/v1/invoices", headers={"X-Api-Key": key})
    assert breaker.killed, "the request never queried invoices"
    assert response.status_code == 503
    assert response.get_json()["error"]["type"] == "api_error"
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "1" and response.headers["Request-Id"].startswith("req_")
    assert client.get("/v1/invoices", headers={"X-Api-Key": key}).status_code == 200


def test_a_post_whose_connection_breaks_runs_once_when_retried_with_its_key(
        committed_app: Flask, breaker: Breaker, key: str) -> None:
    client = committed_app.test_client()
    headers = {"X-Api-Key": key, "Idempotency-Key": "create-once"}
    breaker.needle = "INSERT INTO customers"
    first = client.post("/v1/customers", json={"name": "Jenny Rosen"}, headers=headers)
    assert breaker.killed and first.status_code == 503
    retried = client.post("/v1/customers", json={"name": "Jenny Rosen"}, headers=headers)
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    again = client.post("/v1/customers", json={"name": "Jenny Rosen"}, headers=headers)
    assert again.get_data() == retried.get_data() and again.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/v1/customers", headers={"X-Api-Key": key}).get_json()["data"]
    assert [c["name"] for c in listed] == ["Jenny Rosen"]


def _hosted_path(client: Any, key: str) -> str:
    headers = {"X-Api-Key": key}
    customer = client.post("/v1/customers", json={"name": "Jenny", "email": "jenny@example.com"},
                           headers=headers).get_json()
    invoice = client.post("/v1/invoices", json={"customer": customer["id"], "collection_method": "send_invoice",
                                                "days_until_due": 30}, headers=headers).get_json()
    client.post(f"/v1/invoices/{invoice['id']}/lines", json={"description": "Work", "unit_amount": 1000},
                headers=headers)
    return urlsplit(client.post(f"/v1/invoices/{invoice['id']}/finalize", headers=headers)
                    .get_json()["hosted_invoice_url"]).path


def test_a_hosted_page_whose_connection_breaks_shows_a_503_page_with_its_reference(
        committed_app: Flask, breaker: Breaker, key: str) -> None:
    client = committed_app.test_client()
    page = _hosted_path(client, key)
    breaker.needle = "FROM invoices"
    response = client.get(page)
    assert breaker.killed and response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    text = response.get_data(as_text=True)
    assert "Temporarily unavailable" in text and "quote this reference: <code>req_" in text
    assert client.get(page).status_code == 200


def _pay(client: Any, page: str) -> Any:
    form = client.get(page).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert match
    return client.post(page + "/pay", data={"csrf_token": match[1], "method": "new", "card_number": "4242424242424242",
                                           "expiry": "12 / 40", "cvc": "123", "name": "Jenny Rosen"})


def _invoice(client: Any, key: str, page: str) -> dict[str, Any]:
    invoice_id = page.split("/")[2]
    return client.get(f"/v1/invoices/{invoice_id}", headers={"X-Api-Key": key}).get_json()  # type: ignore[no-any-return]


def test_a_card_try_whose_connection_breaks_in_the_card_testing_check_answers_503_and_charges_nothing(
        committed_app: Flask, breaker: Breaker, key: str) -> None:
    client = committed_app.test_client()
    page = _hosted_path(client, key)
    breaker.needle = "INSERT INTO card_attempts"
    response = _pay(client, page)
    assert breaker.killed and response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    assert _invoice(client, key, page)["attempt_count"] == 0
    assert _pay(client, page).status_code == 303
    assert _invoice(client, key, page)["status"] == "paid"


def test_a_payment_whose_connection_breaks_while_its_try_is_finished_still_lands(
        committed_app: Flask, breaker: Breaker, key: str) -> None:
    """The money moved and was recorded; only forgetting the (successful) try broke: the
    customer gets the receipt, and the try stays counted until its window passes."""
    client = committed_app.test_client()
    page = _hosted_path(client, key)
    breaker.needle = "DELETE FROM card_attempts WHERE card_attempts.id ="
    response = _pay(client, page)
    assert breaker.killed and response.status_code == 303
    assert "Payment received" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _invoice(client, key, page)["status"] == "paid"
