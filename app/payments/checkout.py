"""On-session payments and card updates from the hosted invoice page (SPEC §7).

Paying and saving a card are steps of the money flow (app/payments/flow.py), so the
never-twice guarantees are the API's; the difference is that the customer is
present, so a card that asks for 3DS gets a challenge instead of failing with
``authentication_required``. This module turns what the flow answers into what
the page shows: a processor that cannot be reached is an outcome the customer
sees, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import tokens
from app.accounts.service import Caller
from app.customers.models import Customer
from app.errors import Conflict, InvalidRequest, NotFound
from app.invoices.models import Invoice
from app.invoices.states import illegal
from app.payments import flow
from app.payments.cards import BRAND_NAMES
from app.payments.flow import MoneyFlow
from app.payments.methods import default_method
from app.payments.models import Payment, PaymentMethod, PaymentStatus
from app.payments.processor import CardDetails, ChargeResult, ChargeStatus, ProcessorError
from app.payments.states import PAYMENT_OUTCOME_UNKNOWN as PAYMENT_OUTCOME_UNKNOWN  # the views' decline text
from app.payments.states import UNKNOWN_OUTCOME

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
    # attempt asks about this one first (app/payments/flow.py, settle), so a retry is safe.
    outcome_unknown: bool = False


def _declined(result: ChargeResult, payment_id: str | None = None) -> CheckoutResult:
    return CheckoutResult(Outcome.DECLINED, message=result.failure_message, failure_code=result.failure_code,
                          decline_code=result.decline_code, payment_id=payment_id,
                          outcome_unknown=payment_id is not None and result.failure_code in UNKNOWN_OUTCOME)


def _unreachable(error: ProcessorError) -> CheckoutResult:
    return CheckoutResult(Outcome.DECLINED, message=str(error), failure_code=error.code)


def _result(collected: flow.Collected) -> CheckoutResult:
    if collected.result.status is ChargeStatus.SUCCEEDED:
        return CheckoutResult(Outcome.PAID, payment_id=collected.payment_id)
    if collected.result.status is ChargeStatus.REQUIRES_ACTION:
        return CheckoutResult(Outcome.REQUIRES_ACTION, payment_id=collected.payment_id)
    return _declined(collected.result, collected.payment_id)


def saved_method(session: Session, invoice: Invoice) -> PaymentMethod | None:
    """The customer's default card, shown as "Visa ending in 4242"."""
    return default_method(session, invoice.customer)


def _refuse_if_deleted(customer: Customer) -> None:
    """No card is kept for a deleted customer (SPEC §3); their invoice is still paid with a typed card."""
    if customer.deleted:
        raise InvalidRequest("This customer's cards can no longer be saved; pay the invoice with a card instead.",
                             param="card", code="customer_deleted")


def _require_payable(invoice: Invoice) -> None:
    if not invoice.is_payable:
        raise illegal(invoice, "pay")


def pay_with_card(session: Session, money: MoneyFlow, invoice: Invoice, card: CardDetails, *,
                  save_as_default: bool, return_url: Callable[[str], str]) -> CheckoutResult:
    """Save the typed card and charge it; it becomes the default only if the
    payment succeeds and the customer asked. Commits.

    ``return_url(payment_id)`` is where a 3DS challenge sends the customer back.
    Raises CardError for a card the processor refuses to save (e.g. a real
    card in test mode), Conflict when the invoice is not payable.
    """
    _require_payable(invoice)
    try:
        pm = flow.save_card(session, money, Caller(invoice.account, invoice.livemode), invoice.customer, card)
    except ProcessorError as error:
        return _unreachable(error)
    return _result(flow.collect(session, invoice, money, pm, off_session=False,
                                set_default_on_success=save_as_default, return_url=return_url))


def pay_with_saved(session: Session, money: MoneyFlow, invoice: Invoice, pm_id: str, *,
                   return_url: Callable[[str], str]) -> CheckoutResult:
    """Charge the customer's saved default card on-session. Commits."""
    _require_payable(invoice)
    pm = saved_method(session, invoice)
    if pm is None or pm.id != pm_id:
        raise InvalidRequest("That saved card is no longer available; enter a card.", param="method")
    return _result(flow.collect(session, invoice, money, pm, off_session=False, return_url=return_url))


