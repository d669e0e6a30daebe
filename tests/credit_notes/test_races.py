"""Credit notes from concurrent requests (SPEC §11): an invoice is never credited beyond its
total, and its credit notes are numbered without gaps or duplicates, however many race. Real
commits from many threads, each with its own connection (PostgreSQL with VINR_TEST_DATABASE_URL)."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask

from app.accounts.service import Caller, create_merchant
from app.customers.schemas import CustomerCreate
from app.customers.service import create_customer
from app.extensions import db
from app.invoices import drafts, lifecycle
from app.invoices.schemas import FinalizeParams, InvoiceCreate, LineCreate

RACERS = 12


def _open_invoice(app: Flask, name: str, amount: int) -> tuple[str, str]:
    with app.app_context(), app.test_request_context():
        new = create_merchant(db.session, name, "CNR")
        caller = Caller(new.account, False)
        cust = create_customer(db.session, caller, CustomerCreate())
        inv = drafts.create_invoice(db.session, caller, InvoiceCreate(customer=cust.id, default_tax_rates=[]))
        drafts.add_line(db.session, caller, inv.id, LineCreate(unit_amount=amount))
        lifecycle.finalize(db.session, caller, inv.id, FinalizeParams(auto_advance=False),
                           secret_key=app.config["SECRET_KEY"])
        db.session.commit()
        return new.test_secret_key, inv.id


def _race(app: Flask, key: str, bodies: list[dict[str, Any]], path: str = "/v1/credit_notes") -> list[Any]:
    barrier = threading.Barrier(len(bodies))
    results: list[Any] = [None] * len(bodies)

    def run(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(path.format(i=i), json=bodies[i], headers={"X-Api-Key": key})
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_racing_credit_notes_never_credit_beyond_the_total_and_number_without_gaps(committed_app: Flask) -> None:
    app = committed_app
    key, invoice_id = _open_invoice(app, "Credit Race Co", 10_000)
    # Twelve requests of 30.00 each on a 100.00 invoice: three fit, then 10.00 is left.
    results = _race(app, key, [{"invoice": invoice_id, "amount": 3_000}] * RACERS)
    won = [body for status, body in results if status == 200]
    lost = [body for status, body in results if status != 200]
    assert len(won) == 3, results
    assert all(status == 400 and body["error"]["code"] == "credit_note_exceeds_invoice"
               for status, body in results if status != 200), lost
    number = won[0]["number"].rsplit("-CN-", 1)[0]
    assert sorted(cn["number"] for cn in won) == [f"{number}-CN-{n:02d}" for n in (1, 2, 3)]
    client = app.test_client()
    invoice = client.get(f"/v1/invoices/{invoice_id}", headers={"X-Api-Key": key}).get_json()
    assert invoice["amount_due"] == 1_000 and invoice["pre_payment_credit_notes_amount"] == 9_000
    assert invoice["status"] == "open"


def test_racing_credit_notes_that_all_fit_are_all_issued_in_sequence(committed_app: Flask) -> None:
    app = committed_app
    key, invoice_id = _open_invoice(app, "Credit Sequence Co", RACERS * 100)
    results = _race(app, key, [{"invoice": invoice_id, "amount": 100}] * RACERS)
    assert all(status == 200 for status, _ in results), results
    number = results[0][1]["number"].rsplit("-CN-", 1)[0]
    assert sorted(body["number"] for _, body in results) == [f"{number}-CN-{n:02d}" for n in range(1, RACERS + 1)]
    invoice = app.test_client().get(f"/v1/invoices/{invoice_id}", headers={"X-Api-Key": key}).get_json()
    # Brought to 0 by the last of them: paid once, through the state machine.
    assert invoice["status"] == "paid" and invoice["amount_due"] == 0
    events = app.test_client().get("/v1/events", query_string={"type": "invoice.paid"},
                                   headers={"X-Api-Key": key}).get_json()["data"]
    assert len(events) == 1


def test_racing_voids_and_credit_notes_keep_the_invoice_consistent(committed_app: Flask) -> None:
    app = committed_app
    key, invoice_id = _open_invoice(app, "Credit Void Co", 20_000)
    client = app.test_client()
    first = client.post("/v1/credit_notes", json={"invoice": invoice_id, "amount": 6_000},
                        headers={"X-Api-Key": key}).get_json()
    # Eight voids of the one credit note and eight new 6.00 credit notes at once (they all fit, voided or not).
    bodies: list[dict[str, Any]] = [{} for _ in range(8)] + [{"invoice": invoice_id, "amount": 600}] * 8
    barrier = threading.Barrier(len(bodies))
    results: list[Any] = [None] * len(bodies)

    def run(i: int) -> None:
        c = app.test_client()
        barrier.wait()
        path = f"/v1/credit_notes/{first['id']}/void" if i < 8 else "/v1/credit_notes"
        response = c.post(path, json=bodies[i], headers={"X-Api-Key": key})
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    voids = [status for status, _ in results[:8]]
    assert sorted(voids) == [200] + [409] * 7, results[:8]
    assert all(status == 200 for status, _ in results[8:]), [r for r in results[8:] if r[0] != 200]
    invoice = client.get(f"/v1/invoices/{invoice_id}", headers={"X-Api-Key": key}).get_json()
    assert invoice["pre_payment_credit_notes_amount"] == 8 * 600
    assert invoice["amount_due"] == 20_000 - 8 * 600
