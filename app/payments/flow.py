"""The money flow: every step that moves money or talks to the card processor (SPEC §3 pay,
§6, §7; docs/payments.md). Used by ``/pay``, by finalizing a ``charge_automatically``
invoice, by the hosted page (on- and off-session, card updates) and by dunning.

A processor call never runs inside a database transaction (it would hold locks for
seconds, and a rollback cannot take a charge back), so collecting an invoice is a
sequence of named steps, each committed on its own:

1. settle (``settle``): finish an attempt whose process died holding the invoice's
   collection slot, and ask again about every attempt without a clear answer;
2. take the collection slot (``take_slot``): under a lock on the invoice, record a
   ``processing`` payment; a second collector gets a 409;
3. call the processor (``charge``, ``confirm``, ``resend``), outside any transaction, with
   an idempotency key derived from the payment, so any retry of this attempt is the same
   charge;
4. record the call (``record``): its ``ProcessorCall`` row, errors included;
5. apply the outcome (``apply_outcome``): the row of ``OUTCOMES`` (app/payments/states.py)
   for the answer moves the payment and the invoice; then, in the same step, the
   consequences (events, emails, dunning, the default card) are handed what was recorded.

Saving a card has the same shape without the slot: tokenize (``save_card``), then set the
card up for use without the customer, with 3DS when the bank asks (``set_up_card``,
``confirm_set_up``). Each is a step of its own, and each call is a row.

Refunding a payment (SPEC §11) is three named steps:

a. claim (``claim_refund``), in the caller's transaction (the API request, or the credit
   note that owns the refund): under a lock on the payment, a ``pending`` refund of at most
   what is left of it; flushes, never commits;
b. send (``execute_refund`` → ``send_refund``), once the claim is committed, outside any
   transaction, with the refund's idempotency key (``vinr_re_…``);
c. record (``record_refund``): its ``ProcessorCall`` row, and the row of
   ``REFUND_OUTCOMES`` (app/payments/states.py) applied, then handed to the consequences.

A refund without a clear answer stays ``pending`` (its amount still counts against the
payment) and is sent again exactly as it was by the worker (``stale_refunds``,
``reask_refund``) until it has one.

Each step that writes first locks the invoice row where the database can
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writer holds the whole database), so it
decides on the invoice as it is, not as read before. A partial unique index (one completed
payment per invoice) backs this up in the database.

The flow imports nothing above it: the boundary that calls it hands it a ``MoneyFlow``
(built by the app factory) with the processors and the consequences handler
(app/automation/consequences.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, lazyload

from app import clock
from app.accounts.service import Caller
from app.customers.models import Customer
from app.errors import CardError, Conflict, InvalidRequest, NotFound
from app.ids import new_id
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.states import illegal, payment_in_progress, transition
from app.payments import states
from app.payments.models import (
    CallKind,
    CallOutcome,
    Payment,
    PaymentMethod,
    PaymentStatus,
    ProcessorCall,
    Refund,
    RefundStatus,
)
from app.payments.processor import (
    CardDetails,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    ConfirmRequest,
    Processor,
    ProcessorError,
    Processors,
    RefundRequest,
    RefundResult,
    RefundResultStatus,
    SetupRequest,
)
from app.payments.settlement import apply_payment
from app.payments.states import Outcome, RefundOutcome
from app.transactions import commit_transaction, reading, retry_on_conflict, step

log = logging.getLogger(__name__)

STALE_SLOT_SECONDS = 120  # a collection slot held longer than this belongs to a process that died
REASK_SECONDS = 23 * 3600  # within the processor's idempotency-key lifetime (24 h)
STALE_REFUND_SECONDS = 120  # a pending refund not sent for this long is sent again (its answer was lost)


# What the flow is given


@dataclass(frozen=True)
class Recorded:
    """An outcome the flow applied, as the consequences receive it (in the same step)."""

    invoice: Invoice
    payment: Payment
    outcome: Outcome
    # The payment had no clear answer before and was asked about again: it was announced
    # as failed then, so a failure that stays unknown is no news.
    reasked: bool
    # The payment brought the invoice to ``paid`` (``invoice.paid`` fires once: a transfer
    # may have paid it while this charge was in flight, SPEC §12).
    settled: bool = False


@dataclass(frozen=True)
class RefundRecorded:
    """A refund outcome the flow applied, as the consequences receive it (in the same step)."""

    refund: Refund
    payment: Payment
    outcome: RefundOutcome


class Consequences(Protocol):
    """What follows what the flow records (app/automation/consequences.py): events, emails,
    dunning. Called inside the step that recorded it, so they commit together."""

    def payment_recorded(self, session: Session, recorded: Recorded) -> None: ...

    def refund_claimed(self, session: Session, refund: Refund) -> None:
        """A refund was claimed (in the caller's transaction): ``refund.created``."""
        ...

    def refund_recorded(self, session: Session, recorded: RefundRecorded) -> None: ...

    def default_card_changed(self, session: Session, customer: Customer) -> None: ...

    def person_must_decide(self, session: Session, invoice: Invoice) -> None:
        """An attempt can no longer be asked about safely (``last_payment_error`` says so)."""
        ...


@dataclass(frozen=True)
class MoneyFlow:
    """The processors and the consequences handler, built once per app by its factory and
    handed to the flow by the boundary that calls it."""

    processors: Processors
    consequences: Consequences

    def processor(self, livemode: bool) -> Processor:
        """Raises ServiceUnavailable(processor_not_configured) for live mode without one."""
        return self.processors.for_mode(livemode)


MONEY_FLOW_EXTENSION = "vinr.money_flow"  # where the app factory installs the app's MoneyFlow


def money_flow_of(app: Flask) -> MoneyFlow:
    """The money flow the app factory installed on ``app``: what a boundary hands this module."""
    found: MoneyFlow = app.extensions[MONEY_FLOW_EXTENSION]
    return found


@dataclass(frozen=True)
class Collected:
    """What a collection came to: the processor's answer, and the payment it is about."""

    result: ChargeResult
    payment_id: str | None


@dataclass(frozen=True)
class Call:
    """One processor call as it was sent, and its normalized answer."""

    kind: CallKind
    idempotency_key: str
    result: ChargeResult
    error: ProcessorError | None = None  # no usable answer: ``result`` is the failure it stands for

    @property
    def outcome(self) -> CallOutcome:
        return states.call_outcome(self.result)


# Collecting an invoice


def collect(session: Session, invoice: Invoice, money: MoneyFlow, pm: PaymentMethod, *, off_session: bool,
            set_default_on_success: bool = False, return_url: Callable[[str], str] | None = None,
            automatic: bool = False) -> Collected:
    """Charge ``pm`` what the invoice still owes: settle, take the slot, charge, record. Commits.

    Declines are outcomes, not errors. Raises Conflict ``payment_in_progress`` when
    another collection holds the invoice, the status Conflict when it is not payable,
    and ServiceUnavailable when live mode has no processor. ``return_url(payment_id)``
    is where an on-session 3DS challenge sends the customer back. ``automatic``: an attempt
    VINR makes by itself (finalizing, dunning), whose failure plans the next try.
    """
    processor = money.processor(invoice.livemode)
    earlier = settle(session, invoice, money)
    if earlier is not None:
        return earlier
    payment = take_slot(session, invoice, pm, off_session=off_session,
                        set_default_on_success=set_default_on_success, return_url=return_url, automatic=automatic)
    call = charge(processor, payment, pm)
    record(session, invoice, payment, call.result, money.consequences, call=call)
    return Collected(call.result, payment.id)


def confirm_authentication(session: Session, invoice: Invoice, money: MoneyFlow, payment_id: str, *,
                           passed: bool | None) -> Collected:
    """The customer answered a payment's 3DS challenge: confirm it with the processor. Commits.

    Takes the invoice's slot again first, so two tabs answering at once confirm once.
    ``passed`` is the sandbox challenge's answer; a live processor knows it. Raises
    Conflict ``payment_not_pending`` when the payment no longer waits for it.
    """
    processor = money.processor(invoice.livemode)
    # Confirming moves money, like a new charge: not beside another attempt that may have
    # charged already (a merchant's /pay that got no answer, say).
    earlier = settle(session, invoice, money)
    if earlier is not None:
        return earlier
    payment = session.get(Payment, payment_id)
    if payment is None or payment.invoice_id != invoice.id:
        raise NotFound("No such payment.")
    take_slot_again(session, invoice, payment, waiting=PaymentStatus.REQUIRES_ACTION)
    call = confirm(processor, payment, passed=passed)
    record(session, invoice, payment, call.result, money.consequences, call=call)
    return Collected(call.result, payment.id)  # a bank may ask again: back to the challenge


def record_no_card(session: Session, invoice: Invoice, money: MoneyFlow) -> None:
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
                          amount=invoice.amount_remaining, currency=invoice.currency,
                          status=PaymentStatus.PROCESSING, off_session=True, processor="none", automatic=True)
        session.add(payment)
        invoice.collecting_payment_id = invoice.payment_id = payment.id
        session.flush()
        money.consequences.payment_recorded(session, apply_outcome(session, invoice, payment, ChargeResult(
            status=ChargeStatus.FAILED, failure_code=states.NO_CARD,
            failure_message="The customer has no card that can be charged; they can pay on the invoice page.")))


