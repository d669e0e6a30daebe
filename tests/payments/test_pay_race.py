"""One invoice is never collected twice, however many requests race (SPEC §3 payments).

The sandbox answers in microseconds, so without help the first /pay can
finish before the others start and a race test only sees 409 "paid". Here the
sandbox's charge is slowed down, so the others arrive while the first holds
the collection slot; and the window between reading the invoice and taking its
collection slot is widened, so on PostgreSQL many requests read the same free
invoice and only the version check on taking the slot can stop all but one. The processor itself
counts: exactly one charge may reach it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask, current_app

from app.accounts.service import create_merchant
from app.extensions import db
from app.payments import flow, settlement
from app.payments.flow import money_flow_of
from app.payments.processor import ChargeRequest, ChargeResult
from tests.conftest import is_postgres

FUTURE = {"exp_month": 12, "exp_year": 2040}
AMOUNT = 5000
CHARGE_SECONDS = 0.2


@dataclass
class Invoice:
    app: Flask
    headers: dict[str, str]
    id: str

    def get(self, path: str, **kw: Any) -> Any:
        response = self.app.test_client().get(path, headers=self.headers, **kw)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def open_invoice(app: Flask, name: str) -> Invoice:
    """Committed for real, under a fresh account, so other threads (connections) see it."""
    with app.app_context():
        new = create_merchant(db.session, name, "RACE")
        db.session.commit()
    headers = {"X-Api-Key": new.test_secret_key}
    client = app.test_client()
    cust = client.post("/v1/customers", json={"email": "race@example.com"}, headers=headers).get_json()
    saved = client.post(f"/v1/customers/{cust['id']}/payment_methods", headers=headers,
                        json={"card": {"number": "4242424242424242", "cvc": "123", **FUTURE}, "set_default": True})
    assert saved.status_code == 200
    inv = client.post("/v1/invoices", json={"customer": cust["id"]}, headers=headers).get_json()
    client.post(f"/v1/invoices/{inv['id']}/lines", json={"unit_amount": AMOUNT}, headers=headers)
    final = client.post(f"/v1/invoices/{inv['id']}/finalize", json={"auto_advance": False}, headers=headers)
    assert final.get_json()["status"] == "open"
    return Invoice(app, headers, inv["id"])


@dataclass
class Charge:
    key: str
    in_transaction: bool


class SlowSandbox(list[Charge]):
    """Every charge that reached the sandbox. ``started`` is set by the first; while
    ``hold`` is set, charges wait (at most 10 s) for ``release``."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.hold = False
        self.release = threading.Event()


@pytest.fixture()
def charges(committed_app: Flask, monkeypatch: pytest.MonkeyPatch) -> SlowSandbox:
    """The cached sandbox, slowed down; every charge that reaches it is recorded."""
    with committed_app.app_context():
        sandbox = money_flow_of(current_app).processor(False)
    calls = SlowSandbox()
    real = sandbox.charge

    def slow_charge(request: ChargeRequest) -> ChargeResult:
        calls.append(Charge(request.idempotency_key, db.session.in_transaction()))
        calls.started.set()
        if calls.hold:
            calls.release.wait(10)
        else:
            time.sleep(CHARGE_SECONDS)
        return real(request)

    monkeypatch.setattr(sandbox, "charge", slow_charge)
    return calls


