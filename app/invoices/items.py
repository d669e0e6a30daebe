"""Pending invoice items: charges for a customer, swept onto their next invoice (SPEC §3)."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.service import Caller
from app.catalog.models import Price
from app.catalog.service import active_tax_rate_ids
from app.customers.models import Customer
from app.customers.service import get_customer
from app.errors import Conflict, InvalidRequest
from app.ids import new_id
from app.invoices.models import Invoice, InvoiceItem
from app.invoices.schemas import InvoiceItemCreate, InvoiceItemList
from app.money import MAX_AMOUNT, MAX_LINES
from app.pagination import Page, paginate
from app.tenancy import get_for, lookup, scoped


def line_amount(quantity: int, unit_amount: int, param: str) -> int:
    amount = quantity * unit_amount
    if amount > MAX_AMOUNT:
        raise InvalidRequest(f"A line's amount (quantity x unit_amount) may be at most {MAX_AMOUNT}.",
                             param=param)
    return amount



_PENDING = (
    sa.select(InvoiceItem)
    .where(InvoiceItem.customer_id == sa.bindparam("customer_id"), InvoiceItem.invoice_id.is_(None),
           InvoiceItem.deleted.is_(False))
    .order_by(InvoiceItem.created, InvoiceItem.id).limit(10 * MAX_LINES)
)


def pending_items(session: Session, customer: Customer) -> list[InvoiceItem]:
    """The customer's pending items, oldest first (a bounded read: more than
    MAX_LINES in one currency cannot become one invoice anyway)."""
    return list(session.scalars(_PENDING, {"customer_id": customer.id}))


def claim_items(session: Session, invoice: Invoice, items: list[InvoiceItem]) -> None:
    """Move pending items onto ``invoice``, only if they are still pending.

    A conditional UPDATE, not a read-then-write: two invoices created at the
    same moment for one customer cannot both sweep up the same item (one would
    bill it twice). The loser gets a 409 and changes nothing.
    """
    if not items:
        return
    ids = [item.id for item in items]  # the invoice row is written already (the items' foreign key)
    claimed = cast(sa.CursorResult[Any], session.execute(
        sa.update(InvoiceItem)
        .where(InvoiceItem.id.in_(ids), InvoiceItem.invoice_id.is_(None), InvoiceItem.deleted.is_(False))
        .values(invoice_id=invoice.id)
        .execution_options(synchronize_session=False)
    )).rowcount
    if claimed != len(ids):
        raise Conflict("Some of the customer's pending items were just put on another invoice; retry.",
                       code="concurrent_modification")
    for item in items:
        session.expire(item, ["invoice_id"])



def create_item(session: Session, caller: Caller, params: InvoiceItemCreate) -> InvoiceItem:
    customer = get_customer(session, caller, params.customer, param="customer")
    given = [name for name in ("amount", "unit_amount", "price") if getattr(params, name) is not None]
    if len(given) != 1:
        raise InvalidRequest("Give exactly one of amount, unit_amount (with quantity) or price.",
                             param=given[1] if len(given) > 1 else "amount")
    if params.amount is not None and params.quantity is not None:
        raise InvalidRequest("quantity goes with unit_amount or price, not amount.", param="quantity")
    currency = params.currency or caller.account.default_currency
    quantity = params.quantity or 1
    price_id, description = None, params.description
    if params.price is not None:
        price = get_for(session, caller, Price, params.price, param="price")
        if params.currency is not None and price.currency != params.currency:
            raise InvalidRequest(f"Price '{price.id}' is in {price.currency}, not {params.currency}.",
                                 param="price")
        currency, unit_amount, price_id = price.currency, price.unit_amount, price.id
        description = description if description is not None else price.nickname
    elif params.amount is not None:
        unit_amount = params.amount
    else:
        assert params.unit_amount is not None
        unit_amount = params.unit_amount
    rate_ids = None if params.tax_rates is None else active_tax_rate_ids(session, caller, params.tax_rates,
                                                                          "tax_rates")
    item = InvoiceItem(
        id=new_id("ii"), account_id=caller.account.id, livemode=caller.livemode, created=clock.now(),
        customer_id=customer.id, currency=currency, description=description, quantity=quantity,
        unit=params.unit, unit_amount=unit_amount, amount=line_amount(quantity, unit_amount, "quantity"),
        price_id=price_id, tax_rate_ids=rate_ids, metadata_=params.metadata, deleted=False,
        service_period_start=params.service_period.start if params.service_period else None,
        service_period_end=params.service_period.end if params.service_period else None)
    session.add(item)
    session.flush()
    return item


_LIVE_ITEM = lookup(InvoiceItem, InvoiceItem.deleted.is_(False))


def get_item(session: Session, caller: Caller, item_id: str) -> InvoiceItem:
    """The caller's invoice item, unless deleted, or NotFound."""
    return get_for(session, caller, InvoiceItem, item_id, using=_LIVE_ITEM)


def delete_item(session: Session, caller: Caller, item_id: str) -> dict[str, Any]:
    """Only pending items: once on an invoice, remove the line from the draft instead."""
    item = get_item(session, caller, item_id)
    if item.invoice_id is not None:
        raise Conflict(f"Invoice item '{item_id}' is already on invoice {item.invoice_id}.",
                       code="invoiceitem_on_invoice")
    item.deleted = True
    session.flush()
    return {"id": item_id, "object": "invoiceitem", "deleted": True}


def list_items(session: Session, caller: Caller, query: InvoiceItemList) -> Page[InvoiceItem]:
    stmt = scoped(sa.select(InvoiceItem), caller, InvoiceItem).where(InvoiceItem.deleted.is_(False))
    if query.customer is not None:
        stmt = stmt.where(InvoiceItem.customer_id == query.customer)
    if query.pending is not None:
        stmt = stmt.where(InvoiceItem.invoice_id.is_(None) if query.pending else InvoiceItem.invoice_id.isnot(None))
    return paginate(session, stmt, InvoiceItem, caller, limit=query.limit,
                    starting_after=query.starting_after, ending_before=query.ending_before)