def challenge_payment(session: Session, invoice: Invoice, payment_id: str) -> Payment:
    """The payment waiting for this customer's authentication, or NotFound/Conflict."""
    _require_payable(invoice)
    payment = session.get(Payment, payment_id)
    if payment is None or payment.invoice_id != invoice.id:
        raise NotFound("No such payment.")
    if payment.status is not PaymentStatus.REQUIRES_ACTION or payment.off_session or payment.processor_id is None:
        raise Conflict("This payment no longer waits for authentication.", code="payment_not_pending")
    return payment


def complete_authentication(session: Session, money: MoneyFlow, invoice: Invoice, payment_id: str,
                            passed: bool | None) -> CheckoutResult:
    """The customer answered the challenge: confirm with the processor. Commits.

    Raises Conflict ``payment_in_progress`` when the other tab's answer holds the
    invoice, ``payment_not_pending`` when this one was answered already.
    """
    challenge_payment(session, invoice, payment_id)
    return _result(flow.confirm_authentication(session, invoice, money, payment_id, passed=passed))


def update_default_card(session: Session, money: MoneyFlow, invoice: Invoice, card: CardDetails, *,
                        return_url: Callable[[str], str], secret_key: str) -> CheckoutResult:
    """"Update payment method": save the card and make it the default, after 3DS
    when the card asks for it. Commits (the flow's tokenize and set-up steps).

    ``return_url(state)`` is where a 3DS challenge sends the customer back; ``state`` is
    signed with ``secret_key`` (the app's).
    Allowed while the invoice is open or uncollectible (a customer fixing the
    card that dunning will use); refused after paid or void.
    """
    _require_payable(invoice)
    customer = invoice.customer
    _refuse_if_deleted(customer)
    try:
        pm = flow.save_card(session, money, Caller(invoice.account, invoice.livemode), customer, card)
    except ProcessorError as error:
        return _unreachable(error)
    state = tokens.mint(SETUP_CHALLENGE, {"i": invoice.id, "pm": pm.id}, secret_key=secret_key, timed=True)
    call = flow.set_up_card(session, money, customer, pm, return_url(state))
    if call.error is not None:
        return _unreachable(call.error)
    if call.result.status is ChargeStatus.REQUIRES_ACTION:
        return CheckoutResult(Outcome.REQUIRES_ACTION, setup_token=state)
    if call.result.status is ChargeStatus.FAILED:
        return _declined(call.result)
    return CheckoutResult(Outcome.SAVED)


def setup_challenge(session: Session, invoice: Invoice, state: str, *, secret_key: str) -> PaymentMethod:
    """The card a card-update challenge is for; NotFound for a bad or stale state."""
    _require_payable(invoice)
    try:
        data = tokens.verify(SETUP_CHALLENGE, state, secret_key=secret_key, max_age=SETUP_CHALLENGE_MAX_AGE)
    except tokens.InvalidToken:
        raise NotFound("No such authentication.") from None
    pm = session.get(PaymentMethod, data.get("pm"))
    if data.get("i") != invoice.id or pm is None or pm.customer_id != invoice.customer_id or pm.setup_ref is None:
        raise NotFound("No such authentication.")
    return pm


def complete_setup(session: Session, money: MoneyFlow, invoice: Invoice, state: str,
                   passed: bool | None, *, secret_key: str) -> CheckoutResult:
    """Confirm a card-update challenge; on success the card becomes the default. Commits
    (the flow's confirm-set-up step)."""
    pm = setup_challenge(session, invoice, state, secret_key=secret_key)
    call, customer = flow.confirm_set_up(session, money, pm, passed=passed)
    if call.error is not None:
        return _unreachable(call.error)
    if call.result.status is not ChargeStatus.SUCCEEDED:
        return _declined(call.result)
    _refuse_if_deleted(customer)
    return CheckoutResult(Outcome.SAVED)


def brand_name(pm: PaymentMethod) -> str:
    """The card network's own name, for "Visa ending in 4242" (SPEC §7)."""
    return card_brand_name(pm.brand)


def card_brand_name(brand: str | None) -> str:
    return BRAND_NAMES.get(brand or "", "Card")


def paying_payment(session: Session, invoice: Invoice) -> Payment | None:
    """The completed payment that paid ``invoice`` (the newest), for its receipt; None when
    it was paid otherwise."""
    return session.scalars(
        sa.select(Payment).where(Payment.invoice_id == invoice.id, Payment.status == PaymentStatus.COMPLETED)
        .order_by(Payment.created.desc(), Payment.id.desc()).limit(1)).first()