@pytest.fixture()
def slow_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the gap between reading the invoice and taking its collection slot."""
    real = flow.take_slot

    def slow_take_slot(*args: Any, **kw: Any) -> Any:
        time.sleep(0.1)
        return real(*args, **kw)

    monkeypatch.setattr(flow, "take_slot", slow_take_slot)


def race(app: Flask, calls: list[tuple[str, Any]], headers: dict[str, str]) -> list[tuple[str, int, Any]]:
    """Send every (path, body) at once, each from its own client; return (path, status, body)."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, int, Any]] = []

    def send(path: str, body: Any) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(path, json=body, headers=headers)
        results.append((path, response.status_code, response.get_json()))

    threads = [threading.Thread(target=send, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == len(calls)
    return results


def assert_collected_once(inv: Invoice, charges: SlowSandbox) -> None:
    assert len(charges) == 1, charges
    assert not charges[0].in_transaction  # the processor call holds no database transaction
    payments = inv.get("/v1/payments", query_string={"invoice": inv.id, "limit": 100})["data"]
    assert [p["status"] for p in payments] == ["completed"], payments
    assert charges[0].key == f"vinr_{payments[0]['id']}"
    final = inv.get(f"/v1/invoices/{inv.id}")
    assert final["status"] == "paid" and final["amount_paid"] == final["total"] == AMOUNT
    assert final["attempt_count"] == 1 and final["payment"] == payments[0]["id"]
    events = inv.get("/v1/events", query_string={"type": "payment.completed", "limit": 100})["data"]
    assert len(events) == 1


@pytest.mark.parametrize("widen", [
    pytest.param(lambda request: None, id="slow-charge"),
    pytest.param(lambda request: request.getfixturevalue("slow_slots"), id="slow-charge-and-slot"),
])
def test_twenty_concurrent_pays_reach_the_processor_once(committed_app: Flask, charges: SlowSandbox,
                                                         request: pytest.FixtureRequest,
                                                         widen: Callable[[pytest.FixtureRequest], None]) -> None:
    widen(request)
    inv = open_invoice(committed_app, "Race Pay Slow")
    results = race(committed_app, [(f"/v1/invoices/{inv.id}/pay", {})] * 20, inv.headers)
    statuses = [status for _, status, _ in results]
    assert statuses.count(200) == 1 and statuses.count(409) == 19, results
    codes = {body["error"]["code"] for _, status, body in results if status == 409}
    assert codes <= {"payment_in_progress", "concurrent_modification", "invoice_unexpected_status"}, codes
    assert_collected_once(inv, charges)


def test_pay_void_and_out_of_band_racing(committed_app: Flask, charges: SlowSandbox, slow_slots: None) -> None:
    """Whoever wins, the invoice ends in one consistent state, and money moves at most once:
    never a void (or out-of-band paid) invoice with a card charge under it."""
    inv = open_invoice(committed_app, "Race Mixed")
    path = f"/v1/invoices/{inv.id}"
    calls = ([(f"{path}/pay", {})] * 8 + [(f"{path}/void", {})] * 4
             + [(f"{path}/pay", {"paid_out_of_band": True})] * 4 + [(f"{path}/mark_uncollectible", {})] * 4)
    results = race(committed_app, calls, inv.headers)
    assert all(status in (200, 409) for _, status, _ in results), results
    final = inv.get(path)
    payments = inv.get("/v1/payments", query_string={"invoice": inv.id, "limit": 100})["data"]
    assert len(charges) <= 1 and all(not c.in_transaction for c in charges)
    # Whoever paid it, one payment: a card charge, or the out-of-band payment (SPEC §12).
    if charges:
        assert final["status"] == "paid" and final["payment"] == payments[0]["id"]
        assert [(p["status"], p["payment_method_type"]) for p in payments] == [("completed", "card")]
    elif final["status"] == "paid":
        assert [(p["status"], p["payment_method_type"]) for p in payments] == [("completed", "out_of_band")]
        assert final["payment"] is None
    else:
        assert payments == [] and final["payment"] is None
        assert final["status"] in ("void", "uncollectible")
    assert final["amount_paid"] in (0, AMOUNT)
    assert (final["amount_paid"] == AMOUNT) == (final["status"] == "paid")
    winners = [p for p, status, _ in results if status == 200]
    # Every 200 is consistent with the end state: no two different transitions both won.
    kinds = {p.rsplit("/", 1)[1] for p in winners}
    assert len(kinds) == 1 or kinds == {"pay", "mark_uncollectible"} or kinds == {"void", "mark_uncollectible"}, winners


def test_pays_arriving_while_a_charge_is_in_flight_are_refused(committed_app: Flask, charges: SlowSandbox) -> None:
    """Late comers (they read the invoice after the slot was taken) are stopped by the slot itself,
    not by the version check: 409 payment_in_progress, and nothing reaches the processor."""
    inv = open_invoice(committed_app, "Race Late")
    charges.hold = True
    first: list[tuple[str, int, Any]] = []
    leader = threading.Thread(target=lambda: first.extend(
        race(committed_app, [(f"/v1/invoices/{inv.id}/pay", {})], inv.headers)))
    leader.start()
    try:
        assert charges.started.wait(10)
        late = race(committed_app, [(f"/v1/invoices/{inv.id}/pay", {})] * 19, inv.headers)
    finally:
        charges.release.set()
        leader.join()
    assert [status for _, status, _ in first] == [200]
    assert [(status, body["error"]["code"]) for _, status, body in late] == [(409, "payment_in_progress")] * 19
    assert_collected_once(inv, charges)


@pytest.mark.skipif(not is_postgres(), reason="SQLite: the paying request holds the write lock from its first "
                                              "read, so no edit can land between its read and its write")
def test_a_merchant_edit_waits_while_the_outcome_is_recorded(committed_app: Flask,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The card is charged; the merchant edits the invoice (POST /v1/invoices/{id}) while
    the paying request records the outcome. The edit waits for the invoice's row lock
    instead of making the outcome retry. The payment stands (one charge, the invoice
    paid); the edit either lands after it or, having read the invoice before, is told
    the invoice changed (409), never half-applied."""
    inv = open_invoice(committed_app, "Race Edit")
    real = settlement.transition
    edit_done = threading.Event()
    waited: list[bool] = []
    edit: list[Any] = []

    def merchant_edit() -> None:
        edit.append(committed_app.test_client().post(f"/v1/invoices/{inv.id}", headers=inv.headers,
                                                     json={"description": "Edited by the merchant"}))
        edit_done.set()

    editor = threading.Thread(target=merchant_edit)

    def edit_then_transition(session: Any, invoice: Any, to: Any, **kw: Any) -> None:
        if not editor.is_alive() and not edit_done.is_set():
            editor.start()
            waited.append(not edit_done.wait(0.5))  # still blocked on the row lock
        real(session, invoice, to, **kw)

    # A successful charge moves the invoice to paid through the settlement (app/payments/settlement.py).
    monkeypatch.setattr(settlement, "transition", edit_then_transition)
    response = committed_app.test_client().post(f"/v1/invoices/{inv.id}/pay", json={}, headers=inv.headers)
    editor.join(10)
    assert waited == [True] and edit_done.is_set()
    assert response.status_code == 200, response.get_json()
    final = inv.get(f"/v1/invoices/{inv.id}")
    assert (final["status"], final["amount_paid"]) == ("paid", AMOUNT)
    if edit[0].status_code == 200:
        assert final["description"] == "Edited by the merchant"
    else:
        assert (edit[0].status_code, edit[0].get_json()["error"]["code"]) == (409, "concurrent_modification")
        assert final["description"] is None
    payments = inv.get("/v1/payments", query_string={"invoice": inv.id})["data"]
    assert [p["status"] for p in payments] == ["completed"]
