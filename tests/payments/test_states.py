"""The payment state machine and the record of processor calls (app/payments/states.py)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.automation import consequences
from app.invoices.models import InvoiceStatus
from app.payments import states
from app.payments.models import CallKind, CallOutcome, Payment, PaymentStatus, ProcessorCall
from app.payments.processor import ChargeResult, ChargeStatus
from app.payments.states import OutcomeKind
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


# The outcome table: where a processor's answer moves a payment and its invoice.

_DECLINE = ChargeResult(ChargeStatus.FAILED, failure_code="card_declined", decline_code="generic_decline")
_NO_ANSWER = ChargeResult(ChargeStatus.FAILED, failure_code="processor_unavailable")
_REFUSED_KEY = ChargeResult(ChargeStatus.FAILED, failure_code="processor_authentication_failed")
_CHALLENGE = ChargeResult(ChargeStatus.REQUIRES_ACTION, processor_id="pi_1", action_url="https://bank.example")
_NEEDS_3DS = ChargeResult(ChargeStatus.FAILED, failure_code="authentication_required")


@pytest.mark.parametrize(("result", "off_session", "expected"), [
    (ChargeResult(ChargeStatus.SUCCEEDED), False, (OutcomeKind.PAID, PaymentStatus.COMPLETED, InvoiceStatus.PAID)),
    (ChargeResult(ChargeStatus.SUCCEEDED), True, (OutcomeKind.PAID, PaymentStatus.COMPLETED, InvoiceStatus.PAID)),
    (_CHALLENGE, False, (OutcomeKind.CHALLENGED, PaymentStatus.REQUIRES_ACTION, None)),
    (_CHALLENGE, True, (OutcomeKind.NEEDS_CUSTOMER, PaymentStatus.REQUIRES_ACTION, None)),
    (_NEEDS_3DS, True, (OutcomeKind.NEEDS_CUSTOMER, PaymentStatus.REQUIRES_ACTION, None)),
    (_NO_ANSWER, True, (OutcomeKind.UNKNOWN, PaymentStatus.UNKNOWN, None)),
    (_REFUSED_KEY, True, (OutcomeKind.FAILED, PaymentStatus.FAILED, None)),  # a first send: a refusal
    (_DECLINE, False, (OutcomeKind.FAILED, PaymentStatus.FAILED, None)),
    (ChargeResult(ChargeStatus.FAILED, failure_code="payment_method_missing"), True,
     (OutcomeKind.NO_CARD, PaymentStatus.FAILED, None)),
])
def test_each_answer_has_its_row(result: ChargeResult, off_session: bool,
                                 expected: tuple[OutcomeKind, PaymentStatus, InvoiceStatus | None]) -> None:
    outcome = states.outcome_of(result, off_session=off_session)
    assert (outcome.kind, outcome.payment, outcome.invoice) == expected
    assert outcome.failed == (outcome.kind not in (OutcomeKind.PAID, OutcomeKind.CHALLENGED))


def test_a_3ds_request_without_the_customer_says_why() -> None:
    outcome = states.outcome_of(_CHALLENGE, off_session=True)
    assert outcome.failure_code == "authentication_required"
    assert outcome.failure_message == "This payment needs the customer to authenticate on the invoice page."


def test_every_row_is_a_move_the_payment_transitions_allow() -> None:
    """From an attempt with the processor, and from one asked about again."""
    rows = [*states.OUTCOMES.values(), *states.OFF_SESSION_OUTCOMES.values()]
    assert set(states.OUTCOMES) == set(states.Answer)
    for outcome in rows:
        for before in (PaymentStatus.PROCESSING, PaymentStatus.UNKNOWN):
            assert outcome.payment in states.PAYMENT_TRANSITIONS[before], (outcome, before)


def test_every_kind_of_outcome_has_its_consequences() -> None:
    assert set(consequences._BY_KIND) == set(OutcomeKind)


def test_a_call_row_keeps_only_what_the_answer_says_about_the_charge() -> None:
    assert states.call_outcome(ChargeResult(ChargeStatus.SUCCEEDED)) is CallOutcome.SUCCEEDED
    assert states.call_outcome(_CHALLENGE) is CallOutcome.REQUIRES_ACTION
    assert states.call_outcome(_DECLINE) is CallOutcome.DECLINED
    assert states.call_outcome(_NO_ANSWER) is CallOutcome.NO_ANSWER
    assert states.call_outcome(_REFUSED_KEY) is CallOutcome.NO_ANSWER  # says nothing about the charge
