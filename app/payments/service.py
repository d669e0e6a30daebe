"""Saved cards and collecting invoices (SPEC §3 payments, §6).

Collecting an invoice spans three steps, and unlike other services this one
commits between them, because a processor call must never run inside a
database transaction (it would hold locks for seconds, and a rollback cannot
take a charge back):

1. claim: under the invoice's version check, record a ``processing`` payment
   and mark the invoice as collecting it; commit. A second collector racing
   for the same invoice loses the version check or sees the claim (409).
2. charge: call the processor with an idempotency key derived from the
   payment's id, so any retry of this attempt is the same charge.
3. record: store the normalized outcome, move the invoice (paid, or open
   with ``last_payment_error``), write the events; commit.

A partial unique index (one completed payment per invoice) backs this up in
the database. A process that dies between 1 and 3 leaves a ``processing``
payment; the next collection of that invoice re-drives it with the same
idempotency key instead of charging anew. Likewise an attempt the processor
gave no clear answer to (it may have charged) is asked about again, with the
same request, before anything new is charged for the invoice, whatever card
the next attempt uses (settle_unknown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app import clock
from app.accounts.service import Caller
from app.customers.models import Customer
from app.customers.service import get_customer
from app.customers.service import serialize as serialize_customer
from app.errors import Conflict, InvalidRequest, NotFound, ServiceUnavailable
from app.events.service import record
from app.ids import new_id
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.schemas import FinalizeParams
from app.invoices.service import finalize, get_invoice, record_event
from app.invoices.states import illegal, transition
from app.pagination import Page, paginate
from app.payments.cards import validate_card
from app.payments.models import Payment, PaymentMethod, PaymentStatus
from app.payments.processor import (
    CardDetails,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    ConfirmRequest,
    HttpProcessor,
    Processor,
    ProcessorError,
    SandboxProcessor,
)
from app.payments.schemas import PaymentList, PaymentMethodCreate, PaymentMethodList, PayParams

STALE_CLAIM_SECONDS = 120  # a claim older than this belongs to a process that died
# How often a step looks at the invoice again after a version conflict (another
# request changed it between our read and our write) before giving up with a 409.
CONFLICT_ATTEMPTS = 5


def in_progress() -> Conflict:
    """The 409 for a collection that another request holds or has just made (nothing charged here)."""
    return Conflict("A payment for this invoice is already in progress.", code="payment_in_progress")


# Processors


def processor_for(livemode: bool) -> Processor:
    """The sandbox in test mode; the configured HTTP processor in live mode.

    Raises ServiceUnavailable(processor_not_configured) for live mode without one.
    """
    cache: dict[str, Processor] = current_app.extensions.setdefault("vinr.processors", {})
    if not livemode:
        if "sandbox" not in cache:
            cache["sandbox"] = SandboxProcessor(fingerprint_key=_fingerprint_key())
        return cache["sandbox"]
    url, key = current_app.config["PROCESSOR_URL"], current_app.config["PROCESSOR_KEY"]
    if not url or not key:
        raise ServiceUnavailable("Live payments need a processor: set VINR_PROCESSOR_URL and VINR_PROCESSOR_KEY.",
                                 code="processor_not_configured")
    if "http" not in cache:
        cache["http"] = HttpProcessor(url, key)
    return cache["http"]


def _fingerprint_key() -> bytes:
    return ("fingerprint:" + current_app.config["SECRET_KEY"]).encode()


# Serialization


def serialize_payment_method(pm: PaymentMethod) -> dict[str, Any]:
    """The API's payment_method object (SPEC §3): the safe parts of a card only."""
    return {"id": pm.id, "object": "payment_method", "livemode": pm.livemode, "created": pm.created,
            "customer": pm.customer_id if pm.detached_at is None else None, "type": "card",
            "card": {"brand": pm.brand, "last4": pm.last4, "exp_month": pm.exp_month, "exp_year": pm.exp_year},
            "metadata": dict(pm.metadata_)}


def serialize_payment(payment: Payment) -> dict[str, Any]:
    """The API's payment object (SPEC §3 payments)."""
    return {"id": payment.id, "object": "payment", "livemode": payment.livemode, "created": payment.created,
            "amount": payment.amount, "currency": payment.currency, "status": payment.status.value,
            "invoice": payment.invoice_id, "customer": payment.customer_id,
            "payment_method": payment.payment_method_id,
            "card": ({"brand": payment.card_brand, "last4": payment.card_last4}
                     if payment.card_last4 is not None else None),
            "failure_code": payment.failure_code, "decline_code": payment.decline_code,
            "failure_message": payment.failure_message}


