"""Money arriving in parts while a card payment is in flight (SPEC §12): the invoice is never
collected beyond what it owes without the excess going to the customer's balance, and
``invoice.paid`` fires once. Like test_pay_race.py, on the real engine (PostgreSQL when
VINR_TEST_DATABASE_URL points there), each request on its own connection."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask

from app.extensions import db
from app.invoices.models import Invoice as InvoiceRow
from app.payments.transfers import record_bank_transfer
from tests.payments import test_pay_race
from tests.payments.test_pay_race import AMOUNT, Invoice, SlowSandbox, open_invoice, race

charges = test_pay_race.charges  # the slowed sandbox, a fixture


def accounted(inv: Invoice) -> tuple[dict[str, Any], int, int]:
    """The invoice, what its completed payments brought, and the customer's balance."""
    final = inv.get(f"/v1/invoices/{inv.id}")
    payments = inv.get("/v1/payments", query_string={"invoice": inv.id, "limit": 100})["data"]
    brought = sum(p["amount"] for p in payments if p["status"] == "completed")
    balance = inv.get(f"/v1/customers/{final['customer']}")["balance"]
    return final, brought, balance


def paid_events(inv: Invoice) -> int:
    events = inv.get("/v1/events", query_string={"type": "invoice.paid", "limit": 100})["data"]
    return sum(1 for e in events if e["data"]["id"] == inv.id)


def test_a_transfer_arriving_while_a_card_charge_is_in_flight(committed_app: Flask, charges: SlowSandbox) -> None:
    inv = open_invoice(committed_app, "Race Transfer")
    charges.hold = True
    first: list[tuple[str, int, Any]] = []
    payer = threading.Thread(target=lambda: first.extend(
        race(committed_app, [(f"/v1/invoices/{inv.id}/pay", {})], inv.headers)))
    payer.start()
    try:
        assert charges.started.wait(10)
        with committed_app.app_context():  # the statement import's boundary, on its own connection
            record_bank_transfer(db.session, db.session.get_one(InvoiceRow, inv.id), 2_000, booked_at=1_800_000_000,
                                 bank_transaction_id=f"btxn_race_{inv.id}")
            db.session.commit()
        middle = inv.get(f"/v1/invoices/{inv.id}")
        assert (middle["status"], middle["amount_paid"]) == ("open", 2_000)
    finally:
        charges.release.set()
        payer.join()
    assert [status for _, status, _ in first] == [200]
    final, brought, balance = accounted(inv)
    assert (final["status"], final["amount_paid"], final["amount_remaining"]) == ("paid", AMOUNT, 0)
    assert brought == AMOUNT + 2_000 and balance == -2_000  # the card charged the old remainder: excess credited
    assert paid_events(inv) == 1


def test_out_of_band_parts_and_card_pays_racing(committed_app: Flask, charges: SlowSandbox) -> None:
    inv = open_invoice(committed_app, "Race Parts")
    path = f"/v1/invoices/{inv.id}/pay"
    results = race(committed_app, [(path, {})] * 6 + [(path, {"paid_out_of_band": True, "amount": 1_500})] * 6,
                   inv.headers)
    assert all(status in (200, 409) for _, status, _ in results), results
    final, brought, balance = accounted(inv)
    assert len(charges) <= 1
    assert final["amount_paid"] <= AMOUNT
    assert brought == final["amount_paid"] - balance  # nothing collected that is not on the invoice or the balance
    assert (final["status"] == "paid") == (final["amount_paid"] == AMOUNT)
    assert paid_events(inv) == (1 if final["status"] == "paid" else 0)
