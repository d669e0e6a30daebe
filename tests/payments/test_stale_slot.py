"""Crash recovery of the money flow (take the slot -> charge -> record, app/payments/flow.py).

A process that dies after taking the invoice's collection slot leaves a ``processing``
payment and the slot (``collecting_payment_id``) taken. Until the slot is
``STALE_SLOT_SECONDS`` old, another collection answers 409
``payment_in_progress`` (the first may still be charging); after that, /pay
re-drives the SAME payment, with the same idempotency key, so the processor
answers with that charge instead of making a second one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, current_app

from app import clock
from app.extensions import db
from app.invoices.models import Invoice
from app.payments import flow
from app.payments.flow import STALE_SLOT_SECONDS, money_flow_of
from app.payments.models import Payment, PaymentMethod, PaymentStatus
from app.payments.processor import ChargeRequest, ChargeResult

FUTURE = {"exp_month": 12, "exp_year": 2040}


def save_card(api: Any, customer_id: str, number: str) -> dict[str, Any]:
    return api.ok("POST", f"/v1/customers/{customer_id}/payment_methods",
                  {"card": {"number": number, "cvc": "123", **FUTURE}, "set_default": True})


def open_invoice(api: Any, customer_id: str, amount: int = 3000) -> dict[str, Any]:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer_id})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Work", "unit_amount": amount})
    return api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})


@dataclass
class Charges:
    """Every ChargeRequest that reached the sandbox, and whether a DB transaction was open then."""

    requests: list[ChargeRequest]
    in_transaction: list[bool]


@pytest.fixture()
def charges(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Charges]:
    with app.app_context():
        sandbox = money_flow_of(current_app).processor(False)
    seen = Charges([], [])
    real = sandbox.charge

    def spy(request: ChargeRequest) -> ChargeResult:
        seen.requests.append(request)
        seen.in_transaction.append(db.session.in_transaction())  # the request's own session
        return real(request)

    monkeypatch.setattr(sandbox, "charge", spy)
    yield seen


def die_after_taking_the_slot(app: Flask, session: Any, invoice_id: str, pm_id: str) -> str:
    """Step 1 of the collect flow, then nothing: the process died before charging."""
    with app.app_context():
        invoice = session.get(Invoice, invoice_id, populate_existing=True)
        pm = session.get(PaymentMethod, pm_id)
        payment = flow.take_slot(session, invoice, pm, off_session=True)
    return payment.id


def age_slot(session: Any, payment_id: str, seconds: int) -> None:
    session.execute(sa.update(Payment).where(Payment.id == payment_id).values(updated=clock.now() - seconds))
    session.commit()


def collecting(session: Any, invoice_id: str) -> str | None:
    return session.scalar(sa.select(Invoice.collecting_payment_id).where(Invoice.id == invoice_id))


def test_a_fresh_slot_blocks_and_a_stale_one_is_redriven(app: Flask, api: Any, customer: dict, db_session: Any,
                                                         charges: Charges) -> None:
    pm = save_card(api, customer["id"], "4242424242424242")
    inv = open_invoice(api, customer["id"])
    pid = die_after_taking_the_slot(app, db_session, inv["id"], pm["id"])
    assert api.ok("GET", f"/v1/payments/{pid}")["status"] == "processing"
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["payment"] == pid

    # Within the window the first process may still be charging: hands off.
    for headers in (None, {"Idempotency-Key": "pay-while-held"}):
        blocked = api.post(f"/v1/invoices/{inv['id']}/pay", headers=headers)
        assert blocked.status_code == 409, blocked.get_json()
        assert blocked.get_json()["error"]["code"] == "payment_in_progress"
    age_slot(db_session, pid, STALE_SLOT_SECONDS - 5)
    assert api.post(f"/v1/invoices/{inv['id']}/pay").get_json()["error"]["code"] == "payment_in_progress"
    assert charges.requests == []
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["attempt_count"] == 0

    # Past the window: the same payment is finished, with the same idempotency key.
    age_slot(db_session, pid, STALE_SLOT_SECONDS + 5)
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/pay", headers={"Idempotency-Key": "pay-after-crash"})
    assert paid["status"] == "paid" and paid["payment"] == pid
    assert (paid["amount_paid"], paid["attempt_count"]) == (3000, 1)
    assert [r.idempotency_key for r in charges.requests] == [f"vinr_{pid}"]
    payments = api.ok("GET", "/v1/payments", query_string={"invoice": inv["id"], "limit": 100})["data"]
    assert [(p["id"], p["status"]) for p in payments] == [(pid, "completed")]
    events = api.ok("GET", "/v1/events", query_string={"type": "payment.completed", "limit": 100})["data"]
    assert [e["data"]["id"] for e in events] == [pid]
    assert collecting(db_session, inv["id"]) is None
    replay = api.post(f"/v1/invoices/{inv['id']}/pay", headers={"Idempotency-Key": "pay-after-crash"})
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_json()["payment"] == pid
    assert len(charges.requests) == 1


def test_the_processor_call_of_a_redrive_runs_outside_any_transaction(app: Flask, api: Any, customer: dict,
                                                                      db_session: Any, charges: Charges) -> None:
    """As on the first attempt (module docstring of app.payments.collection): on SQLite an open
    write transaction would lock every other writer out for the whole processor call."""
    pm = save_card(api, customer["id"], "4242424242424242")
    first = open_invoice(api, customer["id"])
    assert api.ok("POST", f"/v1/invoices/{first['id']}/pay")["status"] == "paid"
    inv = open_invoice(api, customer["id"])
    pid = die_after_taking_the_slot(app, db_session, inv["id"], pm["id"])
    age_slot(db_session, pid, STALE_SLOT_SECONDS + 5)
    assert api.ok("POST", f"/v1/invoices/{inv['id']}/pay")["status"] == "paid"
    assert len(charges.requests) == 2
    assert charges.in_transaction == [False, False]


def test_a_stale_declined_attempt_records_its_decline_then_a_new_attempt_pays(
        app: Flask, api: Any, customer: dict, db_session: Any, charges: Charges) -> None:
    bad = save_card(api, customer["id"], "4000000000000002")
    inv = open_invoice(api, customer["id"])
    pid = die_after_taking_the_slot(app, db_session, inv["id"], bad["id"])
    age_slot(db_session, pid, STALE_SLOT_SECONDS + 60)
    good = save_card(api, customer["id"], "5555555555554444")
    # The re-drive finishes the dead attempt on ITS card, whatever this request asks for;
    # declined, it leaves the way free, and this request's own charge goes ahead.
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": good["id"]})
    dead = api.ok("GET", f"/v1/payments/{pid}")
    assert (dead["status"], dead["decline_code"]) == ("failed", "generic_decline")
    assert paid["status"] == "paid" and paid["attempt_count"] == 2 and paid["payment"] != pid
    assert collecting(db_session, inv["id"]) is None
    statuses = sorted(p["status"] for p in api.ok("GET", "/v1/payments", query_string={"invoice": inv["id"]})["data"])
    assert statuses == ["completed", "failed"]
    assert [r.idempotency_key for r in charges.requests] == [f"vinr_{pid}", f"vinr_{paid['payment']}"]


def test_nothing_else_moves_the_invoice_while_its_slot_is_held(app: Flask, api: Any, customer: dict,
                                                             db_session: Any) -> None:
    pm = save_card(api, customer["id"], "4242424242424242")
    inv = open_invoice(api, customer["id"])
    die_after_taking_the_slot(app, db_session, inv["id"], pm["id"])
    for path, body in ((f"/v1/invoices/{inv['id']}/void", None),
                       (f"/v1/invoices/{inv['id']}/mark_uncollectible", None),
                       (f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True})):
        response = api.post(path, body)
        assert response.status_code == 409, (path, response.get_json())
        assert response.get_json()["error"]["code"] == "payment_in_progress"
    # Even once the slot is stale: only a re-drive may settle it, never void it under the charge.
    with app.app_context():
        pid = db_session.scalar(sa.select(Invoice.collecting_payment_id).where(Invoice.id == inv["id"]))
    age_slot(db_session, pid, STALE_SLOT_SECONDS + 5)
    assert api.post(f"/v1/invoices/{inv['id']}/void").status_code == 409
    after = api.ok("GET", f"/v1/invoices/{inv['id']}")
    assert after["status"] == "open" and after["attempt_count"] == 0
    assert after["status_transitions"]["voided_at"] is None


def test_a_late_redrive_does_not_undo_a_newer_attempt(app: Flask, api: Any, customer: dict, db_session: Any) -> None:
    """Two processes re-drive the same stale slot (both read it before either finished).
    The first records the outcome and a new attempt takes the slot; when the second
    finishes it must not record the old attempt again nor free the new attempt's slot,
    or a third collection could charge alongside the new one."""
    bad = save_card(api, customer["id"], "4000000000000002")
    inv = open_invoice(api, customer["id"])
    pid = die_after_taking_the_slot(app, db_session, inv["id"], bad["id"])
    age_slot(db_session, pid, STALE_SLOT_SECONDS + 5)
    with app.app_context():
        # The late process read the stale slot, then charged (the sandbox answers as before).
        late_invoice = db_session.get(Invoice, inv["id"])
        late_payment = db_session.get(Payment, pid)
        pm = db_session.get(PaymentMethod, bad["id"])
        call = flow.charge(money_flow_of(current_app).processor(False), late_payment, pm)
        db_session.commit()
    # Meanwhile the first re-drive recorded the decline (and that /pay's own charge of the
    # same card was declined too) ...
    second = api.ok("POST", f"/v1/invoices/{inv['id']}/pay")["last_payment_error"]["payment"]
    assert api.ok("GET", f"/v1/payments/{pid}")["status"] == "failed" and second != pid
    # ... and a new attempt took the slot and is charging now.
    new_pid = die_after_taking_the_slot(app, db_session, inv["id"], bad["id"])
    with app.app_context():
        consequences = money_flow_of(current_app).consequences
        flow.record(db_session, late_invoice, late_payment, call.result, consequences, call=call)
    assert collecting(db_session, inv["id"]) == new_pid
    after = api.ok("GET", f"/v1/invoices/{inv['id']}")
    assert after["attempt_count"] == 2 and after["payment"] == new_pid
    assert api.post(f"/v1/invoices/{inv['id']}/pay").get_json()["error"]["code"] == "payment_in_progress"
    failed = api.ok("GET", "/v1/events", query_string={"type": "payment.failed", "limit": 100})["data"]
    assert sorted(e["data"]["id"] for e in failed) == sorted([pid, second])
    assert db_session.scalar(sa.select(Payment.status).where(Payment.id == new_pid)) is PaymentStatus.PROCESSING


def sweep_now(session: Any) -> None:
    """The sweep runs once a minute (its key holds the minute); this one runs now."""
    from app.jobs.queue import enqueue
    from app.worker.housekeeping import SWEEP_DEAD_COLLECTION_SLOTS

    enqueue(session, SWEEP_DEAD_COLLECTION_SLOTS, "test")
    session.commit()


def test_the_worker_leaves_a_live_slot_alone(app: Flask, api: Any, customer: dict, db_session: Any,
                                             charges: Charges) -> None:
    from app.worker.runner import Worker

    pm = save_card(api, customer["id"], "4242424242424242")
    inv = open_invoice(api, customer["id"])
    pid = die_after_taking_the_slot(app, db_session, inv["id"], pm["id"])
    sweep_now(db_session)
    Worker(app).run_due()
    assert collecting(db_session, inv["id"]) == pid  # its holder may still be charging
    assert charges.requests == []


def test_the_worker_finishes_a_dead_slot_with_the_same_attempt(
        app: Flask, api: Any, customer: dict, db_session: Any, charges: Charges) -> None:
    from app.worker.runner import Worker

    pm = save_card(api, customer["id"], "4242424242424242")
    inv = open_invoice(api, customer["id"])
    pid = die_after_taking_the_slot(app, db_session, inv["id"], pm["id"])
    age_slot(db_session, pid, STALE_SLOT_SECONDS + 5)
    sweep_now(db_session)
    Worker(app).run_due()
    assert collecting(db_session, inv["id"]) is None
    assert [r.idempotency_key for r in charges.requests] == [f"vinr_{pid}"]  # the same attempt, finished
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["status"] == "paid"