# Payment methods


def add_payment_method(session: Session, caller: Caller, customer_id: str,
                       params: PaymentMethodCreate) -> PaymentMethod:
    """Validate and save a card (test mode only; live cards come from the hosted page).

    Raises CardError (402) for a card that fails validation or is not a test card.
    """
    if caller.livemode:
        raise InvalidRequest("In live mode cards are collected on the hosted invoice page, not through the API.",
                             param="card", code="live_mode_cards_not_accepted")
    customer = get_customer(session, caller, customer_id)
    card = params.card
    details = validate_card(card.number, card.exp_month, card.exp_year, card.cvc)
    return save_card(session, caller, customer, details, set_default=params.set_default)


def save_card(session: Session, caller: Caller, customer: Customer, details: CardDetails, *,
              set_default: bool) -> PaymentMethod:
    """Tokenize a validated card with the mode's processor and keep the safe parts.

    Commits first: the processor call runs outside any transaction. Raises
    CardError for a card the processor refuses, ProcessorError when it gives
    no answer.
    """
    processor = processor_for(caller.livemode)
    pm_id = new_id("pm")
    session.commit()
    token = processor.tokenize(details, idempotency_key=f"vinr_{pm_id}")
    now = clock.now()
    # A deleted customer's invoice paid on the hosted page: the card pays that once and is kept detached.
    pm = PaymentMethod(id=pm_id, account_id=caller.account.id, livemode=caller.livemode, created=now,
                       customer_id=customer.id, processor=processor.name, processor_ref=token.processor_ref,
                       brand=token.brand, last4=token.last4, exp_month=token.exp_month,
                       exp_year=token.exp_year, fingerprint=token.fingerprint, metadata_={},
                       detached_at=now if customer.deleted else None)
    session.add(pm)
    if set_default:
        customer.default_payment_method_id = pm.id
    session.flush()
    if set_default:
        record(session, caller.account.id, caller.livemode, "customer.updated", serialize_customer(customer))
    return pm


def get_payment_method(session: Session, caller: Caller, pm_id: str, *, customer_id: str | None = None,
                       param: str = "payment_method") -> PaymentMethod:
    """The caller's saved card (of ``customer_id`` when given), or NotFound naming ``param``;
    a card detached from its deleted customer is not found either."""
    stmt = sa.select(PaymentMethod).where(PaymentMethod.account_id == caller.account.id,
                                          PaymentMethod.livemode == caller.livemode, PaymentMethod.id == pm_id,
                                          PaymentMethod.detached_at.is_(None))
    if customer_id is not None:
        stmt = stmt.where(PaymentMethod.customer_id == customer_id)
    pm = session.scalar(stmt)
    if pm is None:
        raise NotFound(f"No such payment method: '{pm_id}'", param=param)
    return pm


def list_payment_methods(session: Session, caller: Caller, customer_id: str,
                         query: PaymentMethodList) -> Page[PaymentMethod]:
    """A page of the customer's saved cards, newest first; NotFound for a foreign customer."""
    customer = get_customer(session, caller, customer_id)
    stmt = sa.select(PaymentMethod).where(PaymentMethod.customer_id == customer.id)
    return paginate(session, stmt, PaymentMethod, limit=query.limit, starting_after=query.starting_after,
                    ending_before=query.ending_before)


# Payments


def get_payment(session: Session, caller: Caller, payment_id: str) -> Payment:
    """The caller's payment (this account and mode), or NotFound."""
    payment = session.scalar(sa.select(Payment).where(
        Payment.account_id == caller.account.id, Payment.livemode == caller.livemode, Payment.id == payment_id))
    if payment is None:
        raise NotFound(f"No such payment: '{payment_id}'", param="id")
    return payment


def list_payments(session: Session, caller: Caller, query: PaymentList) -> Page[Payment]:
    """A page of the caller's payments, newest first, optionally of one invoice."""
    stmt = sa.select(Payment).where(Payment.account_id == caller.account.id, Payment.livemode == caller.livemode)
    if query.invoice is not None:
        stmt = stmt.where(Payment.invoice_id == query.invoice)
    return paginate(session, stmt, Payment, limit=query.limit, starting_after=query.starting_after,
                    ending_before=query.ending_before)


