"""Partial payments, bank transfers and overpayments (SPEC §12): ``record_bank_transfer``
(what the statement import calls), ``record_out_of_band`` and ``/pay`` with an amount."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from stdnum import iso11649

from app.errors import Conflict, InvalidRequest
from app.invoices.models import Invoice
from app.invoices.reference import payment_reference_for
from app.payments.transfers import record_bank_transfer
from tests.payments.test_pay_api import event_types, open_invoice, save_card


def invoice_events(api: Any, invoice_id: str) -> list[str]:
    events = api.ok("GET", "/v1/events", query_string={"limit": 100})["data"]
    return [e["type"] for e in reversed(events) if e["data"].get("id") == invoice_id
            or e["data"].get("invoice") == invoice_id]


def transfer(app: Flask, db_session: Any, invoice_id: str, amount: int, bank_transaction_id: str) -> str:
    with app.app_context():
        invoice = db_session.get_one(Invoice, invoice_id)
        payment = record_bank_transfer(db_session, invoice, amount, booked_at=1_800_000_000,
                                       bank_transaction_id=bank_transaction_id, debtor_name="Erika Mustermann")
        db_session.commit()  # the caller's boundary (the statement import) commits
        return payment.id


def test_the_payment_reference_is_a_valid_rf_reference_frozen_at_finalization(api: Any, customer: dict) -> None:
    draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    assert draft["payment_reference"] is None
    inv = open_invoice(api, customer["id"], 700)
    assert inv["payment_reference"] == payment_reference_for(inv["number"])
    assert iso11649.is_valid(inv["payment_reference"]) and inv["payment_reference"].startswith("RF")
    assert inv["number"].replace("-", "") in inv["payment_reference"]
    assert payment_reference_for("ACME-0042") == "RF96ACME0042"


def test_out_of_band_parts_then_the_rest(api: Any, customer: dict) -> None:
    inv = open_invoice(api, customer["id"], 10_000)
    part = api.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True, "amount": 3_000})
    assert (part["status"], part["amount_paid"], part["amount_remaining"]) == ("open", 3_000, 7_000)
    assert invoice_events(api, inv["id"])[-2:] == ["payment.completed", "invoice.payment_succeeded"]
    rest = api.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True})
    assert (rest["status"], rest["amount_paid"], rest["amount_remaining"]) == ("paid", 10_000, 0)
    payments = api.ok("GET", "/v1/payments", query_string={"invoice": inv["id"]})["data"]
    assert sorted(p["amount"] for p in payments) == [3_000, 7_000]
    assert {p["payment_method_type"] for p in payments} == {"out_of_band"}
    assert {p["status"] for p in payments} == {"completed"}
    assert invoice_events(api, inv["id"]).count("invoice.paid") == 1
    assert invoice_events(api, inv["id"]).count("invoice.payment_succeeded") == 2
    assert rest["attempt_count"] == 0  # money that came another way is no collection attempt
    again = api.post(f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True, "amount": 1})
    assert again.status_code == 409


def test_an_amount_is_positive_and_only_for_out_of_band(api: Any, customer: dict) -> None:
    inv = open_invoice(api, customer["id"], 10_000)
    for amount in (0, -5):
        response = api.post(f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True, "amount": amount})
        assert response.status_code == 400 and response.get_json()["error"]["param"] == "amount"
    save_card(api, customer["id"], "4242424242424242")
    response = api.post(f"/v1/invoices/{inv['id']}/pay", {"amount": 100})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "amount"
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["amount_paid"] == 0


def test_an_out_of_band_overpayment_credits_the_customers_balance(api: Any, customer: dict) -> None:
    inv = open_invoice(api, customer["id"], 10_000)
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True, "amount": 12_500})
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 10_000, 0)
    assert api.ok("GET", f"/v1/customers/{customer['id']}")["balance"] == -2_500
    # The credit is taken off the customer's next invoice (SPEC §11).
    nxt = open_invoice(api, customer["id"], 4_000)
    assert (nxt["starting_balance"], nxt["amount_due"]) == (-2_500, 1_500)


def test_a_card_payment_charges_what_remains(api: Any, customer: dict) -> None:
    inv = open_invoice(api, customer["id"], 10_000)
    api.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True, "amount": 4_000})
    save_card(api, customer["id"], "4242424242424242")
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 10_000, 0)
    card = api.ok("GET", f"/v1/payments/{paid['payment']}")
    assert (card["amount"], card["payment_method_type"]) == (6_000, "card")
    assert invoice_events(api, inv["id"]).count("invoice.paid") == 1
    assert paid["attempt_count"] == 1


def test_bank_transfers_in_parts_and_over(app: Flask, db_session: Any, api: Any, customer: dict) -> None:
    inv = open_invoice(api, customer["id"], 10_000)
    first = transfer(app, db_session, inv["id"], 6_000, "btxn_1")
    after = api.ok("GET", f"/v1/invoices/{inv['id']}")
    assert (after["status"], after["amount_paid"], after["amount_remaining"]) == ("open", 6_000, 4_000)
    payment = api.ok("GET", f"/v1/payments/{first}")
    assert payment["payment_method_type"] == "bank_transfer" and payment["status"] == "completed"
    assert payment["bank_transfer"] == {"bank_transaction": "btxn_1", "booked_at": 1_800_000_000,
                                        "debtor_name": "Erika Mustermann"}
    # The same statement entry again: nothing applied twice.
    assert transfer(app, db_session, inv["id"], 6_000, "btxn_1") == first
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["amount_paid"] == 6_000
    transfer(app, db_session, inv["id"], 5_000, "btxn_2")
    paid = api.ok("GET", f"/v1/invoices/{inv['id']}")
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 10_000, 0)
    assert api.ok("GET", f"/v1/customers/{customer['id']}")["balance"] == -1_000
    # A customer paying a paid invoice twice: all of it is theirs, on the balance.
    transfer(app, db_session, inv["id"], 2_000, "btxn_3")
    assert api.ok("GET", f"/v1/customers/{customer['id']}")["balance"] == -3_000
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["amount_paid"] == 10_000
    events = invoice_events(api, inv["id"])
    assert events.count("invoice.paid") == 1 and events.count("invoice.payment_succeeded") == 3
    assert "invoice.paid" in event_types(api)


def test_a_bank_transfer_for_a_draft_or_void_invoice_or_of_nothing_is_refused(
        app: Flask, db_session: Any, api: Any, customer: dict) -> None:
    draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    with pytest.raises(Conflict):
        transfer(app, db_session, draft["id"], 100, "btxn_d")
    inv = open_invoice(api, customer["id"], 700)
    api.ok("POST", f"/v1/invoices/{inv['id']}/void")
    with pytest.raises(Conflict):
        transfer(app, db_session, inv["id"], 100, "btxn_v")
    live = open_invoice(api, customer["id"], 700)
    with pytest.raises(InvalidRequest):
        transfer(app, db_session, live["id"], 0, "btxn_0")
