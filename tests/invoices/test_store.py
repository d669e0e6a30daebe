"""Invoices changed through app/invoices/store.py, outside the ORM's query and
flush: the versioned invoice row and the request's transaction hold as they did."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm.exc import StaleDataError

from app.accounts.models import Account
from app.accounts.service import Caller, create_merchant
from app.extensions import db
from app.invoices import service, store


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