def _payment_event(session: Session, payment: Payment, type_: str) -> None:
    record(session, payment.account_id, payment.livemode, type_, serialize_payment(payment))


def pay(session: Session, caller: Caller, invoice_id: str, params: PayParams) -> Invoice:
    """``POST /v1/invoices/{id}/pay``: collect off-session, or record an out-of-band payment.

    Declines are outcomes (the invoice stays payable); raises Conflict when the
    invoice is not payable or another collection is running, NotFound for an
    unknown method, ServiceUnavailable when live mode has no processor.
    Commits (see the module docstring).
    """
    invoice = get_invoice(session, caller, invoice_id)
    if params.paid_out_of_band:
        if params.payment_method is not None:
            raise InvalidRequest("paid_out_of_band takes no payment_method.", param="payment_method")
        return _paid_out_of_band(session, invoice)
    processor = processor_for(caller.livemode)
    if not invoice.is_payable:
        raise illegal(invoice, "pay")
    pm = _payment_method_for(session, caller, invoice, params.payment_method)
    if invoice.collecting_payment_id is not None:
        resume_stale_claim(session, caller, invoice, processor)  # 409 while it is alive
        if not invoice.is_payable:
            return invoice  # the attempt a dead process left behind paid it
    if blocks_new_charge(settle_unknown(session, invoice, processor)):
        return invoice  # paid after all, or still no answer
    payment = claim(session, invoice, pm, off_session=True)
    result = charge(processor, payment, pm)
    record_outcome(session, invoice, payment, result)
    return invoice


def finalize_and_collect(session: Session, caller: Caller, invoice_id: str, params: FinalizeParams) -> Invoice:
    """Finalize; then, for charge_automatically, collect from the default method
    unless this request says ``auto_advance: false`` (SPEC §3 finalize)."""
    invoice = finalize(session, caller, invoice_id, params)
    session.commit()
    if (invoice.collection_method != "charge_automatically" or params.auto_advance is False
            or not invoice.is_payable):
        return invoice
    customer = session.get(Customer, invoice.customer_id)
    if customer is None or customer.default_payment_method_id is None:
        return invoice  # nothing to charge yet; the merchant or the customer pays later
    try:
        processor = processor_for(caller.livemode)
    except ServiceUnavailable:
        return invoice  # finalized; /pay will say processor_not_configured
    pm = get_payment_method(session, caller, customer.default_payment_method_id)
    try:
        payment = claim(session, invoice, pm, off_session=True)
    except Conflict:
        return invoice  # finalized (committed); someone else is collecting it already
    record_outcome(session, invoice, payment, charge(processor, payment, pm))
    return invoice


def _paid_out_of_band(session: Session, invoice: Invoice) -> Invoice:
    if invoice.collecting_payment_id is not None:
        raise Conflict("A card payment for this invoice is in progress.", code="payment_in_progress")
    transition(session, invoice, InvoiceStatus.PAID)
    invoice.amount_paid = invoice.amount_due
    invoice.next_payment_attempt = None
    session.flush()
    record_event(session, invoice, "invoice.paid")
    session.commit()
    return invoice


def _payment_method_for(session: Session, caller: Caller, invoice: Invoice, pm_id: str | None) -> PaymentMethod:
    if pm_id is None:
        customer = session.get(Customer, invoice.customer_id)
        if customer is not None and customer.deleted:
            raise InvalidRequest("The customer was deleted and their payment methods detached, so nothing is "
                                 "charged off-session; the invoice can still be paid on its hosted page.",
                                 param="payment_method", code="customer_deleted")
        pm_id = customer.default_payment_method_id if customer is not None else None
        if pm_id is None:
            raise InvalidRequest("The customer has no default payment method; pass payment_method.",
                                 param="payment_method", code="payment_method_missing")
    return get_payment_method(session, caller, pm_id, customer_id=invoice.customer_id)


