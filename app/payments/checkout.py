"""On-session payments from the hosted invoice page (SPEC §7).

The same claim → charge → record steps as ``/pay`` (see app.payments.service),
so the never-twice guarantees are the same; the difference is that the
customer is present, so a card that asks for 3DS gets a challenge instead of
failing with ``authentication_required``.
"""

from __future__ import annotations

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
from app.payments.processor import CardDetails, ChargeStatus, ConfirmRequest, SetupRequest
from app.payments.service import (
    charge,
    claim,
    guarded,
    processor_for,
    record_outcome,
    save_card,
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
    action_url: str | None = None  # the processor's own challenge page (live mode)
    setup_token: str | None = None  # signed state of a card-update challenge


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
    return session.get(PaymentMethod, customer.default_payment_method_id)


def _require_payable(invoice: Invoice) -> None:
    if not invoice.is_payable:
        raise illegal(invoice, "pay")


def _collect(session: Session, invoice: Invoice, pm: PaymentMethod, return_url: str | None) -> CheckoutResult:
    processor = processor_for(invoice.livemode)
    payment = claim(session, invoice, pm, off_session=False)
    result = charge(processor, payment, pm, return_url=return_url)
    record_outcome(session, invoice, payment, result)
    if result.status is ChargeStatus.SUCCEEDED:
        return CheckoutResult(Outcome.PAID, payment_id=payment.id)
    if result.status is ChargeStatus.REQUIRES_ACTION:
        return CheckoutResult(Outcome.REQUIRES_ACTION, payment_id=payment.id, action_url=result.action_url)
    return CheckoutResult(Outcome.DECLINED, message=payment.failure_message, payment_id=payment.id,
                          failure_code=payment.failure_code, decline_code=payment.decline_code)


def pay_with_card(session: Session, invoice: Invoice, card: CardDetails, *, save_as_default: bool,
                  return_url: str | None) -> CheckoutResult:
    """Save the typed card (as the default if asked) and charge it. Commits.

    Raises CardError for a card the processor refuses to save (e.g. a real
    card in test mode), Conflict when the invoice is not payable.
    """
    _require_payable(invoice)
    pm = save_card(session, _caller(session, invoice), _customer(session, invoice), card,
                   set_default=save_as_default)
    session.commit()
    return _collect(session, invoice, pm, return_url)


def pay_with_saved(session: Session, invoice: Invoice, pm_id: str, *, return_url: str | None) -> CheckoutResult:
    """Charge the customer's saved default card on-session. Commits."""
    _require_payable(invoice)
    pm = saved_method(session, invoice)
    if pm is None or pm.id != pm_id:
        raise InvalidRequest("That saved card is no longer available; enter a card.", param="method")
    return _collect(session, invoice, pm, return_url)


def _pending_payment(session: Session, invoice: Invoice, payment_id: str) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None or payment.invoice_id != invoice.id:
        raise NotFound("No such payment.")
    if payment.status is not PaymentStatus.REQUIRES_ACTION or payment.off_session:
        raise Conflict("This payment no longer waits for authentication.", code="payment_not_pending")
    return payment


def challenge_payment(session: Session, invoice: Invoice, payment_id: str) -> Payment:
    """The payment a 3DS challenge page is for, or NotFound/Conflict."""
    _require_payable(invoice)
    return _pending_payment(session, invoice, payment_id)


def complete_authentication(session: Session, invoice: Invoice, payment_id: str,
                            passed: bool | None) -> CheckoutResult:
    """The customer answered the challenge: confirm with the processor. Commits.

    Re-claims the invoice first, so two tabs answering at once confirm once.
    """
    _require_payable(invoice)
    payment = _pending_payment(session, invoice, payment_id)
    if invoice.collecting_payment_id is not None:
        raise Conflict("A payment for this invoice is already in progress.", code="payment_in_progress")
    invoice.collecting_payment_id = payment.id
    payment.status = PaymentStatus.PROCESSING
    session.flush()
    session.commit()
    processor = processor_for(invoice.livemode)
    assert payment.processor_id is not None
    request = ConfirmRequest(payment.processor_id, f"{payment.processor_key}_confirm", challenge_passed=passed)
    result = guarded(lambda: processor.confirm(request), payment)
    record_outcome(session, invoice, payment, result)
    if result.status is ChargeStatus.SUCCEEDED:
        return CheckoutResult(Outcome.PAID, payment_id=payment.id)
    return CheckoutResult(Outcome.DECLINED, message=payment.failure_message, payment_id=payment.id,
                          failure_code=payment.failure_code, decline_code=payment.decline_code)


def update_default_card(session: Session, invoice: Invoice, card: CardDetails, *,
                        return_url: str | None) -> CheckoutResult:
    """"Update payment method": save the card and make it the default, after 3DS
    when the card asks for it. Commits.

    Allowed while the invoice is open or uncollectible (a customer fixing the
    card that dunning will use); refused after paid or void.
    """
    _require_payable(invoice)
    caller = _caller(session, invoice)
    customer = _customer(session, invoice)
    pm = save_card(session, caller, customer, card, set_default=False)
    processor = processor_for(invoice.livemode)
    result = processor.setup(SetupRequest(pm.processor_ref, f"vinr_{pm.id}_setup", return_url))
    if result.status is ChargeStatus.REQUIRES_ACTION:
        assert result.processor_id is not None
        state = tokens.mint(SETUP_CHALLENGE, {"i": invoice.id, "pm": pm.id, "si": result.processor_id},
                            timed=True)
        session.commit()
        return CheckoutResult(Outcome.REQUIRES_ACTION, action_url=result.action_url, setup_token=state)
    if result.status is ChargeStatus.FAILED:
        session.commit()
        return CheckoutResult(Outcome.DECLINED, message=result.failure_message or "Your card was declined.",
                              failure_code=result.failure_code, decline_code=result.decline_code)
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
    if data.get("i") != invoice.id or pm is None or pm.customer_id != invoice.customer_id:
        raise NotFound("No such authentication.")
    return pm


def complete_setup(session: Session, invoice: Invoice, state: str, passed: bool | None) -> CheckoutResult:
    """Confirm a card-update challenge; on success the card becomes the default. Commits."""
    pm = setup_challenge(session, invoice, state)
    data = tokens.verify(SETUP_CHALLENGE, state, max_age=SETUP_CHALLENGE_MAX_AGE)
    processor = processor_for(invoice.livemode)
    result = processor.confirm_setup(ConfirmRequest(str(data["si"]), f"vinr_{pm.id}_setup_confirm",
                                                    challenge_passed=passed))
    if result.status is not ChargeStatus.SUCCEEDED:
        return CheckoutResult(Outcome.DECLINED,
                              message=result.failure_message or "Authentication failed: your card was declined.",
                              failure_code=result.failure_code or "card_declined",
                              decline_code=result.decline_code or "authentication_failed")
    _make_default(session, _caller(session, invoice), _customer(session, invoice), pm)
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


__all__ = ["BRAND_NAMES", "CheckoutResult", "Outcome", "brand_name", "challenge_payment", "complete_authentication",
           "complete_setup", "pay_with_card", "pay_with_saved", "saved_method", "setup_challenge",
           "update_default_card"]
