"""A pending invoice item is billed once, however many invoices race for it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask

from app.accounts.service import create_merchant
from app.extensions import db
from app.invoices import drafts


def test_racing_invoice_creations_sweep_each_item_once(committed_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    app = committed_app
    with app.app_context():
        new = create_merchant(db.session, "Sweep Race", "SW")
        db.session.commit()
    headers = {"X-Api-Key": new.test_secret_key}
    client = app.test_client()
    cust = client.post("/v1/customers", json={}, headers=headers).get_json()
    item = client.post("/v1/invoiceitems", json={"customer": cust["id"], "amount": 7000}, headers=headers).get_json()

    original = drafts.pending_items

    def slow_read(session: Any, customer: Any) -> Any:
        rows = original(session, customer)
        time.sleep(0.2)  # every racer has read the item as pending before anyone writes
        return rows

    monkeypatch.setattr(drafts, "pending_items", slow_read)
    barrier = threading.Barrier(5)
    results: list[tuple[int, dict[str, Any]]] = []

    def create() -> None:
        own = app.test_client()
        barrier.wait()
        response = own.post("/v1/invoices", json={"customer": cust["id"]}, headers=headers)
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=create) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with_item = [body for status, body in results if status == 200
                 and any(line["invoice_item"] == item["id"] for line in body["lines"]["data"])]
    assert len(with_item) == 1, results
    assert all(status in (200, 409) for status, _ in results)
    swept = client.get(f"/v1/invoiceitems/{item['id']}", headers=headers).get_json()
    assert swept["invoice"] == with_item[0]["id"]
