"""Invoices changed through app/invoices/store.py, outside the ORM's query and
flush: the versioned invoice row and the request's transaction hold as they did."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm.exc import StaleDataError

from app.accounts.models import Account
from app.accounts.service import Caller, create_merchant
from app.extensions import db
from app.ids import new_id
from app.invoices import service, store
from app.invoices.models import InvoiceLine


def _merchant_and_draft(app: Flask, name: str, prefix: str) -> tuple[dict[str, str], str, str]:
    with app.app_context():
        new = create_merchant(db.session, name, prefix)
        db.session.commit()
    headers = {"X-Api-Key": new.test_secret_key}
    client = app.test_client()
    cust = client.post("/v1/customers", json={}, headers=headers).get_json()
    draft = client.post("/v1/invoices", json={"customer": cust["id"]}, headers=headers).get_json()
    return headers, draft["id"], new.account.id


def test_racing_line_additions_lose_no_line_and_no_amount(committed_app: Flask) -> None:
    app = committed_app
    headers, invoice_id, _ = _merchant_and_draft(app, "Line Race", "LR")
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def add(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/v1/invoices/{invoice_id}/lines", json={"unit_amount": 100 * (n + 1)},
                               headers=headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) <= {200, 409} and 200 in statuses, statuses  # 409: lost the version race (PostgreSQL)
    invoice = app.test_client().get(f"/v1/invoices/{invoice_id}", headers=headers).get_json()
    amounts = [line["amount"] for line in invoice["lines"]["data"]]
    assert len(amounts) == statuses.count(200)
    assert invoice["subtotal"] == invoice["total"] == sum(amounts)


def test_a_draft_changed_since_it_was_loaded_is_not_overwritten(committed_app: Flask) -> None:
    app = committed_app
    headers, invoice_id, account_id = _merchant_and_draft(app, "Stale Co", "ST")
    with app.app_context():
        session = db.sessionmaker()
        account = session.get(Account, account_id)
        assert account is not None
        caller = Caller(account, False)
        stale, _ = store.load(session, caller, invoice_id, attached=False)
        assert stale.lines == []
        session.rollback()  # another request may write now (SQLite holds one writer at a time)
        added = app.test_client().post(f"/v1/invoices/{invoice_id}/lines", json={"unit_amount": 500},
                                       headers=headers)
        assert added.status_code == 200
        stale.subtotal = stale.total = stale.amount_due = 1
        with pytest.raises(StaleDataError):
            store.save(session, stale)
        session.rollback()
        session.close()
    invoice = app.test_client().get(f"/v1/invoices/{invoice_id}", headers=headers).get_json()
    assert invoice["total"] == 500 and len(invoice["lines"]["data"]) == 1


def test_a_line_whose_request_fails_after_the_writes_leaves_nothing(committed_app: Flask,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    app = committed_app
    headers, invoice_id, _ = _merchant_and_draft(app, "Atomic Co", "AT")
    client = app.test_client()
    before = client.get(f"/v1/invoices/{invoice_id}", headers=headers).get_json()

    def fail(*_args: Any) -> None:
        raise RuntimeError("the event could not be written")

    monkeypatch.setattr(service, "record_event", fail)  # runs after store.save
    response = client.post(f"/v1/invoices/{invoice_id}/lines", json={"unit_amount": 500}, headers=headers)
    assert response.status_code == 500
    monkeypatch.undo()
    assert client.get(f"/v1/invoices/{invoice_id}", headers=headers).get_json() == before
    again = client.post(f"/v1/invoices/{invoice_id}/lines", json={"unit_amount": 700}, headers=headers)
    assert again.status_code == 200 and again.get_json()["total"] == 700  # the version did not move either


def _describe(invoice: Any) -> None:
    invoice.lines[0].description = "changed"


def _add_free_line(invoice: Any) -> None:
    invoice.lines.append(InvoiceLine(**{**_line_fields(invoice.lines[0]), "id": new_id("il"), "amount": 0,
                                        "unit_amount": 0, "description": "another", "position": 2}))


def _delete_free_line(invoice: Any) -> None:
    invoice.lines.pop()


def _line_fields(line: Any) -> dict[str, Any]:
    return {key: getattr(line, key) for key in store._LINE_ATTRS}


@pytest.mark.parametrize("edit", [_describe, _add_free_line, _delete_free_line],
                         ids=["description", "zero-amount line added", "zero-amount line deleted"])
def test_a_line_edit_that_changes_no_total_cannot_land_on_an_invoice_finalized_meanwhile(
        committed_app: Flask, edit: Any) -> None:
    """A line edit that read the draft before a concurrent finalize must fail, not change
    the lines of the now numbered, open invoice (SPEC §3: finalizing locks the lines)."""
    app = committed_app
    headers, invoice_id, account_id = _merchant_and_draft(app, "Lock Co", "LK")
    client = app.test_client()
    client.post(f"/v1/invoices/{invoice_id}/lines", json={"unit_amount": 500, "description": "kept"},
                headers=headers)
    client.post(f"/v1/invoices/{invoice_id}/lines", json={"unit_amount": 0, "description": "free"}, headers=headers)
    with app.app_context():
        session = db.sessionmaker()
        account = session.get(Account, account_id)
        assert account is not None
        stale, _ = store.load(session, Caller(account, False), invoice_id, attached=False)
        session.rollback()  # the finalize below may write now (SQLite holds one writer at a time)
        finalized = client.post(f"/v1/invoices/{invoice_id}/finalize", json={"auto_advance": False},
                                headers=headers)
        assert finalized.status_code == 200
        edit(stale)
        with pytest.raises(StaleDataError):
            store.save(session, stale)
        session.rollback()
        session.close()
    invoice = client.get(f"/v1/invoices/{invoice_id}", headers=headers).get_json()
    assert invoice["status"] == "open"
    assert [(line["description"], line["amount"]) for line in invoice["lines"]["data"]] == [("kept", 500), ("free", 0)]


@pytest.mark.parametrize("column", [
    sa.Column("updated", sa.Integer, onupdate=lambda: 1),
    sa.Column("created", sa.Integer, server_default="0"),
], ids=["onupdate", "server_default"])
def test_the_store_refuses_a_column_it_would_not_write_as_the_flush_does(column: sa.Column[Any]) -> None:
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.String, primary_key=True), column)
    with pytest.raises(RuntimeError, match=f"t.{column.key} has an onupdate or server default"):
        store.check_writable(table)