# Step 1: settle earlier attempts (docs/payments.md)
#
# A process that died while holding an invoice's collection slot left an attempt that
# may have reached the processor; an attempt the processor gave no clear answer to
# (``unknown``) may have charged. Either is sent again exactly as it was, same request and
# same key, before anything new is charged for the invoice, whatever card the next attempt
# uses. After 23 hours a processor may have forgotten the key, so a person must decide.


def settle(session: Session, invoice: Invoice, money: MoneyFlow) -> Collected | None:
    """What stops a new movement of money on the invoice, or None to go ahead."""
    if invoice.collecting_payment_id is not None:
        finish_stale_slot(session, invoice, money)  # 409 while its holder is alive
        if not invoice.is_payable:
            return Collected(ChargeResult(status=ChargeStatus.SUCCEEDED), invoice.payment_id)
    answer = ask_about_unknown(session, invoice, money)
    if states.blocks_new_charge(answer):
        assert answer is not None
        return Collected(answer, invoice.payment_id)
    return None


def finish_stale_slot(session: Session, invoice: Invoice, money: MoneyFlow) -> None:
    """Finish the attempt holding the invoice's collection slot if its process died: same
    key, same charge.

    Raises Conflict ``payment_in_progress`` while the holder is alive.
    """
    assert invoice.collecting_payment_id is not None
    payment = session.get(Payment, invoice.collecting_payment_id)
    if payment is None or payment.updated > clock.now() - STALE_SLOT_SECONDS:
        raise payment_in_progress()
    pm = session.get(PaymentMethod, payment.payment_method_id) if payment.payment_method_id else None
    commit_transaction(session)  # on SQLite these reads hold the write lock: not across a processor call
    if pm is None or clock.now() - payment.created > REASK_SECONDS:
        result = ChargeResult(status=ChargeStatus.FAILED, failure_code="processor_unavailable",
                              failure_message="This attempt stopped before the processor answered, and it is "
                                              "too old to ask about safely.")
        record(session, invoice, payment, result, money.consequences)
        return
    call = resend(money.processor(invoice.livemode), payment, pm)
    record(session, invoice, payment, states.unclear_is_unknown(call.result, payment), money.consequences, call=call)


