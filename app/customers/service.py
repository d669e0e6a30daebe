"""Customers (SPEC §3). Every read is scoped to the caller's account and mode."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.service import Caller
from app.catalog.service import get_coupon
from app.customers.models import Customer
from app.customers.schemas import CustomerCreate, CustomerList, CustomerUpdate
from app.errors import InvalidRequest
from app.events.service import record
from app.ids import new_id
from app.pagination import Page, paginate
from app.payments.models import PaymentMethod
from app.tenancy import get_for, lookup, scoped


def serialize(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id, "object": "customer", "livemode": customer.livemode,
        "created": customer.created, "email": customer.email, "name": customer.name,
        "address": customer.address, "preferred_locales": list(customer.preferred_locales),
        "tax_exempt": customer.tax_exempt,
        "coupon": customer.coupon.id if customer.coupon is not None else None,
        "invoice_settings": {"default_payment_method": customer.default_payment_method_id},
        "tax_ids": [dict(tax_id) for tax_id in customer.tax_ids],
        "einvoice": {"buyer_reference": customer.einvoice_buyer_reference, "format": customer.einvoice_format},
        "balance": customer.balance, "currency": customer.balance_currency,
        "metadata": dict(customer.metadata_),
    }


_LIVE_CUSTOMER = lookup(Customer, Customer.deleted.is_(False))


def get_customer(session: Session, caller: Caller, customer_id: str, *, param: str = "id",
                 for_update: bool = False) -> Customer:
    """The caller's customer, unless deleted, or NotFound naming ``param``."""
    return get_for(session, caller, Customer, customer_id, param=param, using=_LIVE_CUSTOMER,
                   for_update=for_update)


def _apply(session: Session, caller: Caller, customer: Customer, params: CustomerCreate) -> None:
    fields = params.model_fields_set
    for name in ("email", "name", "tax_exempt"):
        if name in fields:
            setattr(customer, name, getattr(params, name))
    if "address" in fields:
        customer.address = params.address.model_dump() if params.address else None
    if "preferred_locales" in fields:
        customer.preferred_locales = list(params.preferred_locales)
    if "coupon" in fields:
        customer.coupon = (get_coupon(session, caller, params.coupon, param="coupon")
                           if params.coupon else None)
    if "invoice_settings" in fields and params.invoice_settings is not None:
        pm_id = params.invoice_settings.default_payment_method
        if pm_id is not None and session.scalar(scoped(sa.select(PaymentMethod.id), caller, PaymentMethod).where(
                PaymentMethod.id == pm_id, PaymentMethod.customer_id == customer.id)) is None:
            raise InvalidRequest(f"No such payment method for this customer: '{pm_id}'",
                                 param="invoice_settings[default_payment_method]")
        customer.default_payment_method_id = pm_id
    if "tax_ids" in fields:
        customer.tax_ids = _tax_ids(params)
    if "einvoice" in fields and params.einvoice is not None:
        given = params.einvoice.model_fields_set
        if "buyer_reference" in given:
            customer.einvoice_buyer_reference = params.einvoice.buyer_reference
        if "format" in given:
            customer.einvoice_format = params.einvoice.format
    if "metadata" in fields:
        merged = {**customer.metadata_, **params.metadata}
        # An empty string removes a key, as merchants expect from Stripe-like APIs.
        customer.metadata_ = {k: v for k, v in merged.items() if v != ""}


def _tax_ids(params: CustomerCreate) -> list[dict[str, str]]:
    """The tax ids sent, values already checked and compacted (app/customers/schemas.TaxId)."""
    tax_ids: list[dict[str, str]] = []
    for index, tax_id in enumerate(params.tax_ids or []):
        entry = {"type": tax_id.type, "value": tax_id.value}
        if entry in tax_ids:
            raise InvalidRequest(f"tax_ids[{index}] repeats a tax id listed before it.",
                                 param=f"tax_ids[{index}][value]")
        tax_ids.append(entry)
    return tax_ids


def create_customer(session: Session, caller: Caller, params: CustomerCreate) -> Customer:
    customer = Customer(id=new_id("cust"), account_id=caller.account.id, livemode=caller.livemode,
                        created=clock.now(), preferred_locales=[], metadata_={}, tax_exempt="none",
                        tax_ids=[], einvoice_format="none", balance=0)
    _apply(session, caller, customer, params)
    session.add(customer)
    session.flush()
    record(session, caller.account.id, caller.livemode, "customer.created", serialize(customer))
    return customer


def update_customer(session: Session, caller: Caller, customer_id: str, params: CustomerUpdate) -> Customer:
    customer = get_customer(session, caller, customer_id)
    _apply(session, caller, customer, params)
    session.flush()
    record(session, caller.account.id, caller.livemode, "customer.updated", serialize(customer))
    return customer


def delete_customer(session: Session, caller: Caller, customer_id: str) -> dict[str, Any]:
    """Soft delete: invoices keep pointing at the row; the API no longer finds it.

    Their payment methods are detached and the default cleared, so nothing is
    charged off-session afterwards (SPEC §3); their open invoices stay payable
    on the hosted page with a card typed there.
    """
    customer = get_customer(session, caller, customer_id)
    customer.deleted = True
    customer.default_payment_method_id = None
    session.execute(sa.update(PaymentMethod).where(
        PaymentMethod.customer_id == customer.id, PaymentMethod.detached_at.is_(None),
    ).values(detached_at=clock.now()).execution_options(synchronize_session="fetch"))
    session.flush()
    record(session, caller.account.id, caller.livemode, "customer.deleted", serialize(customer))
    return {"id": customer.id, "object": "customer", "deleted": True}


def list_customers(session: Session, caller: Caller, query: CustomerList) -> Page[Customer]:
    stmt = scoped(sa.select(Customer), caller, Customer).where(Customer.deleted.is_(False))
    if query.email is not None:
        stmt = stmt.where(Customer.email == query.email)
    return paginate(session, stmt, Customer, caller, limit=query.limit,
                    starting_after=query.starting_after, ending_before=query.ending_before)
