"""The payment state machine and the record of processor calls (app/payments/states.py)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.payments import states
from app.payments.models import CallKind, CallOutcome, Payment, PaymentStatus, ProcessorCall
from tests.payments.test_pay_api import open_invoice, save_card


def _calls(session: Any, invoice_id: str) -> list[tuple[CallKind, str, CallOutcome]]:
    rows = session.scalars(sa.select(ProcessorCall).where(ProcessorCall.invoice_id == invoice_id)
                           .order_by(ProcessorCall.id))
    return [(row.kind, row.idempotency_key, row.outcome) for row in rows]


def test_every_status_has_its_moves_and_final_ones_have_none() -> None:
    assert set(states.PAYMENT_TRANSITIONS) == set(PaymentStatus)
    for final in (PaymentStatus.COMPLETED, PaymentStatus.FAILED):
        payment = Payment(id="pay_x", status=final)
        for to in PaymentStatus:
            with pytest.raises(states.IllegalPaymentTransition):
                states.move(payment, to)
    waiting = Payment(id="pay_y", status=PaymentStatus.REQUIRES_ACTION)
    with pytest.raises(states.IllegalPaymentTransition):
        states.move(waiting, PaymentStatus.COMPLETED)  # only through its confirmation (processing)
    states.move(waiting, PaymentStatus.PROCESSING)
    assert waiting.status is PaymentStatus.PROCESSING


def test_each_charge_is_a_row_and_attempt_count_is_counted_from_the_payments(
        api: Any, customer: dict, db_session: Any) -> None:
    save_card(api, customer["id"], "4000000000000002")
    inv = open_invoice(api, customer["id"])
    declined = api.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    good = save_card(api, customer["id"], "4242424242424242")
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": good["id"]})
    assert paid["status"] == "paid" and paid["attempt_count"] == 2
    first, second = declined["last_payment_error"]["payment"], paid["payment"]
    assert _calls(db_session, inv["id"]) == [(CallKind.CHARGE, f"vinr_{first}", CallOutcome.DECLINED),
                                            (CallKind.CHARGE, f"vinr_{second}", CallOutcome.SUCCEEDED)]
    assert states.was_charged(db_session, inv["id"])
    assert states.attempt_count(db_session, inv["id"]) == 2