def dead_slots(session: Session) -> list[tuple[str, str]]:
    """(invoice id, payment id) of every collection slot held past STALE_SLOT_SECONDS:
    its process died, and until the attempt is finished the invoice cannot be voided."""
    rows = session.execute(
        sa.select(Invoice.id, Invoice.collecting_payment_id)
        .join(Payment, Payment.id == Invoice.collecting_payment_id)
        .where(Invoice.collecting_payment_id.is_not(None), Payment.updated <= clock.now() - STALE_SLOT_SECONDS)
    ).all()
    return [(invoice_id, payment_id) for invoice_id, payment_id in rows if payment_id is not None]


def finish_dead_slot(session: Session, invoice_id: str, money: MoneyFlow) -> None:
    """The worker's side of ``finish_stale_slot``: finish the attempt of a dead process
    (same key, same charge) and free the invoice. Nothing when the slot is free or its
    holder turns out to be alive."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.collecting_payment_id is None:
        return
    try:
        finish_stale_slot(session, invoice, money)
    except Conflict:
        return


def ask_about_unknown(session: Session, invoice: Invoice, money: MoneyFlow) -> ChargeResult | None:
    """Ask the processor again about every attempt of this invoice without a clear answer,
    oldest first, each with its own request and key, and record what it says now.

    Returns the answer that stops anything new (``states.blocks_new_charge``), else the last
    answer, or None when there was nothing to ask. Raises Conflict ``payment_in_progress``
    when another request is asking already. After a blocking answer ``invoice.payment_id``
    names its attempt.
    """
    answer: ChargeResult | None = None
    for previous in states.unknown_attempts(session, invoice.id) if invoice.attempt_count else []:
        answer = _ask_again(session, invoice, previous, money)
        if states.blocks_new_charge(answer):
            return answer
    return answer


def _ask_again(session: Session, invoice: Invoice, previous: Payment, money: MoneyFlow) -> ChargeResult:
    pm = session.get(PaymentMethod, previous.payment_method_id) if previous.payment_method_id else None
    if pm is None or clock.now() - previous.created > REASK_SECONDS:
        return _needs_a_person(session, invoice, previous, money)
    try:
        take_slot_again(session, invoice, previous, waiting=PaymentStatus.UNKNOWN)
    except Conflict as error:
        if error.code != "payment_not_pending":
            raise
        # Another request asked about it a moment ago and recorded the answer.
        raise payment_in_progress() from None
    call = resend(money.processor(invoice.livemode), previous, pm)
    result = states.unclear_is_unknown(call.result, previous)
    record(session, invoice, previous, result, money.consequences, call=call)
    return result


def _needs_a_person(session: Session, invoice: Invoice, previous: Payment, money: MoneyFlow) -> ChargeResult:
    """A processor keeps idempotency keys for about a day: asking after that would be a new
    charge on the old card, not a question. No attempt is made or counted; the invoice says
    why and what to do (SPEC §3: /pay answers 200 with it), announced once."""
    message = (f"The processor never said whether payment {previous.id} went through, and it can no "
               "longer be asked safely, so nothing new is charged. Check that payment with the "
               "processor, then record the invoice as paid out of band or void it.")
    error = {"code": states.PAYMENT_OUTCOME_UNKNOWN, "decline_code": None, "message": message,
             "payment": previous.id}
    with step(session):
        lock_invoice(session, invoice)
        if invoice.last_payment_error != error:
            invoice.last_payment_error = error
            invoice.payment_id = previous.id
            session.flush()
            money.consequences.person_must_decide(session, invoice)
    return ChargeResult(status=ChargeStatus.FAILED, failure_code=states.PAYMENT_OUTCOME_UNKNOWN,
                        failure_message=message)


# Step 2: take the invoice's collection slot

# FOR UPDATE OF the invoice row only: the invoice may have been loaded with its lines,
# customer and branding (the hosted page), and PostgreSQL locks no outer-joined row.
# Its lines are not read again: no step of the money flow reads them (they are fixed
# once the invoice is issued), and their selectin load is a statement per step.
_LOCK = (sa.select(Invoice).where(Invoice.id == sa.bindparam("invoice_id")).with_for_update(of=Invoice)
         .options(lazyload(Invoice.lines)).execution_options(populate_existing=True))


def lock_invoice(session: Session, invoice: Invoice) -> None:
    """Read ``invoice`` anew, locked until the step's transaction ends where the database
    can (PostgreSQL; SQLite's writer holds the whole database)."""
    session.execute(_LOCK, {"invoice_id": invoice.id}).scalar_one()


def take_slot(session: Session, invoice: Invoice, pm: PaymentMethod, *, off_session: bool,
              set_default_on_success: bool = False, return_url: Callable[[str], str] | None = None,
              automatic: bool = False) -> Payment:
    """Record a new ``processing`` payment and take the invoice's collection slot; commits.

    Raises Conflict ``payment_in_progress`` when another collection holds the
    slot, made an attempt since the caller read the invoice, or left an
    attempt without an answer (``settle`` must ask about it first), and the
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
                          status=PaymentStatus.PROCESSING, off_session=off_session, processor=pm.processor,
                          card_brand=pm.brand, card_last4=pm.last4, set_default_on_success=set_default_on_success,
                          automatic=automatic)
        if return_url is not None:
            payment.return_url = return_url(payment.id)
        session.add(payment)
        invoice.collecting_payment_id = payment.id
        invoice.payment_id = payment.id  # the attempt the invoice is about now (SPEC: invoice.payment)
        session.flush()
    return payment


def take_slot_again(session: Session, invoice: Invoice, payment: Payment, *, waiting: PaymentStatus) -> None:
    """Make ``payment`` (one the processor has seen, now ``waiting``) hold the invoice's
    collection slot again, to ask about it or confirm it; commits.

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
        if waiting is not PaymentStatus.UNKNOWN and any(other.id != payment.id
                                                        for other in states.unknown_attempts(session, invoice.id)):
            # A confirmation, and another attempt got no answer since the caller asked about
            # them: that one comes first. (Asking about one unanswered attempt is never held
            # up by another: ``ask_about_unknown`` asks about each in turn.)
            raise payment_in_progress()
        invoice.collecting_payment_id = payment.id
        invoice.payment_id = payment.id
        if waiting is PaymentStatus.REQUIRES_ACTION:
            states.move(payment, PaymentStatus.PROCESSING)  # its confirmation goes out now
        # The slot is live from now: the attempt's age must not make it look stale
        # (``finish_stale_slot``) while the processor is being asked.
        payment.updated = clock.now()
        session.flush()


# Step 3: call the processor (outside any transaction; never raises for the processor's sake)

UNREACHABLE = ("The payment processor could not be reached or gave no clear answer. "
               "Trying again is safe: the same charge is never made twice.")


def charge(processor: Processor, payment: Payment, pm: PaymentMethod) -> Call:
    request = ChargeRequest(amount=payment.amount, currency=payment.currency, processor_ref=pm.processor_ref,
                            idempotency_key=payment.processor_key, off_session=payment.off_session,
                            return_url=payment.return_url, description=f"Invoice {payment.invoice_id}")
    return _send(CallKind.CHARGE, request.idempotency_key, lambda: processor.charge(request), f"payment {payment.id}")


def confirm(processor: Processor, payment: Payment, *, passed: bool | None = None) -> Call:
    """A 3DS confirmation, once the customer answered, with a key of its own, so asking
    again (after a process died) is the same confirmation. ``passed``: the sandbox
    challenge's answer."""
    assert payment.processor_id is not None
    request = ConfirmRequest(payment.processor_id, f"{payment.processor_key}_confirm", challenge_passed=passed)
    return _send(CallKind.CONFIRM, request.idempotency_key, lambda: processor.confirm(request),
                 f"payment {payment.id}")


def resend(processor: Processor, payment: Payment, pm: PaymentMethod) -> Call:
    """Send an attempt's processor call again, as it was: same request, same key."""
    # A payment the processor already knows (it has an id) was waiting on the customer's
    # 3DS answer: what was sent is the confirmation. (The stateless sandbox, not told the
    # answer again, fails it; a real processor answers with the confirmation it made.)
    return confirm(processor, payment) if payment.processor_id is not None else charge(processor, payment, pm)


def _send(kind: CallKind, key: str, send: Callable[[], ChargeResult], about: str) -> Call:
    """An unreachable or confused processor is a failed outcome: never a 500, never a
    payment left processing, and still a row."""
    try:
        return Call(kind, key, send())
    except ProcessorError as error:
        log.warning("processor error for %s: %s", about, error.code)
        return Call(kind, key, ChargeResult(status=ChargeStatus.FAILED, failure_code=error.code,
                                            failure_message=UNREACHABLE, retryable=True), error=error)


# Steps 4 and 5: record the call, apply the outcome


def _log_call(session: Session, call: Call, *, invoice_id: str | None = None, payment_id: str | None = None,
              payment_method_id: str | None = None) -> None:
    """Append the call's row (inside the step that records its answer)."""
    session.add(ProcessorCall(
        created=clock.now(), kind=call.kind, idempotency_key=call.idempotency_key, invoice_id=invoice_id,
        payment_id=payment_id, payment_method_id=payment_method_id, outcome=call.outcome,
        processor_id=call.result.processor_id, failure_code=call.result.failure_code,
        decline_code=call.result.decline_code))


@retry_on_conflict
def record(session: Session, invoice: Invoice, payment: Payment, result: ChargeResult, consequences: Consequences,
           *, call: Call | None = None) -> None:
    """Store the answer ``result`` for ``payment`` (and ``call``'s row), apply the outcome and
    hand it to the consequences; commits.

    Applies nothing when this attempt no longer holds the invoice's slot: two processes
    can resend one stale slot's attempt, and the first to record it may already have freed
    the slot for a new attempt. Recording again would free that attempt's slot and let a
    third collection charge beside it; same key, same charge, so the outcome on record
    stands. The charge has happened by now, so a concurrent change to the invoice must
    not lose it: the step runs again on the invoice as it is.
    """
    with step(session):
        lock_invoice(session, invoice)
        session.refresh(payment)
        if call is not None:
            _log_call(session, call, invoice_id=invoice.id, payment_id=payment.id)
        if invoice.collecting_payment_id == payment.id:
            consequences.payment_recorded(session, apply_outcome(session, invoice, payment, result))


def apply_outcome(session: Session, invoice: Invoice, payment: Payment, result: ChargeResult) -> Recorded:
    """Move ``payment`` and ``invoice`` as the outcome table's row for ``result`` says, and
    free the invoice's collection slot (inside the recording step)."""
    outcome = states.outcome_of(result, off_session=payment.off_session)
    reasked = payment.status is PaymentStatus.UNKNOWN
    payment.updated = clock.now()
    # A confirmation that got no answer has no id of its own: keep the one the processor gave.
    payment.processor_id = result.processor_id or payment.processor_id
    invoice.collecting_payment_id = None
    if reasked and not outcome.failed:
        payment.failure_code = payment.decline_code = payment.failure_message = None
        if invoice.last_payment_error is not None and invoice.last_payment_error.get("payment") == payment.id:
            invoice.last_payment_error = None
    states.move(payment, outcome.payment)
    if outcome.invoice is not InvoiceStatus.PAID:
        payment.action_url = result.action_url
    if outcome.failed:
        payment.failure_code = result.failure_code or outcome.failure_code
        payment.decline_code = result.decline_code
        payment.failure_message = result.failure_message or outcome.failure_message
        invoice.last_payment_error = {"code": payment.failure_code, "decline_code": payment.decline_code,
                                      "message": payment.failure_message, "payment": payment.id}
    invoice.attempt_count = states.attempt_count(session, invoice.id)
    settled = False
    if outcome.invoice is InvoiceStatus.PAID:
        # What remains, at most; the rest to the customer's balance (a transfer or a credit
        # note may have lowered what remains while the charge was in flight).
        settled = apply_payment(session, invoice, payment).settled
    elif outcome.invoice is not None:
        transition(session, invoice, outcome.invoice)
    session.flush()
    return Recorded(invoice, payment, outcome, reasked, settled)


# Saving a card: tokenize, then set it up for use without the customer


def save_card(session: Session, money: MoneyFlow, caller: Caller, customer: Customer,
              details: CardDetails) -> PaymentMethod:
    """Tokenize a validated card with the mode's processor and keep the safe parts. A step:
    the transaction in progress is committed first (the call runs outside any), and the
    card and the call's row are committed in a step of their own, so the card is kept
    whatever the request does next.

    A deleted customer's card pays the one invoice it is typed for and is kept detached.
    Raises CardError for a card the processor refuses, ProcessorError when it gives no
    answer; either is a row too (without the card, which is not kept).
    """
    processor = money.processor(caller.livemode)
    pm_id = new_id("pm")
    key = f"vinr_{pm_id}"
    commit_transaction(session)
    try:
        token = processor.tokenize(details, idempotency_key=key)
    except (CardError, ProcessorError) as error:
        refused = ChargeResult(status=ChargeStatus.FAILED, failure_code=error.code,
                               decline_code=error.decline_code if isinstance(error, CardError) else None)
        with step(session):
            _log_call(session, Call(CallKind.TOKENIZE, key, refused))
        raise
    with step(session):
        now = clock.now()
        pm = PaymentMethod(id=pm_id, account_id=caller.account.id, livemode=caller.livemode, created=now,
                           customer_id=customer.id, processor=processor.name, processor_ref=token.processor_ref,
                           brand=token.brand, last4=token.last4, exp_month=token.exp_month,
                           exp_year=token.exp_year, fingerprint=token.fingerprint, metadata_={},
                           detached_at=now if customer.deleted else None)
        session.add(pm)
        session.flush()
        _log_call(session, Call(CallKind.TOKENIZE, key, ChargeResult(status=ChargeStatus.SUCCEEDED,
                                                                     processor_id=token.processor_ref)),
                  payment_method_id=pm.id)
    return pm


def set_up_card(session: Session, money: MoneyFlow, customer: Customer, pm: PaymentMethod,
                return_url: str) -> Call:
    """Make a saved card usable without the customer, as their default: a set-up call
    outside any transaction, then its row and its answer in a step of their own. Succeeded:
    the card is the default. The bank asks for 3DS: the card keeps the set-up's id and
    where the customer answers it (``confirm_set_up``). The card is kept whatever the
    set-up comes to."""
    processor = money.processor(pm.livemode)
    commit_transaction(session)
    request = SetupRequest(pm.processor_ref, f"vinr_{pm.id}_setup", return_url)
    call = _send(CallKind.SETUP, request.idempotency_key, lambda: processor.setup(request), f"card {pm.id}")
    with step(session):
        _log_call(session, call, payment_method_id=pm.id)
        if call.result.status is ChargeStatus.REQUIRES_ACTION:
            pm.setup_ref, pm.setup_action_url = call.result.processor_id, call.result.action_url
        elif call.result.status is ChargeStatus.SUCCEEDED:
            make_default(session, customer, pm, money.consequences)
    return call


def confirm_set_up(session: Session, money: MoneyFlow, pm: PaymentMethod, *,
                   passed: bool | None) -> tuple[Call, Customer]:
    """Confirm a card's set-up once the customer answered its 3DS challenge, then, in a
    step, its row and, on success, the card as the default. Returns the call and the
    customer as read in that step (deleted meanwhile, they keep no card)."""
    assert pm.setup_ref is not None
    processor = money.processor(pm.livemode)
    commit_transaction(session)
    request = ConfirmRequest(pm.setup_ref, f"vinr_{pm.id}_setup_confirm", challenge_passed=passed)
    call = _send(CallKind.CONFIRM_SETUP, request.idempotency_key, lambda: processor.confirm_setup(request),
                 f"card {pm.id}")
    with step(session):
        _log_call(session, call, payment_method_id=pm.id)
        # Read anew: deleted while answering the challenge, the card was detached with the rest.
        customer = session.get_one(Customer, pm.customer_id, populate_existing=True)
        if call.result.status is ChargeStatus.SUCCEEDED and not customer.deleted:
            pm.setup_ref = pm.setup_action_url = None
            make_default(session, customer, pm, money.consequences)
    return call, customer


def make_default(session: Session, customer: Customer, pm: PaymentMethod, consequences: Consequences) -> None:
    """Make ``pm`` the customer's default card, and hand that on (``customer.updated``; dunning
    that waits for the customer tries the new card, SPEC §5); flushes. A deleted customer
    keeps no card, so nothing changes for one."""
    if customer.deleted or pm.detached_at is not None:
        return
    customer.default_payment_method_id = pm.id
    session.flush()
    consequences.default_card_changed(session, customer)


# Refunding a payment (SPEC §11; docs/payments.md "Refunds")

# FOR UPDATE OF the payment row: what is left of it is decided on the payment as it is.
_LOCK_PAYMENT = (sa.select(Payment).where(Payment.id == sa.bindparam("payment_id")).with_for_update(of=Payment)
                 .execution_options(populate_existing=True))


def lock_payment(session: Session, payment: Payment) -> None:
    """Read ``payment`` anew, locked until the transaction ends where the database can
    (PostgreSQL; SQLite's writer holds the whole database)."""
    session.execute(_LOCK_PAYMENT, {"payment_id": payment.id}).scalar_one()


def claim_refund(session: Session, money: MoneyFlow, payment: Payment, *, amount: int | None = None,
                 reason: str | None = None, metadata: dict[str, str] | None = None,
                 credit_note_id: str | None = None) -> Refund:
    """Step a: claim a ``pending`` refund of ``amount`` minor units (default: all that is
    left) of ``payment``, in the caller's transaction, and announce it (``refund.created``).
    Flushes, never commits: the caller commits it, then calls ``execute_refund``. A refund
    owned by a credit note names it (``credit_note_id``).

    Under the payment's row lock, refunds that are pending or succeeded never add up to
    more than the payment, however many claims race; ``payment.amount_refunded`` follows.
    Raises ServiceUnavailable ``processor_not_configured`` (live mode without a processor),
    Conflict ``payment_unexpected_status`` for a payment that did not complete, and
    InvalidRequest (param ``amount``) for an amount that is not positive
    (``parameter_invalid``), above what is left (``amount_too_large``), or a default
    amount when nothing is left (``payment_already_refunded``).
    """
    money.processor(payment.livemode)
    lock_payment(session, payment)
    if payment.status is not PaymentStatus.COMPLETED or payment.processor_id is None:
        raise Conflict(f"You cannot refund payment {payment.id} because its status is "
                       f"'{payment.status.api_value}': only a completed payment is refunded.",
                       param="payment", code="payment_unexpected_status")
    refunded = states.refunded_or_pending(session, payment.id)
    left = payment.amount - refunded
    if amount is None:
        if left <= 0:
            raise InvalidRequest(f"Payment {payment.id} is refunded in full already.", param="amount",
                                 code="payment_already_refunded")
        amount = left
    if amount <= 0:
        raise InvalidRequest("amount must be a positive number of minor units.", param="amount")
    if amount > left:
        raise InvalidRequest(f"The refund's amount ({amount}) is more than what is left to refund of payment "
                             f"{payment.id} ({left}).", param="amount", code="amount_too_large")
    now = clock.now()
    refund = Refund(id=new_id("re"), account_id=payment.account_id, livemode=payment.livemode, created=now,
                    updated=now, payment_id=payment.id, amount=amount, currency=payment.currency,
                    status=RefundStatus.PENDING, reason=reason, metadata_=dict(metadata or {}),
                    credit_note_id=credit_note_id, processor=payment.processor)
    session.add(refund)
    payment.amount_refunded = refunded + amount
    session.flush()
    money.consequences.refund_claimed(session, refund)
    return refund


def execute_refund(session: Session, money: MoneyFlow, refund_id: str) -> Refund:
    """Steps b and c for a claimed refund: commit the transaction in progress (the claim, and
    whatever the caller did with it), send the refund to the processor outside any
    transaction, then record the call and apply its outcome in a step of its own. Commits.

    Returns the refund as recorded: ``succeeded``, ``failed`` (with ``failure_reason``), or
    still ``pending`` when the processor gave no clear answer (the worker asks again). A
    refund no longer pending is returned as it is, and nothing is sent.
    """
    return _send_and_record(session, money, refund_id, sent_before=False)


def stale_refunds(session: Session) -> list[tuple[str, int]]:
    """(refund id, when it was last sent) of every pending refund not sent for
    STALE_REFUND_SECONDS that is still young enough to ask about (REASK_SECONDS): its
    answer was unclear, or its process died around the call."""
    now = clock.now()
    rows = session.execute(
        sa.select(Refund.id, Refund.updated)
        .where(Refund.status == RefundStatus.PENDING, Refund.updated <= now - STALE_REFUND_SECONDS,
               Refund.created > now - REASK_SECONDS)
        .order_by(Refund.updated)
    ).all()
    return [(refund_id, updated) for refund_id, updated in rows]


def reask_refund(session: Session, money: MoneyFlow, refund_id: str) -> Refund | None:
    """The worker's side of a pending refund without an answer: send it again exactly as it
    was (same request, same key; a refund the processor said is in progress is read again),
    and record the answer. Commits. Nothing when the refund is no longer pending, was sent
    in the last STALE_REFUND_SECONDS (someone else is asking), or is too old to ask about
    safely (REASK_SECONDS: a person checks it with the processor)."""
    with step(session):
        refund = session.execute(sa.select(Refund).where(Refund.id == refund_id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar_one_or_none()
        now = clock.now()
        if (refund is None or refund.status is not RefundStatus.PENDING
                or refund.updated > now - STALE_REFUND_SECONDS or refund.created <= now - REASK_SECONDS):
            return None
        refund.updated = now  # taken: another sweep leaves it alone while it is asked
    return _send_and_record(session, money, refund_id, sent_before=True)


@dataclass(frozen=True)
class RefundCall:
    """One refund call as it was sent, and its normalized answer."""

    idempotency_key: str
    result: RefundResult
    error: ProcessorError | None = None  # no usable answer: ``result`` is the failure it stands for


def _send_and_record(session: Session, money: MoneyFlow, refund_id: str, *, sent_before: bool) -> Refund:
    with reading(session):
        refund = session.get_one(Refund, refund_id, populate_existing=True)
        if refund.status is not RefundStatus.PENDING:
            return refund
        payment = session.get_one(Payment, refund.payment_id)
        pm = session.get(PaymentMethod, payment.payment_method_id) if payment.payment_method_id else None
        assert payment.processor_id is not None  # claim_refund refunds only completed payments
        request = RefundRequest(payment_processor_id=payment.processor_id, amount=refund.amount,
                                currency=refund.currency, idempotency_key=refund.processor_key,
                                processor_ref=pm.processor_ref if pm is not None else None, reason=refund.reason)
        sent_before = sent_before or states.refund_was_sent(session, refund.id)
        processor = money.processor(refund.livemode)
        in_progress = refund.processor_id if sent_before else None
    call = send_refund(processor, request, in_progress=in_progress)
    record_refund(session, money, refund, call, sent_before=sent_before)
    return refund


def send_refund(processor: Processor, request: RefundRequest, *, in_progress: str | None = None) -> RefundCall:
    """Step b (outside any transaction; never raises for the processor's sake): send the
    refund, or, for one the processor answered is in progress (``in_progress``: its id
    there), read it again. An unreachable or confused processor is a failed result with
    the error's code as ``failure_reason``, which the outcome table reads."""
    try:
        if in_progress is not None:
            return RefundCall(request.idempotency_key, processor.retrieve_refund(in_progress))
        return RefundCall(request.idempotency_key, processor.refund(request))
    except ProcessorError as error:
        log.warning("processor error for refund key %s: %s", request.idempotency_key, error.code)
        return RefundCall(request.idempotency_key,
                          RefundResult(status=RefundResultStatus.FAILED, failure_reason=error.code), error=error)


def record_refund(session: Session, money: MoneyFlow, refund: Refund, call: RefundCall, *,
                  sent_before: bool) -> None:
    """Step c: store the call's row and, while the refund is still pending, apply the
    outcome table's row for its answer and hand it to the consequences; commits. Another
    process that recorded an answer for this refund first (a sweep and the request, say;
    same key, same refund) is left to stand."""
    outcome = states.refund_outcome_of(call.result, sent_before=sent_before)
    answer = states.refund_answer_of(call.result, sent_before=sent_before)
    with step(session):
        payment = session.get_one(Payment, refund.payment_id)
        lock_payment(session, payment)
        session.refresh(refund)
        session.add(ProcessorCall(
            created=clock.now(), kind=CallKind.REFUND, idempotency_key=call.idempotency_key,
            invoice_id=payment.invoice_id, payment_id=payment.id, refund_id=refund.id,
            outcome=states.REFUND_CALL_OUTCOMES[answer], processor_id=call.result.processor_id,
            failure_code=call.result.failure_reason if call.result.status is RefundResultStatus.FAILED else None))
        if refund.status is RefundStatus.PENDING:
            money.consequences.refund_recorded(session, apply_refund_outcome(session, payment, refund, call.result,
                                                                             outcome))


def apply_refund_outcome(session: Session, payment: Payment, refund: Refund, result: RefundResult,
                         outcome: RefundOutcome) -> RefundRecorded:
    """Move ``refund`` as the outcome table's row says, and give its amount back to the
    payment's ``amount_refunded`` when it no longer counts (inside the recording step,
    under the payment's lock)."""
    refund.updated = clock.now()
    refund.processor_id = result.processor_id or refund.processor_id
    states.move_refund(refund, outcome.refund)
    if outcome.refund is RefundStatus.FAILED:
        refund.failure_reason = result.failure_reason or outcome.failure_reason
    session.flush()
    if outcome.refund not in states.REFUND_COUNTS:
        payment.amount_refunded = states.refunded_or_pending(session, payment.id)
        session.flush()
    return RefundRecorded(refund, payment, outcome)
