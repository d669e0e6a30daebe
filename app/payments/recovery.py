"""Before money moves on an invoice: finish or ask again about earlier attempts
(docs/payments.md).

A process that died while holding an invoice's collection slot left an attempt
that may have reached the processor; an attempt the processor gave no clear
answer to (``unknown``) may have charged. Either is sent again exactly as it
was, same request and same key, before anything new is charged for the
invoice, whatever card the next attempt uses. After 23 hours a processor may
have forgotten the key, so a person must decide instead.
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict
from app.invoices.models import Invoice
from app.invoices.serializers import record_event
from app.invoices.states import payment_in_progress
from app.payments import states, steps
from app.payments.models import Payment, PaymentMethod, PaymentStatus
from app.payments.processor import ChargeResult, ChargeStatus, Processor, processor_for
from app.transactions import end_transaction, step

STALE_CLAIM_SECONDS = 120  # a slot held longer than this belongs to a process that died
REASK_SECONDS = 23 * 3600  # within the processor's idempotency-key lifetime (24 h)
PAYMENT_OUTCOME_UNKNOWN = "payment_outcome_unknown"  # last_payment_error code: a person must check the processor


def blocks_new_charge(result: ChargeResult | None) -> bool:
    """Whether an earlier attempt's answer leaves nothing new to charge now: it succeeded,
    or still has no clear answer. A decline lets a new charge go ahead, and so does a 3DS
    request: that charge moves no money unless we confirm it, and we confirm only while
    the invoice is payable."""
    if result is None:
        return False
    return result.status is ChargeStatus.SUCCEEDED or (
        result.status is ChargeStatus.FAILED and (result.failure_code in steps.UNKNOWN_OUTCOME
                                                  or result.failure_code == PAYMENT_OUTCOME_UNKNOWN))


def resume_stale_claim(session: Session, invoice: Invoice, processor: Processor) -> None:
    """Finish the attempt holding the invoice's slot if its process died: same key, same charge.

    Raises Conflict ``payment_in_progress`` while the holder is alive.
    """
    assert invoice.collecting_payment_id is not None
    payment = session.get(Payment, invoice.collecting_payment_id)
    if payment is None or payment.updated > clock.now() - STALE_CLAIM_SECONDS:
        raise payment_in_progress()
    pm = session.get(PaymentMethod, payment.payment_method_id) if payment.payment_method_id else None
    end_transaction(session)  # on SQLite these reads hold the write lock: not across a processor call
    if pm is None or clock.now() - payment.created > REASK_SECONDS:
        result = ChargeResult(status=ChargeStatus.FAILED, failure_code="processor_unavailable",
                              failure_message="This attempt stopped before the processor answered, and it is "
                                              "too old to ask about safely.")
        steps.record(session, invoice, payment, result)
        return
    call = steps.resend(processor, payment, pm)
    steps.record(session, invoice, payment, unclear_is_unknown(call.result, payment), call=call)


def dead_claims(session: Session) -> list[tuple[str, str]]:
    """(invoice id, payment id) of every collection slot held past STALE_CLAIM_SECONDS:
    its process died, and until the attempt is finished the invoice cannot be voided."""
    rows = session.execute(
        sa.select(Invoice.id, Invoice.collecting_payment_id)
        .join(Payment, Payment.id == Invoice.collecting_payment_id)
        .where(Invoice.collecting_payment_id.is_not(None), Payment.updated <= clock.now() - STALE_CLAIM_SECONDS)
    ).all()
    return [(invoice_id, payment_id) for invoice_id, payment_id in rows if payment_id is not None]


def finish_dead_claim(session: Session, invoice_id: str) -> None:
    """The worker's side of ``resume_stale_claim``: finish the attempt of a dead process
    (same key, same charge) and free the invoice. Nothing when the slot is free or its
    holder turns out to be alive."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.collecting_payment_id is None:
        return
    try:
        resume_stale_claim(session, invoice, processor_for(invoice.livemode))
    except Conflict:
        return


def ask_about_unknown(session: Session, invoice: Invoice, processor: Processor) -> ChargeResult | None:
    """Ask the processor again about every attempt of this invoice without a clear answer,
    oldest first, each with its own request and key, and record what it says now.

    Returns the answer that stops anything new (``blocks_new_charge``), else the last
    answer, or None when there was nothing to ask. Raises Conflict ``payment_in_progress``
    when another request is asking already. After a blocking answer ``invoice.payment_id``
    names its attempt.
    """
    answer: ChargeResult | None = None
    for previous in states.unknown_attempts(session, invoice.id) if invoice.attempt_count else []:
        answer = _ask_again(session, invoice, previous, processor)
        if blocks_new_charge(answer):
            return answer
    return answer


def _ask_again(session: Session, invoice: Invoice, previous: Payment, processor: Processor) -> ChargeResult:
    pm = session.get(PaymentMethod, previous.payment_method_id) if previous.payment_method_id else None
    if pm is None or clock.now() - previous.created > REASK_SECONDS:
        return _needs_a_person(session, invoice, previous)
    try:
        steps.claim_again(session, invoice, previous, waiting=PaymentStatus.UNKNOWN)
    except Conflict as error:
        if error.code != "payment_not_pending":
            raise
        # Another request asked about it a moment ago and recorded the answer.
        raise payment_in_progress() from None
    call = steps.resend(processor, previous, pm)
    result = unclear_is_unknown(call.result, previous)
    steps.record(session, invoice, previous, result, call=call)
    return result


def _needs_a_person(session: Session, invoice: Invoice, previous: Payment) -> ChargeResult:
    """A processor keeps idempotency keys for about a day: asking after that would be a new
    charge on the old card, not a question. No attempt is made or counted; the invoice says
    why and what to do (SPEC §3: /pay answers 200 with it), announced once."""
    message = (f"The processor never said whether payment {previous.id} went through, and it can no "
               "longer be asked safely, so nothing new is charged. Check that payment with the "
               "processor, then record the invoice as paid out of band or void it.")
    error = {"code": PAYMENT_OUTCOME_UNKNOWN, "decline_code": None, "message": message, "payment": previous.id}
    with step(session):
        steps.lock_invoice(session, invoice)
        if invoice.last_payment_error != error:
            invoice.last_payment_error = error
            invoice.payment_id = previous.id
            session.flush()
            record_event(session, invoice, "invoice.updated")
    return ChargeResult(status=ChargeStatus.FAILED, failure_code=PAYMENT_OUTCOME_UNKNOWN, failure_message=message)


def unclear_is_unknown(result: ChargeResult, payment: Payment) -> ChargeResult:
    """The answer to re-sending an attempt whose first send may have reached the processor.
    A processor replays its first answer to a key, so a decline or an invalid request is
    about that first send. Not a refusal of our credentials or a rate limit, which the
    resend met and the first may not have: the attempt stays unknown, and is asked about
    again next time. (The HTTP processor already reports the other refusals that say
    nothing, such as a 409, as no answer.)"""
    unclear = result.status is ChargeStatus.FAILED and (
        result.failure_code in steps.UNKNOWN_OUTCOME or result.failure_code in steps.NOT_PROCESSED)
    if not unclear:
        return result
    code = payment.failure_code if payment.failure_code in steps.UNKNOWN_OUTCOME else "processor_unavailable"
    return replace(result, failure_code=code, failure_message=(
        f"The processor has still not said whether payment {payment.id} went through, so nothing new "
        "was charged. Try again later; if it stays unanswered, check the payment with the processor "
        "and record the invoice as paid out of band, or void it."))
