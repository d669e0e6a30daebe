"""Saved cards (SPEC §3 payment methods): only what is safe to keep, never a number or CVC."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.service import Caller
from app.customers.models import Customer
from app.customers.service import get_customer
from app.errors import InvalidRequest
from app.pagination import Page, paginate
from app.payments import flow
from app.payments.cards import validate_card
from app.payments.models import PaymentMethod
from app.payments.schemas import PaymentMethodCreate, PaymentMethodList
from app.tenancy import get_for, lookup


def add_payment_method(session: Session, money: flow.MoneyFlow, caller: Caller, customer_id: str,
                       params: PaymentMethodCreate) -> PaymentMethod:
    """Validate and save a card (test mode only; live cards come from the hosted page).

    Two transactions: the money flow's tokenize step keeps the card and its processor
    call (``flow.save_card`` commits), then making it the default is the request's own.
    Raises CardError (402) for a card that fails validation or is not a test card.
    """
    if caller.livemode:
        raise InvalidRequest("In live mode cards are collected on the hosted invoice page, not through the API.",
                             param="card", code="live_mode_cards_not_accepted")
    customer = get_customer(session, caller, customer_id)
    card = params.card
    details = validate_card(card.number, card.exp_month, card.exp_year, card.cvc)
    pm = flow.save_card(session, money, caller, customer, details)
    if params.set_default:
        flow.make_default(session, customer, pm, money.consequences)
    return pm


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
