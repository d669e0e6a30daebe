"""On-session payments from the hosted invoice page (SPEC §7).

The same claim → charge → record steps as ``/pay`` (see app.payments.service),
so the never-twice guarantees are the same; the difference is that the
customer is present, so a card that asks for 3DS gets a challenge instead of
failing with ``authentication_required``. Every processor call here runs
outside a database transaction, and a processor that cannot be reached is an
outcome the customer sees, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from app import tokens
from app.accounts.models import Account
from app.accounts.service import Caller
from app.customers.models import Customer
from app.customers.service import serialize as serialize_customer
from app.errors import Conflict, InvalidRequest, NotFound
from app.events.service import record
from app.invoices.models import Invoice
from app.invoices.states import illegal
from app.payments.models import Payment, PaymentMethod, PaymentStatus
from app.payments.processor import (
    CardDetails,
    ChargeResult,
    ChargeStatus,
    ConfirmRequest,
    Processor,
    ProcessorError,
    SetupRequest,
)
from app.payments.service import (
    PAYMENT_OUTCOME_UNKNOWN as PAYMENT_OUTCOME_UNKNOWN,  # re-exported: the views reach payments through checkout
)
from app.payments.service import (
    UNKNOWN_OUTCOME,
    blocks_new_charge,
    charge,
    claim,
    confirm,
    processor_for,
    record_outcome,
    resume_stale_claim,
    save_card,
    settle_unknown,
    take_slot,
)

SETUP_CHALLENGE = "vinr.setup-challenge.v1"
SETUP_CHALLENGE_MAX_AGE = 30 * 60  # seconds a customer has to answer a card-update challenge


class Outcome(StrEnum):
    PAID = "paid"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    SAVED = "saved"


@dataclass(frozen=True)
class CheckoutResult:
    outcome: Outcome
    message: str | None = None  # the processor's own words (English), for logs and the API
    failure_code: str | None = None
    decline_code: str | None = None
    payment_id: str | None = None
    setup_token: str | None = None  # signed state of a card-update challenge
    # The processor gave no clear answer to a charge: it may have happened. The next
    # attempt asks about this one first (service.settle_unknown), so a retry is safe.
    outcome_unknown: bool = False


def _declined(result: ChargeResult, payment_id: str | None = None) -> CheckoutResult:
    return CheckoutResult(Outcome.DECLINED, message=result.failure_message, failure_code=result.failure_code,
                          decline_code=result.decline_code, payment_id=payment_id,
                          outcome_unknown=payment_id is not None and result.failure_code in UNKNOWN_OUTCOME)


def _unreachable(error: ProcessorError) -> CheckoutResult:
    return CheckoutResult(Outcome.DECLINED, message=str(error), failure_code=error.code)


def _caller(session: Session, invoice: Invoice) -> Caller:
    account = session.get(Account, invoice.account_id)
    assert account is not None
    return Caller(account, invoice.livemode)


def _customer(session: Session, invoice: Invoice) -> Customer:
    customer = session.get(Customer, invoice.customer_id)
    assert customer is not None
    return customer


def saved_method(session: Session, invoice: Invoice) -> PaymentMethod | None:
    """The customer's default card, shown as "Visa ending in 4242"."""
    customer = _customer(session, invoice)
    if customer.default_payment_method_id is None:
        return None
    pm = session.get(PaymentMethod, customer.default_payment_method_id)
    return pm if pm is not None and pm.detached_at is None else None


def _refuse_if_deleted(customer: Customer) -> None:
    """No card is kept for a deleted customer (SPEC §3); their invoice is still paid with a typed card."""
    if customer.deleted:
        raise InvalidRequest("This customer's cards can no longer be saved; pay the invoice with a card instead.",
                             param="card", code="customer_deleted")


def _require_payable(invoice: Invoice) -> None:
    if not invoice.is_payable:
        raise illegal(invoice, "pay")


def _collect(session: Session, invoice: Invoice, pm: PaymentMethod, return_url: Callable[[str], str], *,
             set_default: bool = False) -> CheckoutResult:
    processor = processor_for(invoice.livemode)
    stopped = _clear_the_way(session, invoice, processor)
    if stopped is not None:
        return stopped
    payment = claim(session, invoice, pm, off_session=False, set_default_on_success=set_default,
                    return_url=return_url)
    result = charge(processor, payment, pm)
    record_outcome(session, invoice, payment, result)
    return _result(result, payment.id)