def claim(session: Session, invoice: Invoice, pm: PaymentMethod, *, off_session: bool,
          set_default_on_success: bool = False, return_url: Callable[[str], str] | None = None) -> Payment:
    """Step 1: record the attempt and take the invoice's collection slot; commits.

    Raises Conflict ``payment_in_progress`` when another collection holds the
    slot, including one that claimed the same version of the invoice a moment
    before this one (nothing was charged by this call), and the status
    Conflict when the invoice stopped being payable meanwhile.
    """
    last_attempt = invoice.payment_id
    for _attempt in range(CONFLICT_ATTEMPTS):
        if invoice.collecting_payment_id is not None or invoice.payment_id != last_attempt \
                or _unknown_attempts(session, invoice):
            # Another collection holds the invoice, or made an attempt since we read it, or an
            # attempt has no answer (settle_unknown must see it first). The flush below is
            # conditional on the invoice's version, so no attempt can appear after this look.
            raise in_progress()
        if not invoice.is_payable:
            raise illegal(invoice, "pay")
        payment = _new_payment(invoice, pm, off_session=off_session, set_default_on_success=set_default_on_success)
        if return_url is not None:
            payment.return_url = return_url(payment.id)
        session.add(payment)
        invoice.collecting_payment_id = payment.id
        invoice.payment_id = payment.id
        try:
            session.flush()
        except StaleDataError:
            # Someone changed the invoice since we read it: another click's claim, or
            # the merchant editing its description. Nothing is charged yet, so look again
            # (the rollback expired the invoice: the next look reads it anew).
            session.rollback()
            continue
        session.commit()
        return payment
    raise in_progress()


def _new_payment(invoice: Invoice, pm: PaymentMethod, *, off_session: bool, set_default_on_success: bool) -> Payment:
    now = clock.now()
    return Payment(id=new_id("pay"), account_id=invoice.account_id, livemode=invoice.livemode, created=now,
                   updated=now, invoice_id=invoice.id, customer_id=invoice.customer_id,
                   payment_method_id=pm.id, amount=invoice.amount_remaining, currency=invoice.currency,
                   status=PaymentStatus.PROCESSING, off_session=off_session, processor=pm.processor,
                   card_brand=pm.brand, card_last4=pm.last4, set_default_on_success=set_default_on_success)


# Failures after which we cannot know whether the processor charged the card.
UNKNOWN_OUTCOME = frozenset({"processor_unavailable", "processor_invalid_response"})
# Refusals of a request the processor did not process: about that send only.
NOT_PROCESSED = frozenset({"processor_authentication_failed", "processor_rate_limited"})


def settle_unknown(session: Session, invoice: Invoice, processor: Processor) -> ChargeResult | None:
    """Before a new charge or a 3DS confirmation: ask the processor again about every attempt
    of this invoice that got no clear answer (it may have charged), oldest first, each with
    its own request and key, and record what it says now. Commits.

    Returns the answer that stops anything new (see blocks_new_charge), else the last answer,
    or None when there was nothing to ask. An attempt too old to ask safely stops anything
    new too: its ``payment_outcome_unknown`` answer is recorded as the invoice's
    last_payment_error. Raises Conflict ``payment_in_progress`` when another request is
    asking already. After a blocking answer ``invoice.payment_id`` names its attempt.
    """
    answer: ChargeResult | None = None
    for previous in _unknown_attempts(session, invoice):
        answer = _ask_again(session, invoice, previous, processor)
        if blocks_new_charge(answer):
            return answer
    return answer


def _unknown_attempts(session: Session, invoice: Invoice) -> list[Payment]:
    if invoice.attempt_count == 0:
        return []  # no attempt recorded: nothing to ask about (and no query on the first charge)
    return list(session.scalars(
        sa.select(Payment).where(Payment.invoice_id == invoice.id, Payment.status == PaymentStatus.FAILED,
                                 Payment.failure_code.in_(UNKNOWN_OUTCOME))
        .order_by(Payment.created, Payment.id)))


def _ask_again(session: Session, invoice: Invoice, previous: Payment, processor: Processor) -> ChargeResult:
    pm = session.get(PaymentMethod, previous.payment_method_id) if previous.payment_method_id else None
    if pm is None or clock.now() - previous.created > REASK_SECONDS:
        return _needs_a_person(session, invoice, previous)
    try:
        take_slot(session, invoice, previous, waiting=PaymentStatus.FAILED)
    except Conflict as error:
        if error.code != "payment_not_pending":
            raise
        # Another request asked about it a moment ago and recorded the answer.
        raise in_progress() from None
    session.commit()
    result = unclear_is_unknown(redrive(processor, previous, pm), previous)
    record_outcome(session, invoice, previous, result, reasked=True)
    return result


