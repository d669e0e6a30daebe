"""The named steps of collecting an invoice (the workflow is app/payments/collection.py).

``claim`` and ``claim_again`` take the invoice's collection slot, ``charge``,
``confirm`` and ``resend`` call the processor outside any transaction, and
``record`` stores the answer. Each step that writes runs in a transaction of
its own (app/transactions.py) and first locks the invoice row where the
database can (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writer holds the
whole database), so it decides on the invoice as it is, not as read before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from app import clock
from app.automation import plans
from app.customers.models import Customer
from app.emails.service import queue_email
from app.errors import Conflict
from app.events.service import record as record_payment_event
from app.ids import new_id
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.serializers import record_event
from app.invoices.states import illegal, payment_in_progress, transition
from app.payments import states
from app.payments.methods import make_default
from app.payments.models import CallKind, CallOutcome, Payment, PaymentMethod, PaymentStatus, ProcessorCall
from app.payments.processor import ChargeRequest, ChargeResult, ChargeStatus, ConfirmRequest, Processor, ProcessorError
from app.payments.serializers import serialize_payment
from app.transactions import retry_on_conflict, step

P = PaymentStatus

# Failures after which we cannot know whether the processor charged the card.
UNKNOWN_OUTCOME = frozenset({"processor_unavailable", "processor_invalid_response"})
# Refusals of a request the processor did not process: about that send only.
NOT_PROCESSED = frozenset({"processor_authentication_failed", "processor_rate_limited"})


@dataclass(frozen=True)
class Call:
    """One processor call as it was sent, and its normalized answer."""

    kind: CallKind
    idempotency_key: str
    result: ChargeResult

    @property
    def outcome(self) -> CallOutcome:
        result = self.result
        if result.status is ChargeStatus.SUCCEEDED:
            return CallOutcome.SUCCEEDED
        if result.status is ChargeStatus.REQUIRES_ACTION:
            return CallOutcome.REQUIRES_ACTION
        if result.failure_code in UNKNOWN_OUTCOME or result.failure_code in NOT_PROCESSED:
            return CallOutcome.NO_ANSWER
        return CallOutcome.DECLINED


def log_call(session: Session, call: Call, *, invoice_id: str | None = None, payment_id: str | None = None,
             payment_method_id: str | None = None) -> None:
    """Append the call's row (inside the step that records its answer)."""
    session.add(ProcessorCall(
        created=clock.now(), kind=call.kind, idempotency_key=call.idempotency_key, invoice_id=invoice_id,
        payment_id=payment_id, payment_method_id=payment_method_id, outcome=call.outcome,
        processor_id=call.result.processor_id, failure_code=call.result.failure_code,
        decline_code=call.result.decline_code))


# Taking the invoice

# FOR UPDATE OF the invoice row only: the invoice may have been loaded with its lines,
# customer and branding (the hosted page), and PostgreSQL locks no outer-joined row.
_LOCK = (sa.select(Invoice).where(Invoice.id == sa.bindparam("invoice_id")).with_for_update(of=Invoice)
         .execution_options(populate_existing=True))


def lock_invoice(session: Session, invoice: Invoice) -> None:
    """Read ``invoice`` anew, locked until the step's transaction ends where the database
    can (PostgreSQL; SQLite's writer holds the whole database)."""
    session.execute(_LOCK, {"invoice_id": invoice.id}).scalar_one()


def claim(session: Session, invoice: Invoice, pm: PaymentMethod, *, off_session: bool,
          set_default_on_success: bool = False, return_url: Callable[[str], str] | None = None,
          automatic: bool = False) -> Payment:
    """Record a new ``processing`` payment and take the invoice's collection slot; commits.

    Raises Conflict ``payment_in_progress`` when another collection holds the
    slot, made an attempt since the caller read the invoice, or left an
    attempt without an answer (recovery must ask about it first), and the
    status Conflict when the invoice is no longer payable.
    """
    seen_attempt = invoice.payment_id
    with step(session):
        lock_invoice(session, invoice)
        if invoice.collecting_payment_id is not None or invoice.payment_id != seen_attempt:
            raise payment_in_progress()
        if invoice.attempt_count and (states.unknown_attempts(session, invoice.id)
                                      or states.was_charged(session, invoice.id)):
            raise payment_in_progress()
        if not invoice.is_payable:
            raise illegal(invoice, "pay")
        now = clock.now()
        payment = Payment(id=new_id("pay"), account_id=invoice.account_id, livemode=invoice.livemode, created=now,
                          updated=now, invoice_id=invoice.id, customer_id=invoice.customer_id,
                          payment_method_id=pm.id, amount=invoice.amount_remaining, currency=invoice.currency,
                          status=P.PROCESSING, off_session=off_session, processor=pm.processor,
                          card_brand=pm.brand, card_last4=pm.last4, set_default_on_success=set_default_on_success,
                          automatic=automatic)
        if return_url is not None:
            payment.return_url = return_url(payment.id)
        session.add(payment)
        invoice.collecting_payment_id = payment.id
        invoice.payment_id = payment.id  # the attempt the invoice is about now (SPEC: invoice.payment)
        session.flush()
    return payment


