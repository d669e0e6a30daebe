"""Invoice numbers: PREFIX-0001 per account and mode, no gaps, no duplicates."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask

from app.accounts.service import Caller, create_merchant
from app.customers.schemas import CustomerCreate
from app.customers.service import create_customer
from app.extensions import db
from app.invoices import drafts as invoice_drafts
from app.invoices import lifecycle
from app.invoices.schemas import FinalizeParams, InvoiceCreate, LineCreate


def finalize_new(api: Any, customer_id: str) -> str:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer_id})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"unit_amount": 100})
    return api.ok("POST", f"/v1/invoices/{inv['id']}/finalize")["number"]  # type: ignore[no-any-return]


def test_numbers_are_sequential_per_account_and_mode(merchant: Any, other_merchant: Any) -> None:
    test_cust = merchant.test.ok("POST", "/v1/customers", {})["id"]
    live_cust = merchant.live.ok("POST", "/v1/customers", {})["id"]
    other_cust = other_merchant.test.ok("POST", "/v1/customers", {})["id"]
    assert [finalize_new(merchant.test, test_cust) for _ in range(3)] == ["ACME-0001", "ACME-0002", "ACME-0003"]
    assert finalize_new(merchant.live, live_cust) == "ACME-0001"
    assert finalize_new(other_merchant.test, other_cust) == "GLOBEX-0001"


def test_a_rolled_back_finalize_returns_its_number(app: Flask, db_session: Any) -> None:
    new = create_merchant(db_session, "Rollback Co", "RB")
    caller = Caller(new.account, False)
    cust = create_customer(db_session, caller, CustomerCreate())
    drafts = []
    for _ in range(2):
        inv = invoice_drafts.create_invoice(db_session, caller, InvoiceCreate(customer=cust.id))
        invoice_drafts.add_line(db_session, caller, inv.id, LineCreate(unit_amount=100))
        drafts.append(inv.id)
    with app.test_request_context():
        savepoint = db_session.begin_nested()
        assert lifecycle.finalize(db_session, caller, drafts[0], FinalizeParams(),
                                  secret_key=app.config["SECRET_KEY"]).number == "RB-0001"
        savepoint.rollback()
        assert lifecycle.finalize(db_session, caller, drafts[1], FinalizeParams(),
                                  secret_key=app.config["SECRET_KEY"]).number == "RB-0001"


def test_fifty_parallel_finalizes_get_fifty_distinct_gapless_numbers(committed_app: Flask) -> None:
    """Real commits from 50 threads, each with its own connection (PostgreSQL in CI)."""
    app = committed_app
    with app.app_context():
        new = create_merchant(db.session, "Race Co", "RACE")
        caller = Caller(new.account, False)
        cust = create_customer(db.session, caller, CustomerCreate())
        ids = []
        for _ in range(50):
            inv = invoice_drafts.create_invoice(db.session, caller, InvoiceCreate(customer=cust.id))
            invoice_drafts.add_line(db.session, caller, inv.id, LineCreate(unit_amount=100))
            ids.append(inv.id)
        db.session.commit()
    barrier = threading.Barrier(50)
    results: dict[str, Any] = {}

    def finalize(invoice_id: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/v1/invoices/{invoice_id}/finalize", headers={"X-Api-Key": new.test_secret_key})
        results[invoice_id] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=finalize, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(status == 200 for status, _ in results.values()), results
    numbers = sorted(body["number"] for _, body in results.values())
    assert numbers == [f"RACE-{n:04d}" for n in range(1, 51)]


def test_racing_finalizes_of_one_invoice_finalize_it_once(committed_app: Flask) -> None:
    app = committed_app
    with app.app_context():
        new = create_merchant(db.session, "Twice Co", "TW")
        caller = Caller(new.account, False)
        cust = create_customer(db.session, caller, CustomerCreate())
        inv = invoice_drafts.create_invoice(db.session, caller, InvoiceCreate(customer=cust.id))
        invoice_drafts.add_line(db.session, caller, inv.id, LineCreate(unit_amount=100))
        after = invoice_drafts.create_invoice(db.session, caller, InvoiceCreate(customer=cust.id))
        invoice_drafts.add_line(db.session, caller, after.id, LineCreate(unit_amount=100))
        db.session.commit()
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def finalize() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/v1/invoices/{inv.id}/finalize", headers={"X-Api-Key": new.test_secret_key})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=finalize) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * 9
    with app.app_context():
        events = app.test_client().get("/v1/events", query_string={"type": "invoice.finalized"},
                                       headers={"X-Api-Key": new.test_secret_key}).get_json()["data"]
        assert len(events) == 1 and events[0]["data"]["number"] == "TW-0001"
    # Each loser took a number before its stale write failed; all went back.
    response = app.test_client().post(f"/v1/invoices/{after.id}/finalize", headers={"X-Api-Key": new.test_secret_key})
    assert response.get_json()["number"] == "TW-0002"