def _needs_a_person(session: Session, invoice: Invoice, previous: Payment) -> ChargeResult:
    """A processor keeps idempotency keys for about a day: asking after that would be a new
    charge on the old card, not a question. No attempt is made or counted; the invoice says
    why and what to do (SPEC §3: /pay answers 200 with it), announced once."""
    message = (f"The processor never said whether payment {previous.id} went through, and it can no "
               "longer be asked safely, so nothing new is charged. Check that payment with the "
               "processor, then record the invoice as paid out of band or void it.")
    error = {"code": PAYMENT_OUTCOME_UNKNOWN, "decline_code": None, "message": message, "payment": previous.id}
    if invoice.last_payment_error != error:
        invoice.last_payment_error = error
        invoice.payment_id = previous.id
        session.flush()
        record_event(session, invoice, "invoice.updated")
    session.commit()
    return ChargeResult(status=ChargeStatus.FAILED, failure_code=PAYMENT_OUTCOME_UNKNOWN, failure_message=message)


def unclear_is_unknown(result: ChargeResult, payment: Payment) -> ChargeResult:
    """The answer to re-sending an attempt whose first send may have reached the processor.
    A processor replays its first answer to a key, so a decline or an invalid request is
    about that first send. Not a refusal of our credentials or a rate limit, which the
    resend met and the first may not have: the attempt stays unknown, and is asked about
    again next time. (The HTTP processor already reports the other refusals that say
    nothing, such as a 409, as no answer.)"""
    unclear = result.status is ChargeStatus.FAILED and (
        result.failure_code in UNKNOWN_OUTCOME or result.failure_code in NOT_PROCESSED)
    if not unclear:
        return result
    code = payment.failure_code if payment.failure_code in UNKNOWN_OUTCOME else "processor_unavailable"
    return replace(result, failure_code=code, failure_message=(
        f"The processor has still not said whether payment {payment.id} went through, so nothing new "
        "was charged. Try again later; if it stays unanswered, check the payment with the processor "
        "and record the invoice as paid out of band, or void it."))


REASK_SECONDS = 23 * 3600  # within the processor's idempotency-key lifetime (24 h)
PAYMENT_OUTCOME_UNKNOWN = "payment_outcome_unknown"  # last_payment_error code: a person must check the processor


def blocks_new_charge(result: ChargeResult | None) -> bool:
    """Whether settle_unknown's answer leaves nothing new to charge now: the earlier attempt
    succeeded, or still has no clear answer. A decline lets a new charge go ahead, and so
    does a 3DS request: that charge moves no money unless we confirm it, and we confirm
    only while the invoice is payable."""
    if result is None:
        return False
    return result.status is ChargeStatus.SUCCEEDED or (
        result.status is ChargeStatus.FAILED and (result.failure_code in UNKNOWN_OUTCOME
                                                  or result.failure_code == PAYMENT_OUTCOME_UNKNOWN))


def take_slot(session: Session, invoice: Invoice, payment: Payment, *, waiting: PaymentStatus) -> None:
    """Make ``payment`` (one the processor has seen, now ``waiting``) the invoice's
    collection again; flushes.

    Raises Conflict ``payment_in_progress`` when another collection holds the invoice,
    ``payment_not_pending`` when the payment is no longer ``waiting`` (another request
    moved it since we read it), and the status Conflict when the invoice is no longer
    payable.
    """
    for _attempt in range(CONFLICT_ATTEMPTS):
        if invoice.collecting_payment_id is not None:
            raise in_progress()
        if not invoice.is_payable:
            raise illegal(invoice, "pay")
        if payment.status is not waiting:
            raise Conflict("This payment no longer waits for an answer.", code="payment_not_pending")
        if waiting is not PaymentStatus.FAILED \
                and any(other.id != payment.id for other in _unknown_attempts(session, invoice)):
            # A confirmation, and another attempt got no answer since the caller asked about
            # them: that one comes first. (Asking about one unanswered attempt is never held
            # up by another: settle_unknown asks about each in turn.)
            raise in_progress()
        invoice.collecting_payment_id = payment.id
        invoice.payment_id = payment.id  # the attempt the invoice is about now (SPEC: invoice.payment)
        payment.status = PaymentStatus.PROCESSING
        # The claim is live from now: the age of the attempt must not make it look stale
        # (resume_stale_claim) while the processor is being asked.
        payment.updated = clock.now()
        try:
            session.flush()
            return
        except StaleDataError:
            # The invoice changed since we read it: another request took it (seen on the
            # next look), or the merchant edited it (then this one goes ahead).
            session.rollback()
    raise in_progress()