def claim_again(session: Session, invoice: Invoice, payment: Payment, *, waiting: PaymentStatus) -> None:
    """Make ``payment`` (one the processor has seen, now ``waiting``) the invoice's
    collection again, to ask about it or confirm it; commits.

    Raises Conflict ``payment_in_progress`` when another collection holds the invoice,
    ``payment_not_pending`` when the payment no longer waits (another request recorded
    its answer since we read it), and the status Conflict when the invoice is no longer
    payable.
    """
    with step(session):
        lock_invoice(session, invoice)
        session.refresh(payment)
        if invoice.collecting_payment_id is not None:
            raise payment_in_progress()
        if not invoice.is_payable:
            raise illegal(invoice, "pay")
        if payment.status is not waiting:
            raise Conflict("This payment no longer waits for an answer.", code="payment_not_pending")
        if waiting is not P.UNKNOWN and any(other.id != payment.id
                                            for other in states.unknown_attempts(session, invoice.id)):
            # A confirmation, and another attempt got no answer since the caller asked about
            # them: that one comes first. (Asking about one unanswered attempt is never held
            # up by another: recovery asks about each in turn.)
            raise payment_in_progress()
        invoice.collecting_payment_id = payment.id
        invoice.payment_id = payment.id
        if waiting is P.REQUIRES_ACTION:
            states.move(payment, P.PROCESSING)  # its confirmation goes out now
        # The slot is live from now: the attempt's age must not make it look stale
        # (recovery.resume_stale_claim) while the processor is being asked.
        payment.updated = clock.now()
        session.flush()


def record_no_card(session: Session, invoice: Invoice) -> None:
    """A planned dunning try found no card to charge off-session: it counts as a failed
    attempt of its own (nothing reaches a processor), so the schedule goes on and ends as
    it would, and the customer is emailed the hosted link to pay or add a card; commits."""
    with step(session):
        lock_invoice(session, invoice)
        if invoice.collecting_payment_id is not None or not invoice.is_payable:
            return
        now = clock.now()
        payment = Payment(id=new_id("pay"), account_id=invoice.account_id, livemode=invoice.livemode, created=now,
                          updated=now, invoice_id=invoice.id, customer_id=invoice.customer_id, payment_method_id=None,
                          amount=invoice.amount_remaining, currency=invoice.currency, status=P.PROCESSING,
                          off_session=True, processor="none", automatic=True)
        session.add(payment)
        invoice.collecting_payment_id = invoice.payment_id = payment.id
        session.flush()
        _apply(session, invoice, payment, ChargeResult(
            status=ChargeStatus.FAILED, failure_code="payment_method_missing",
            failure_message="The customer has no card that can be charged; they can pay on the invoice page."))
        if invoice.status is InvoiceStatus.OPEN:  # not when that was the schedule's last try
            queue_email(session, "payment_action_required", invoice)


# Calling the processor (outside any transaction; never raises for the processor's sake)


def charge(processor: Processor, payment: Payment, pm: PaymentMethod) -> Call:
    request = ChargeRequest(amount=payment.amount, currency=payment.currency, processor_ref=pm.processor_ref,
                            idempotency_key=payment.processor_key, off_session=payment.off_session,
                            return_url=payment.return_url, description=f"Invoice {payment.invoice_id}")
    return Call(CallKind.CHARGE, request.idempotency_key, _guarded(lambda: processor.charge(request), payment))


def confirm(processor: Processor, payment: Payment, *, passed: bool | None = None) -> Call:
    """A 3DS confirmation, once the customer answered, with a key of its own, so asking
    again (after a process died) is the same confirmation. ``passed``: the sandbox
    challenge's answer."""
    assert payment.processor_id is not None
    request = ConfirmRequest(payment.processor_id, f"{payment.processor_key}_confirm", challenge_passed=passed)
    return Call(CallKind.CONFIRM, request.idempotency_key, _guarded(lambda: processor.confirm(request), payment))


def resend(processor: Processor, payment: Payment, pm: PaymentMethod) -> Call:
    """Send an attempt's processor call again, as it was: same request, same key."""
    # A payment the processor already knows (it has an id) was waiting on the customer's
    # 3DS answer: what was sent is the confirmation. (The stateless sandbox, not told the
    # answer again, fails it; a real processor answers with the confirmation it made.)
    return confirm(processor, payment) if payment.processor_id is not None else charge(processor, payment, pm)


def _guarded(call: Callable[[], ChargeResult], payment: Payment) -> ChargeResult:
    """An unreachable or confused processor is a failed outcome: never a 500, never a
    payment left processing."""
    try:
        return call()
    except ProcessorError as error:
        current_app.logger.warning("processor error for payment %s: %s", payment.id, error.code)
        return ChargeResult(status=ChargeStatus.FAILED, failure_code=error.code,
                            failure_message="The payment processor could not be reached or gave no clear answer. "
                                            "Trying again is safe: the same charge is never made twice.",
                            retryable=True)