def _clear_the_way(session: Session, invoice: Invoice, processor: Processor) -> CheckoutResult | None:
    """What must happen before money moves on this invoice (a charge, or a 3DS confirmation),
    as the API's /pay does it: a dead process's attempt is finished first (same key, same
    charge; a live one answers 409), and every attempt without an answer is asked about.
    Returns the outcome that stops the customer's payment, or None to go ahead. Commits."""
    if invoice.collecting_payment_id is not None:
        resume_stale_claim(session, _caller(session, invoice), invoice, processor)
        if not invoice.is_payable:
            return CheckoutResult(Outcome.PAID, payment_id=invoice.payment_id)
    answer = settle_unknown(session, invoice, processor)
    if blocks_new_charge(answer):
        # An earlier attempt got no clear answer before; what the processor says now decides,
        # and nothing new moves beside it.
        assert answer is not None
        return _result(answer, invoice.payment_id)
    return None


def _result(result: ChargeResult, payment_id: str | None) -> CheckoutResult:
    if result.status is ChargeStatus.SUCCEEDED:
        return CheckoutResult(Outcome.PAID, payment_id=payment_id)
    if result.status is ChargeStatus.REQUIRES_ACTION:
        return CheckoutResult(Outcome.REQUIRES_ACTION, payment_id=payment_id)
    return _declined(result, payment_id)


def pay_with_card(session: Session, invoice: Invoice, card: CardDetails, *, save_as_default: bool,
                  return_url: Callable[[str], str]) -> CheckoutResult:
    """Save the typed card and charge it; it becomes the default only if the
    payment succeeds and the customer asked. Commits.

    ``return_url(payment_id)`` is where a 3DS challenge sends the customer back.
    Raises CardError for a card the processor refuses to save (e.g. a real
    card in test mode), Conflict when the invoice is not payable.
    """
    _require_payable(invoice)
    try:
        pm = save_card(session, _caller(session, invoice), _customer(session, invoice), card, set_default=False)
    except ProcessorError as error:
        session.rollback()
        return _unreachable(error)
    session.commit()
    return _collect(session, invoice, pm, return_url, set_default=save_as_default)


def pay_with_saved(session: Session, invoice: Invoice, pm_id: str, *,
                   return_url: Callable[[str], str]) -> CheckoutResult:
    """Charge the customer's saved default card on-session. Commits."""
    _require_payable(invoice)
    pm = saved_method(session, invoice)
    if pm is None or pm.id != pm_id:
        raise InvalidRequest("That saved card is no longer available; enter a card.", param="method")
    return _collect(session, invoice, pm, return_url)


def challenge_payment(session: Session, invoice: Invoice, payment_id: str) -> Payment:
    """The payment waiting for this customer's authentication, or NotFound/Conflict."""
    _require_payable(invoice)
    payment = session.get(Payment, payment_id)
    if payment is None or payment.invoice_id != invoice.id:
        raise NotFound("No such payment.")
    if payment.status is not PaymentStatus.REQUIRES_ACTION or payment.off_session or payment.processor_id is None:
        raise Conflict("This payment no longer waits for authentication.", code="payment_not_pending")
    return payment


def complete_authentication(session: Session, invoice: Invoice, payment_id: str,
                            passed: bool | None) -> CheckoutResult:
    """The customer answered the challenge: confirm with the processor. Commits.

    Re-claims the invoice first, so two tabs answering at once confirm once.
    ``passed`` is the sandbox challenge's answer; a live processor knows it.
    """
    challenge_payment(session, invoice, payment_id)
    processor = processor_for(invoice.livemode)
    # Confirming moves money, like a new charge: not beside another attempt that may have
    # charged already (a merchant's /pay that got no answer, say).
    stopped = _clear_the_way(session, invoice, processor)
    if stopped is not None:
        return stopped
    payment = _reclaim(session, invoice, payment_id)
    session.commit()
    result = confirm(processor, payment, passed=passed)
    record_outcome(session, invoice, payment, result)
    return _result(result, payment.id)  # a bank may ask again: back to the challenge


