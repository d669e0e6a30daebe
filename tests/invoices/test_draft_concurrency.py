"""Concurrent changes to one draft: the versioned invoice row (``version_id_col``) and the
request's transaction keep every line and every amount, and nothing lands on an
invoice finalized meanwhile."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm.exc import StaleDataError

from app.accounts.models import Account
from app.accounts.service import Caller, create_merchant
from app.extensions import db
from app.invoices import drafts, queries
from app.invoices.models import Invoice
from app.invoices.schemas import InvoiceUpdate, LineCreate, LineUpdate


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


def _stale_session(app: Flask, account_id: str, invoice_id: str) -> tuple[Any, Caller, Invoice]:
    """A session holding the draft as read now; its transaction ends, so another request
    may write (SQLite holds one writer at a time), and its objects stay as they were read."""
    session = db.sessionmaker()
    account = session.get(Account, account_id)
    assert account is not None
    caller = Caller(account, False)
    invoice, _ = queries.load_invoice(session, caller, invoice_id)  # held: the session keeps it as read
    session.commit()
    return session, caller, invoice


def test_a_draft_changed_since_it_was_loaded_is_not_overwritten(committed_app: Flask) -> None:
    app = committed_app
    headers, invoice_id, account_id = _merchant_and_draft(app, "Stale Co", "ST")
    with app.app_context():
        session, caller, _stale = _stale_session(app, account_id, invoice_id)
        added = app.test_client().post(f"/v1/invoices/{invoice_id}/lines", json={"unit_amount": 500},
                                       headers=headers)
        assert added.status_code == 200
        with pytest.raises(StaleDataError):
            drafts.update_invoice(session, caller, invoice_id, InvoiceUpdate(description="stale"))
        session.rollback()
        session.close()
    invoice = app.test_client().get(f"/v1/invoices/{invoice_id}", headers=headers).get_json()
    assert invoice["total"] == 500 and len(invoice["lines"]["data"]) == 1 and invoice["description"] is None


def test_a_line_whose_request_fails_after_the_writes_leaves_nothing(committed_app: Flask,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    app = committed_app
    headers, invoice_id, _ = _merchant_and_draft(app, "Atomic Co", "AT")
    client = app.test_client()
    before = client.get(f"/v1/invoices/{invoice_id}", headers=headers).get_json()

    def fail(*_args: Any) -> None:
        raise RuntimeError("the event could not be written")

    monkeypatch.setattr(drafts, "record_event", fail)  # runs after the flush
    response = client.post(f"/v1/invoices/{invoice_id}/lines", json={"unit_amount": 500}, headers=headers)
    assert response.status_code == 500
    monkeypatch.undo()
    assert client.get(f"/v1/invoices/{invoice_id}", headers=headers).get_json() == before
    again = client.post(f"/v1/invoices/{invoice_id}/lines", json={"unit_amount": 700}, headers=headers)
    assert again.status_code == 200 and again.get_json()["total"] == 700  # the version did not move either


def _describe(session: Any, caller: Caller, invoice: Any) -> None:
    drafts.update_line(session, caller, invoice.id, invoice.lines[0].id, LineUpdate(description="changed"))


def _add_free_line(session: Any, caller: Caller, invoice: Any) -> None:
    drafts.add_line(session, caller, invoice.id, LineCreate(unit_amount=0, description="another"))


def _delete_free_line(session: Any, caller: Caller, invoice: Any) -> None:
    drafts.delete_line(session, caller, invoice.id, invoice.lines[-1].id)


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
        session, caller, stale = _stale_session(app, account_id, invoice_id)
        finalized = client.post(f"/v1/invoices/{invoice_id}/finalize", json={"auto_advance": False},
                                headers=headers)
        assert finalized.status_code == 200
        with pytest.raises(StaleDataError):
            edit(session, caller, stale)
        session.rollback()
        session.close()
    invoice = client.get(f"/v1/invoices/{invoice_id}", headers=headers).get_json()
    assert invoice["status"] == "open"
    assert [(line["description"], line["amount"]) for line in invoice["lines"]["data"]] == [("kept", 500), ("free", 0)]