def redrive(processor: Processor, payment: Payment, pm: PaymentMethod) -> ChargeResult:
    """Send an attempt's processor call again, as it was: same request, same key."""
    # A payment the processor already knows (it has an id) was waiting on the customer's
    # 3DS answer: what was sent is the confirmation. (The stateless sandbox, not told the
    # answer again, fails it; a real processor answers with the confirmation it made.)
    return confirm(processor, payment) if payment.processor_id is not None else charge(processor, payment, pm)


def charge(processor: Processor, payment: Payment, pm: PaymentMethod) -> ChargeResult:
    """Step 2: one processor call, outside any transaction. Never raises for the
    processor's sake: an unreachable or confused processor is a failed outcome."""
    request = ChargeRequest(amount=payment.amount, currency=payment.currency, processor_ref=pm.processor_ref,
                            idempotency_key=payment.processor_key, off_session=payment.off_session,
                            return_url=payment.return_url, description=f"Invoice {payment.invoice_id}")
    return guarded(lambda: processor.charge(request), payment)


def confirm(processor: Processor, payment: Payment, *, passed: bool | None = None) -> ChargeResult:
    """Step 2 of a charge that asked for 3DS, once the customer answered: one processor
    call, outside any transaction, with a key of its own, so asking again (after a
    process died) is the same confirmation. ``passed``: the sandbox challenge's answer."""
    assert payment.processor_id is not None
    request = ConfirmRequest(payment.processor_id, f"{payment.processor_key}_confirm", challenge_passed=passed)
    return guarded(lambda: processor.confirm(request), payment)


def guarded(call: Callable[[], ChargeResult], payment: Payment) -> ChargeResult:
    """Run one processor call; an unreachable or confused processor becomes a
    failed outcome (never a 500, never a payment left processing)."""
    try:
        return call()
    except ProcessorError as error:
        current_app.logger.warning("processor error for payment %s: %s", payment.id, error.code)
        return ChargeResult(status=ChargeStatus.FAILED, failure_code=error.code,
                            failure_message="The payment processor could not be reached or gave no clear answer. "
                                            "Trying again is safe: the same charge is never made twice.",
                            retryable=True)


def record_outcome(session: Session, invoice: Invoice, payment: Payment, result: ChargeResult, *,
                   reasked: bool = False) -> None:
    """Step 3: store the outcome, move the invoice, write the events; commits.

    Records nothing when this attempt no longer holds the invoice's collection
    slot: another process already recorded it (see below). The charge has
    happened by now, so a concurrent change to the invoice (the merchant
    editing its description, say) must not lose the outcome: the invoice is
    read again and the outcome applied to what is there.

    ``reasked``: the answer to asking again about an attempt recorded before without a
    clear outcome (settle_unknown): the attempt is not counted again, and a failure that
    stays a failure writes no new events.
    """
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            _record_outcome(session, invoice, payment, result, reasked=reasked)
            return
        except StaleDataError:
            session.rollback()
            if attempt == CONFLICT_ATTEMPTS - 1:
                raise


