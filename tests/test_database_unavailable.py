"""A database that cannot be used at all — not reached, or a file that cannot be opened —
answers a clear 503 with Retry-After, on the API and the hosted page, never a 500; a
statement that is wrong stays a 500 (it is our bug, not an outage). Each app here has a
database of its own, so this runs in every tier."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app, tokens

SECRET = "test-secret-key-0123456789"


def app_on(url: str, instance: Path) -> Flask:
    return create_app(instance_path=str(instance), overrides={
        "DATABASE_URL": url, "SECRET_KEY": SECRET, "PUBLIC_URL": "https://pay.example.test", "TESTING": True})


@pytest.fixture()
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, never listening, so no one else takes it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_postgresql_server_that_cannot_be_reached_answers_503(closed_port: int, tmp_path: Path) -> None:
    client = app_on(f"postgresql://postgres@127.0.0.1:{closed_port}/vinr", tmp_path).test_client()
    response = client.get("/v1/invoices", headers={"X-Api-Key": "sk_test_anything"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.get_json()["error"]["code"] == "database_unavailable"
    token = tokens.mint(tokens.HOSTED_INVOICE, {"i": "inv_x", "a": "acct_x"}, secret_key=SECRET)
    page = client.get(f"/i/inv_x/{token}")
    assert page.status_code == 503 and page.headers["Retry-After"] == "1"
    assert "Temporarily unavailable" in page.get_data(as_text=True)


def test_an_sqlite_file_that_cannot_be_opened_answers_503(tmp_path: Path) -> None:
    client = app_on(f"sqlite:///{tmp_path / 'no-such-folder' / 'vinr.sqlite3'}", tmp_path).test_client()
    response = client.get("/v1/invoices", headers={"X-Api-Key": "sk_test_anything"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_unavailable"


def test_a_wrong_statement_is_still_a_500(tmp_path: Path) -> None:
    """A database without the schema: the statement fails, the database is there."""
    client = app_on(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path).test_client()
    response = client.get("/v1/invoices", headers={"X-Api-Key": "sk_test_anything"})
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