# Recording the answer


@retry_on_conflict
def record(session: Session, invoice: Invoice, payment: Payment, result: ChargeResult, *,
           call: Call | None = None) -> None:
    """Store the answer ``result`` for ``payment`` (and ``call``'s row), move the payment
    and the invoice, write the events; commits.

    Applies nothing when this attempt no longer holds the invoice's slot: two processes
    can resend one stale claim, and the first to record it may already have freed the
    slot for a new attempt. Recording again would free that attempt's slot and let a
    third collection charge beside it; same key, same charge, so the outcome on record
    stands. The charge has happened by now, so a concurrent change to the invoice must
    not lose it: the step runs again on the invoice as it is.
    """
    with step(session):
        lock_invoice(session, invoice)
        session.refresh(payment)
        if call is not None:
            log_call(session, call, invoice_id=invoice.id, payment_id=payment.id)
        if invoice.collecting_payment_id == payment.id:
            _apply(session, invoice, payment, result)


def _apply(session: Session, invoice: Invoice, payment: Payment, result: ChargeResult) -> None:
    # Asked again about an attempt that had no clear answer (recovery): announced as
    # failed before, so a failure that stays unknown is no news.
    reasked = payment.status is P.UNKNOWN
    payment.updated = clock.now()
    # A confirmation that got no answer has no id of its own: keep the one the processor gave.
    payment.processor_id = result.processor_id or payment.processor_id
    invoice.collecting_payment_id = None
    if reasked and result.status is not ChargeStatus.FAILED:
        payment.failure_code = payment.decline_code = payment.failure_message = None
        if invoice.last_payment_error is not None and invoice.last_payment_error.get("payment") == payment.id:
            invoice.last_payment_error = None
    if result.status is ChargeStatus.SUCCEEDED:
        states.move(payment, P.COMPLETED)
        invoice.amount_paid += payment.amount
        invoice.last_payment_error = None
        invoice.next_payment_attempt = None
        invoice.attempt_count = states.attempt_count(session, invoice.id)
        transition(session, invoice, InvoiceStatus.PAID)
        record_payment_event(session, payment.account_id, payment.livemode, "payment.completed",
                             serialize_payment(payment))
        record_event(session, invoice, "invoice.payment_succeeded")
        record_event(session, invoice, "invoice.paid")
        queue_email(session, "receipt", invoice, payment_id=payment.id)
        if payment.set_default_on_success and payment.payment_method_id is not None:
            # Read anew: a customer deleted meanwhile keeps no card.
            customer = session.get_one(Customer, invoice.customer_id, populate_existing=True)
            make_default(session, customer, session.get_one(PaymentMethod, payment.payment_method_id))
        return
    if result.status is ChargeStatus.REQUIRES_ACTION and not payment.off_session:
        # The customer is here and will authenticate: not a failed attempt, not counted until answered.
        states.move(payment, P.REQUIRES_ACTION)
        payment.action_url = result.action_url
        invoice.attempt_count = states.attempt_count(session, invoice.id)
        session.flush()
        record_event(session, invoice, "invoice.payment_action_required")
        return
    needs_customer = result.status is ChargeStatus.REQUIRES_ACTION or result.failure_code == "authentication_required"
    unknown = not needs_customer and result.failure_code in UNKNOWN_OUTCOME
    states.move(payment, P.REQUIRES_ACTION if needs_customer else P.UNKNOWN if unknown else P.FAILED)
    payment.action_url = result.action_url
    payment.failure_code = result.failure_code or ("authentication_required" if needs_customer else None)
    payment.decline_code = result.decline_code
    payment.failure_message = result.failure_message or (
        "This payment needs the customer to authenticate on the invoice page." if needs_customer else None)
    invoice.last_payment_error = {"code": payment.failure_code, "decline_code": payment.decline_code,
                                  "message": payment.failure_message, "payment": payment.id}
    invoice.attempt_count = states.attempt_count(session, invoice.id)
    # VINR's own attempt: plan what follows before the events, which show it
    # (next_payment_attempt). An unclear answer is asked about again first; once it is
    # clear (asked again), it is a failed try like any other.
    after = None
    if payment.automatic and unknown and not reasked:
        plans.plan_reask(session, invoice, payment)
    elif payment.automatic and not unknown:
        after = plans.plan_after_failure(session, invoice, payment, needs_customer=needs_customer)
    session.flush()
    # What is news after asking again: that it waits for the customer, or that its failure
    # is now clear; not that it is still unknown.
    if needs_customer:
        record_event(session, invoice, "invoice.payment_action_required")
        if not reasked:
            record_event(session, invoice, "invoice.payment_failed")
    elif not (reasked and unknown):
        record_payment_event(session, payment.account_id, payment.livemode, "payment.failed",
                             serialize_payment(payment))
        record_event(session, invoice, "invoice.payment_failed")
    if after is not None and after.exhausted:
        plans.give_up(session, invoice)
