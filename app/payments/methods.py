"""Saved cards (SPEC §3 payment methods): only what is safe to keep, never a number or CVC."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.service import Caller
from app.automation.plans import resume_with_new_card
from app.customers.models import Customer
from app.customers.service import get_customer
from app.customers.service import serialize as serialize_customer
from app.errors import InvalidRequest
from app.events.service import record
from app.ids import new_id
from app.pagination import Page, paginate
from app.payments.cards import validate_card
from app.payments.models import PaymentMethod
from app.payments.processor import CardDetails, processor_for
from app.payments.schemas import PaymentMethodCreate, PaymentMethodList
from app.tenancy import get_for, lookup
from app.transactions import end_transaction


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
    pm = save_card(session, caller, customer, details)
    if params.set_default:
        make_default(session, customer, pm)
    return pm


def save_card(session: Session, caller: Caller, customer: Customer, details: CardDetails) -> PaymentMethod:
    """Tokenize a validated card with the mode's processor and keep the safe parts; flushes.

    The processor call runs outside any transaction: the one in progress ends
    first (app/transactions.py). A deleted customer's card pays the one invoice
    it is typed for and is kept detached. Raises CardError for a card the
    processor refuses, ProcessorError when it gives no answer.
    """
    processor = processor_for(caller.livemode)
    pm_id = new_id("pm")
    end_transaction(session)
    token = processor.tokenize(details, idempotency_key=f"vinr_{pm_id}")
    now = clock.now()
    pm = PaymentMethod(id=pm_id, account_id=caller.account.id, livemode=caller.livemode, created=now,
                       customer_id=customer.id, processor=processor.name, processor_ref=token.processor_ref,
                       brand=token.brand, last4=token.last4, exp_month=token.exp_month,
                       exp_year=token.exp_year, fingerprint=token.fingerprint, metadata_={},
                       detached_at=now if customer.deleted else None)
    session.add(pm)
    session.flush()
    return pm


def make_default(session: Session, customer: Customer, pm: PaymentMethod) -> None:
    """Make ``pm`` the customer's default card and announce it (``customer.updated``);
    a deleted customer keeps no card, so nothing changes for one. Dunning that waits
    for the customer tries the new card (SPEC §5)."""
    if customer.deleted or pm.detached_at is not None:
        return
    customer.default_payment_method_id = pm.id
    session.flush()
    record(session, customer.account_id, customer.livemode, "customer.updated", serialize_customer(customer))
    resume_with_new_card(session, customer.id)


_ATTACHED = lookup(PaymentMethod, PaymentMethod.detached_at.is_(None))
_ATTACHED_TO = lookup(PaymentMethod, PaymentMethod.detached_at.is_(None),
                      PaymentMethod.customer_id == sa.bindparam("customer_id"))


def get_payment_method(session: Session, caller: Caller, pm_id: str, *, customer_id: str | None = None,
                       param: str = "payment_method") -> PaymentMethod:
    """The caller's saved card (of ``customer_id`` when given), or NotFound naming ``param``;
    a card detached from its deleted customer is not found either."""
    if customer_id is None:
        return get_for(session, caller, PaymentMethod, pm_id, param=param, using=_ATTACHED)
    return get_for(session, caller, PaymentMethod, pm_id, param=param, using=_ATTACHED_TO,
                   params={"customer_id": customer_id})


def default_method(session: Session, customer: Customer) -> PaymentMethod | None:
    """The customer's default card, if they have one that can still be charged."""
    if customer.default_payment_method_id is None:
        return None
    pm = session.get(PaymentMethod, customer.default_payment_method_id)
    return pm if pm is not None and pm.detached_at is None else None


def list_payment_methods(session: Session, caller: Caller, customer_id: str,
                         query: PaymentMethodList) -> Page[PaymentMethod]:
    """A page of the customer's saved cards, newest first; NotFound for a foreign customer."""
    customer = get_customer(session, caller, customer_id)
    stmt = sa.select(PaymentMethod).where(PaymentMethod.customer_id == customer.id)
    return paginate(session, stmt, PaymentMethod, caller, limit=query.limit, starting_after=query.starting_after,
                    ending_before=query.ending_before)
