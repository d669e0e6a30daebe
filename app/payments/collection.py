"""Collecting an invoice: the one workflow that moves money (SPEC §3 pay, §6, §7;
docs/payments.md). Used by ``/pay``, by finalizing a ``charge_automatically``
invoice, by the hosted page (on- and off-session) and by dunning.

A processor call never runs inside a database transaction (it would hold locks
for seconds, and a rollback cannot take a charge back), so a collection is a
sequence of named steps (app/payments/steps.py), each committed on its own:

1. settle earlier attempts (app/payments/recovery.py): finish one whose process
   died holding the invoice, ask again about every one without a clear answer;
2. claim: under a lock on the invoice, record a ``processing`` payment and take
   the invoice's collection slot; a second collector gets a 409;
3. call the processor, outside any transaction, with an idempotency key derived
   from the payment, so any retry of this attempt is the same charge;
4. record: append the call's row, move the payment and the invoice, write the events.

A partial unique index (one completed payment per invoice) backs this up in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import NotFound
from app.invoices.models import Invoice
from app.payments import recovery, steps
from app.payments.models import Payment, PaymentMethod, PaymentStatus
from app.payments.processor import ChargeResult, ChargeStatus, Processor, processor_for


@dataclass(frozen=True)
class Collected:
    """What a collection came to: the processor's answer, and the payment it is about."""

    result: ChargeResult
    payment_id: str | None


def collect(session: Session, invoice: Invoice, pm: PaymentMethod, *, off_session: bool,
            set_default_on_success: bool = False, return_url: Callable[[str], str] | None = None,
            automatic: bool = False) -> Collected:
    """Charge ``pm`` what the invoice still owes. Commits (see the module docstring).

    Declines are outcomes, not errors. Raises Conflict ``payment_in_progress`` when
    another collection holds the invoice, the status Conflict when it is not payable,
    and ServiceUnavailable when live mode has no processor. ``return_url(payment_id)``
    is where an on-session 3DS challenge sends the customer back. ``automatic``: an attempt
    VINR makes by itself (finalizing, dunning), whose failure plans the next try.
    """
    processor = processor_for(invoice.livemode)
    earlier = _settle_earlier_attempts(session, invoice, processor)
    if earlier is not None:
        return earlier
    payment = steps.claim(session, invoice, pm, off_session=off_session,
                          set_default_on_success=set_default_on_success, return_url=return_url,
                          automatic=automatic)
    call = steps.charge(processor, payment, pm)
    steps.record(session, invoice, payment, call.result, call=call)
    return Collected(call.result, payment.id)


def confirm_authentication(session: Session, invoice: Invoice, payment_id: str, *,
                           passed: bool | None) -> Collected:
    """The customer answered a payment's 3DS challenge: confirm it with the processor. Commits.

    Takes the invoice's slot again first, so two tabs answering at once confirm once.
    ``passed`` is the sandbox challenge's answer; a live processor knows it. Raises
    Conflict ``payment_not_pending`` when the payment no longer waits for it.
    """
    processor = processor_for(invoice.livemode)
    # Confirming moves money, like a new charge: not beside another attempt that may have
    # charged already (a merchant's /pay that got no answer, say).
    earlier = _settle_earlier_attempts(session, invoice, processor)
    if earlier is not None:
        return earlier
    payment = session.get(Payment, payment_id)
    if payment is None or payment.invoice_id != invoice.id:
        raise NotFound("No such payment.")
    steps.claim_again(session, invoice, payment, waiting=PaymentStatus.REQUIRES_ACTION)
    call = steps.confirm(processor, payment, passed=passed)
    steps.record(session, invoice, payment, call.result, call=call)
    return Collected(call.result, payment.id)  # a bank may ask again: back to the challenge


def _settle_earlier_attempts(session: Session, invoice: Invoice, processor: Processor) -> Collected | None:
    """What stops a new movement of money on the invoice, or None to go ahead."""
    if invoice.collecting_payment_id is not None:
        recovery.resume_stale_claim(session, invoice, processor)  # 409 while its holder is alive
        if not invoice.is_payable:
            return Collected(ChargeResult(status=ChargeStatus.SUCCEEDED), invoice.payment_id)
    answer = recovery.ask_about_unknown(session, invoice, processor)
    if recovery.blocks_new_charge(answer):
        assert answer is not None
        return Collected(answer, invoice.payment_id)
    return None