def _reclaim(session: Session, invoice: Invoice, payment_id: str) -> Payment:
    """Take the invoice's collection slot again for the payment waiting for 3DS.

    Raises Conflict ``payment_in_progress`` when another collection holds it (the other
    tab's answer), ``payment_not_pending`` when the payment no longer waits, and the
    status Conflict when the invoice is no longer payable.
    """
    payment = challenge_payment(session, invoice, payment_id)
    take_slot(session, invoice, payment, waiting=PaymentStatus.REQUIRES_ACTION)
    return payment


def update_default_card(session: Session, invoice: Invoice, card: CardDetails, *,
                        return_url: Callable[[str], str]) -> CheckoutResult:
    """"Update payment method": save the card and make it the default, after 3DS
    when the card asks for it. Commits.

    ``return_url(state)`` is where a 3DS challenge sends the customer back.
    Allowed while the invoice is open or uncollectible (a customer fixing the
    card that dunning will use); refused after paid or void.
    """
    _require_payable(invoice)
    caller = _caller(session, invoice)
    customer = _customer(session, invoice)
    _refuse_if_deleted(customer)
    try:
        pm = save_card(session, caller, customer, card, set_default=False)
    except ProcessorError as error:
        session.rollback()
        return _unreachable(error)
    state = tokens.mint(SETUP_CHALLENGE, {"i": invoice.id, "pm": pm.id}, timed=True)
    session.commit()
    processor = processor_for(invoice.livemode)
    try:
        result = processor.setup(SetupRequest(pm.processor_ref, f"vinr_{pm.id}_setup", return_url(state)))
    except ProcessorError as error:
        return _unreachable(error)
    if result.status is ChargeStatus.REQUIRES_ACTION:
        pm.setup_ref, pm.setup_action_url = result.processor_id, result.action_url
        session.commit()
        return CheckoutResult(Outcome.REQUIRES_ACTION, setup_token=state)
    if result.status is ChargeStatus.FAILED:
        return _declined(result)
    _make_default(session, caller, customer, pm)
    session.commit()
    return CheckoutResult(Outcome.SAVED)


def setup_challenge(session: Session, invoice: Invoice, state: str) -> PaymentMethod:
    """The card a card-update challenge is for; NotFound for a bad or stale state."""
    _require_payable(invoice)
    try:
        data = tokens.verify(SETUP_CHALLENGE, state, max_age=SETUP_CHALLENGE_MAX_AGE)
    except tokens.InvalidToken:
        raise NotFound("No such authentication.") from None
    pm = session.get(PaymentMethod, data.get("pm"))
    if data.get("i") != invoice.id or pm is None or pm.customer_id != invoice.customer_id or pm.setup_ref is None:
        raise NotFound("No such authentication.")
    return pm


def complete_setup(session: Session, invoice: Invoice, state: str, passed: bool | None) -> CheckoutResult:
    """Confirm a card-update challenge; on success the card becomes the default. Commits."""
    pm = setup_challenge(session, invoice, state)
    assert pm.setup_ref is not None
    session.commit()
    processor = processor_for(invoice.livemode)
    try:
        result = processor.confirm_setup(ConfirmRequest(pm.setup_ref, f"vinr_{pm.id}_setup_confirm",
                                                        challenge_passed=passed))
    except ProcessorError as error:
        return _unreachable(error)
    if result.status is not ChargeStatus.SUCCEEDED:
        return _declined(result)
    pm.setup_ref = pm.setup_action_url = None
    customer = _customer(session, invoice)
    _refuse_if_deleted(customer)  # deleted while answering the challenge: the card was detached with the rest
    _make_default(session, _caller(session, invoice), customer, pm)
    session.commit()
    return CheckoutResult(Outcome.SAVED)


def _make_default(session: Session, caller: Caller, customer: Customer, pm: PaymentMethod) -> None:
    customer.default_payment_method_id = pm.id
    session.flush()
    record(session, caller.account.id, caller.livemode, "customer.updated", serialize_customer(customer))


BRAND_NAMES = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express", "discover": "Discover",
               "diners": "Diners Club", "jcb": "JCB", "unionpay": "UnionPay"}


def brand_name(pm: PaymentMethod) -> str:
    """The card network's own name, for "Visa ending in 4242" (SPEC §7)."""
    return BRAND_NAMES.get(pm.brand, "Card")