def _record_outcome(session: Session, invoice: Invoice, payment: Payment, result: ChargeResult, *,
                    reasked: bool) -> None:
    # Locked where the database can (PostgreSQL): a concurrent edit waits for the
    # outcome instead of the outcome retrying behind it. SQLite's writer already
    # holds the database's write lock here.
    session.refresh(invoice, with_for_update=True)
    session.refresh(payment)
    if invoice.collecting_payment_id != payment.id or payment.status is not PaymentStatus.PROCESSING:
        # Fix (tests/payments/test_resume_stale_claim.py): two processes can
        # re-drive one stale claim; the first records its outcome and a new
        # attempt may claim the invoice before the second finishes. Recording
        # again would count the attempt twice and free the new attempt's slot,
        # letting a third collection charge alongside it. Same idempotency
        # key, same charge: the outcome on record stands.
        session.commit()
        return
    now = clock.now()
    payment.updated = now
    # A confirmation that got no answer has no id of its own: keep the one the processor gave.
    payment.processor_id = result.processor_id or payment.processor_id
    invoice.collecting_payment_id = None
    if reasked and result.status is not ChargeStatus.FAILED:
        # The failure recorded while there was no answer is not this attempt's state any more.
        payment.failure_code = payment.decline_code = payment.failure_message = None
        if invoice.last_payment_error is not None and invoice.last_payment_error.get("payment") == payment.id:
            invoice.last_payment_error = None
    if result.status is ChargeStatus.SUCCEEDED:
        payment.status = PaymentStatus.COMPLETED
        invoice.attempt_count += 0 if reasked else 1
        invoice.amount_paid += payment.amount
        invoice.last_payment_error = None
        invoice.next_payment_attempt = None
        transition(session, invoice, InvoiceStatus.PAID)
        _payment_event(session, payment, "payment.completed")
        record_event(session, invoice, "invoice.payment_succeeded")
        record_event(session, invoice, "invoice.paid")
        if payment.set_default_on_success:
            _make_default(session, invoice, payment)
    elif result.status is ChargeStatus.REQUIRES_ACTION and not payment.off_session:
        # The customer is here and will authenticate: not a failed attempt.
        # The attempt is counted once, with the confirmed outcome (so a re-asked one,
        # counted as failed before, is uncounted until then, and forgets that failure).
        payment.status = PaymentStatus.REQUIRES_ACTION
        payment.action_url = result.action_url
        if reasked:
            invoice.attempt_count -= 1
        session.flush()
        record_event(session, invoice, "invoice.payment_action_required")
    else:
        needs_customer = result.status is ChargeStatus.REQUIRES_ACTION or \
            result.failure_code == "authentication_required"
        payment.status = PaymentStatus.REQUIRES_ACTION if needs_customer else PaymentStatus.FAILED
        payment.action_url = result.action_url
        payment.failure_code = result.failure_code or ("authentication_required" if needs_customer else None)
        payment.decline_code = result.decline_code
        payment.failure_message = result.failure_message or (
            "This payment needs the customer to authenticate on the invoice page." if needs_customer else None)
        invoice.attempt_count += 0 if reasked else 1
        invoice.last_payment_error = {"code": payment.failure_code, "decline_code": payment.decline_code,
                                      "message": payment.failure_message, "payment": payment.id}
        session.flush()
        # A re-asked attempt was announced as failed already: what is news is that it waits
        # for the customer, or that its failure is now clear; not that it is still unknown.
        if needs_customer:
            record_event(session, invoice, "invoice.payment_action_required")
            if not reasked:
                record_event(session, invoice, "invoice.payment_failed")
        elif not (reasked and payment.failure_code in UNKNOWN_OUTCOME):
            _payment_event(session, payment, "payment.failed")
            record_event(session, invoice, "invoice.payment_failed")
    session.flush()
    session.commit()


def _make_default(session: Session, invoice: Invoice, payment: Payment) -> None:
    customer = session.get(Customer, invoice.customer_id)
    if customer is None or customer.deleted or payment.payment_method_id is None:
        return
    customer.default_payment_method_id = payment.payment_method_id
    session.flush()
    record(session, invoice.account_id, invoice.livemode, "customer.updated", serialize_customer(customer))


def resume_stale_claim(session: Session, caller: Caller, invoice: Invoice, processor: Processor) -> Invoice | None:
    """Finish an attempt whose process died after claiming: same idempotency key, same charge."""
    if invoice.collecting_payment_id is None:
        return None
    payment = session.get(Payment, invoice.collecting_payment_id)
    if payment is None or payment.status is not PaymentStatus.PROCESSING \
            or payment.updated > clock.now() - STALE_CLAIM_SECONDS:
        raise in_progress()
    assert payment.payment_method_id is not None
    pm = get_payment_method(session, caller, payment.payment_method_id)
    # Fix (tests/payments/test_resume_stale_claim.py): end the transaction these
    # reads began before calling the processor, as claim() does on the first
    # attempt; on SQLite it holds the write lock (BEGIN IMMEDIATE) for the call.
    session.commit()
    # Asking again about an attempt already recorded as unknown (settle_unknown's process
    # died) is not a new attempt.
    reasked = payment.failure_code in UNKNOWN_OUTCOME
    if clock.now() - payment.created > REASK_SECONDS:
        result = ChargeResult(status=ChargeStatus.FAILED, failure_code="processor_unavailable",
                              failure_message="This attempt stopped before the processor answered, and it is "
                                              "too old to ask about safely.")
    else:
        result = unclear_is_unknown(redrive(processor, payment, pm), payment)
    record_outcome(session, invoice, payment, result, reasked=reasked)
    return invoice
