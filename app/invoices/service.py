"""Invoices, their lines and pending invoice items (SPEC §3).

Every function takes the caller (account and mode) and only ever finds that
tenant's objects. Functions flush, never commit: the request, command or job
that called them owns the transaction, and the events written here commit
or roll back with the change. Draft edits are read and written by ``store``
instead of the ORM's query and flush (the hot path, see store), in that same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from app import clock, tokens
from app.accounts.service import Caller, next_invoice_number
from app.catalog.models import Coupon, TaxRate
from app.catalog.service import get_coupon, get_price, get_tax_rate, rates_for_location
from app.customers.models import Customer
from app.customers.service import get_customer
from app.customers.service import serialize as serialize_customer
from app.db import run_on_driver
from app.errors import Conflict, InvalidRequest, NotFound
from app.events.service import record
from app.ids import new_id
from app.invoices import store, totals
from app.invoices.models import Invoice, InvoiceItem, InvoiceLine, InvoiceStatus
from app.invoices.schemas import (
    FinalizeParams,
    InvoiceCreate,
    InvoiceFields,
    InvoiceItemCreate,
    InvoiceItemList,
    InvoiceList,
    InvoiceUpdate,
    LineCreate,
    LineUpdate,
)
from app.invoices.states import illegal, transition
from app.money import MAX_AMOUNT, MAX_LINES
from app.pagination import Page, paginate

S = InvoiceStatus
DAY = 86_400
EDITABLE_AFTER_FINALIZE = frozenset({"description", "footer"})
# An invoice in an event embeds at most this many lines (SPEC §4), so that an
# event's size does not grow with the invoice; the rest are at ``lines.url``.
EVENT_LINES = 10


# Serialization


def hosted_url(invoice: Invoice) -> str | None:
    if invoice.hosted_token is None:
        return None
    return f"{current_app.config['PUBLIC_URL']}/i/{invoice.id}/{invoice.hosted_token}"


def serialize_line(line: InvoiceLine) -> dict[str, Any]:
    return {
        "id": line.id, "object": "line_item", "description": line.description,
        "quantity": line.quantity, "unit_amount": line.unit_amount, "amount": line.amount,
        "price": line.price_id, "invoice_item": line.invoice_item_id,
        "discount_amount": line.discount_amount, "tax_amounts": list(line.tax_amounts),
        "metadata": dict(line.metadata_),
    }


def serialize(invoice: Invoice, *, customer: Customer | None = None,
              max_lines: int | None = None) -> dict[str, Any]:
    """The invoice object of SPEC §3; ``customer`` given means expanded; at most
    ``max_lines`` lines embedded (``lines.has_more`` says whether there are more)."""
    url = hosted_url(invoice)
    lines = invoice.lines if max_lines is None else invoice.lines[:max_lines]
    return {
        "id": invoice.id, "object": "invoice", "livemode": invoice.livemode,
        "created": invoice.created, "metadata": dict(invoice.metadata_),
        "customer": serialize_customer(customer) if customer is not None else invoice.customer_id,
        "customer_email": invoice.customer_email, "customer_name": invoice.customer_name,
        "customer_address": invoice.customer_address,
        "status": invoice.status.value, "number": invoice.number, "currency": invoice.currency,
        "collection_method": invoice.collection_method, "days_until_due": invoice.days_until_due,
        "due_date": invoice.due_date, "auto_advance": invoice.auto_advance,
        "description": invoice.description, "footer": invoice.footer,
        "lines": {
            "object": "list", "data": [serialize_line(line) for line in lines],
            "has_more": len(lines) < len(invoice.lines), "url": f"/v1/invoices/{invoice.id}/lines",
        },
        "subtotal": invoice.subtotal, "discount": invoice.discount, "tax": invoice.tax,
        "total": invoice.total, "amount_due": invoice.amount_due, "amount_paid": invoice.amount_paid,
        "amount_remaining": invoice.amount_remaining,
        "tax_amounts": list(invoice.tax_amounts), "discounts": list(invoice.discount_amounts),
        "default_tax_rates": list(invoice.default_tax_rate_ids),
        "attempt_count": invoice.attempt_count, "next_payment_attempt": invoice.next_payment_attempt,
        "last_payment_error": invoice.last_payment_error, "payment": invoice.payment_id,
        "hosted_invoice_url": url, "invoice_pdf": f"{url}/pdf" if url else None,
        "status_transitions": {
            "finalized_at": invoice.finalized_at, "paid_at": invoice.paid_at,
            "voided_at": invoice.voided_at, "marked_uncollectible_at": invoice.marked_uncollectible_at,
        },
    }


def serialize_item(item: InvoiceItem) -> dict[str, Any]:
    return {
        "id": item.id, "object": "invoiceitem", "livemode": item.livemode, "created": item.created,
        "customer": item.customer_id, "currency": item.currency, "description": item.description,
        "amount": item.amount, "unit_amount": item.unit_amount, "quantity": item.quantity,
        "price": item.price_id, "invoice": item.invoice_id, "metadata": dict(item.metadata_),
    }


def record_event(session: Session, invoice: Invoice, type_: str) -> None:
    """Write ``type_`` with the invoice as it is now (SPEC §4)."""
    # No flush needed first: the event is built from the objects in memory, and
    # it goes out in the request's transaction, as does the change (a flush, or
    # store.save for draft edits and finalize).
    record(session, invoice.account_id, invoice.livemode, type_, serialize(invoice, max_lines=EVENT_LINES))


# Lookups


def _scope(caller: Caller) -> sa.Select[Any]:
    return sa.select(Invoice).where(Invoice.account_id == caller.account.id,
                                    Invoice.livemode == caller.livemode)


def owned(obj: Any, caller: Caller) -> bool:
    """The object belongs to the caller's account and mode (tenant scoping)."""
    return obj is not None and obj.account_id == caller.account.id and obj.livemode == caller.livemode


def get_invoice(session: Session, caller: Caller, invoice_id: str) -> Invoice:
    """The caller's invoice, or NotFound (also for another tenant's id).

    A primary-key get (cheap, cached by the identity map) and then the tenant
    check: another account's id is exactly as missing as an unknown one.
    """
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or not owned(invoice, caller):
        raise NotFound(f"No such invoice: '{invoice_id}'", param="id")
    return invoice


def _load_for_change(session: Session, caller: Caller, invoice_id: str) -> tuple[Invoice, Customer]:
    """The caller's invoice with its lines, and its customer, in the session, or NotFound."""
    return store.load(session, caller, invoice_id, attached=True)


def list_invoices(session: Session, caller: Caller, query: InvoiceList) -> Page[Invoice]:
    stmt = _scope(caller)
    if query.customer is not None:
        stmt = stmt.where(Invoice.customer_id == query.customer)
    if query.status is not None:
        stmt = stmt.where(Invoice.status == S(query.status))
    if query.created_gte is not None:
        stmt = stmt.where(Invoice.created >= query.created_gte)
    if query.created_lte is not None:
        stmt = stmt.where(Invoice.created <= query.created_lte)
    return paginate(session, stmt, Invoice, limit=query.limit,
                    starting_after=query.starting_after, ending_before=query.ending_before)


def customers_by_id(session: Session, invoices: list[Invoice]) -> dict[str, Customer]:
    """Customers of a page of invoices in one query, for ``expand[]=customer``."""
    ids = {inv.customer_id for inv in invoices}
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(sa.select(Customer).where(Customer.id.in_(ids)))}


# Totals


@dataclass(frozen=True)
class _Pricing:
    coupons: list[Coupon]
    rates: list[TaxRate]


def _pricing(session: Session, caller: Caller, invoice: Invoice, customer: Customer) -> _Pricing:
    coupons = []
    if invoice.coupon_pks:
        found = {c.pk: c for c in session.scalars(sa.select(Coupon).where(Coupon.pk.in_(invoice.coupon_pks)))}
        coupons = [found[pk] for pk in invoice.coupon_pks if pk in found]
    if customer.tax_exempt in ("exempt", "reverse"):
        rates: list[TaxRate] = []
    elif invoice.default_tax_rate_ids:
        found_rates = {r.id: r for r in session.scalars(
            sa.select(TaxRate).where(TaxRate.id.in_(invoice.default_tax_rate_ids)))}
        rates = [found_rates[i] for i in invoice.default_tax_rate_ids if i in found_rates]
    else:
        address = customer.address or {}
        rates = rates_for_location(session, caller, address.get("country"), address.get("state"))
    return _Pricing(coupons, rates)


def _recompute(session: Session, caller: Caller, invoice: Invoice, customer: Customer) -> None:
    """Recompute every total of a draft from its lines, coupons and rates."""
    # Only catalog rows are read here, which no pending change touches: no
    # autoflush, so the change is written once, by store.save or the commit's flush.
    with session.no_autoflush:
        pricing = _pricing(session, caller, invoice, customer)
    result = totals.compute(
        [totals.LineIn(line.amount) for line in invoice.lines],
        [totals.CouponIn(c.id, c.percent_off_e2, c.amount_off) for c in pricing.coupons],
        [totals.RateIn(r.id, r.percentage_e4, r.inclusive) for r in pricing.rates],
    )
    for line, out in zip(invoice.lines, result.lines, strict=True):
        _set(line, "discount_amount", out.discount_amount)
        _set(line, "tax_amounts", [{"tax_rate": t.rate, "amount": t.amount, "inclusive": t.inclusive}
                                   for t in out.tax_amounts])
    _set(invoice, "subtotal", result.subtotal)
    _set(invoice, "discount", result.discount)
    _set(invoice, "tax", result.tax)
    _set(invoice, "total", result.total)
    _set(invoice, "amount_due", result.total)
    _set(invoice, "discount_amounts", [{"coupon": key, "amount": amount} for key, amount in result.discounts])
    _set(invoice, "tax_amounts", [{"tax_rate": t.rate, "amount": t.amount, "inclusive": t.inclusive}
                                  for t in result.tax_amounts])


def _set(obj: Any, name: str, value: Any) -> None:
    # Assigning an equal value still marks the row dirty, and every dirty row
    # costs the flush a comparison of all its columns: the other lines of a
    # draft mostly keep their amounts when one line is added.
    if getattr(obj, name) != value:
        setattr(obj, name, value)


# Drafts


def _line_amount(quantity: int, unit_amount: int, param: str) -> int:
    amount = quantity * unit_amount
    if amount > MAX_AMOUNT:
        raise InvalidRequest(f"A line's amount (quantity x unit_amount) may be at most {MAX_AMOUNT}.",
                             param=param)
    return amount


def _resolve_discounts(session: Session, caller: Caller, refs: list[Any], currency: str) -> list[int]:
    pks = []
    for i, ref in enumerate(refs):
        coupon = get_coupon(session, caller, ref.coupon, param=f"discounts[{i}][coupon]")
        if coupon.currency is not None and coupon.currency != currency:
            raise InvalidRequest(
                f"Coupon '{coupon.id}' is in {coupon.currency}, but the invoice is in {currency}.",
                param=f"discounts[{i}][coupon]")
        if coupon.pk in pks:
            raise InvalidRequest(f"Coupon '{coupon.id}' is applied twice.", param=f"discounts[{i}][coupon]")
        pks.append(coupon.pk)
    return pks


def _check_discount_currency(session: Session, invoice: Invoice) -> None:
    """An amount-off coupon is in one currency: it cannot follow a currency change."""
    if not invoice.coupon_pks:
        return
    for coupon in session.scalars(sa.select(Coupon).where(Coupon.pk.in_(invoice.coupon_pks))):
        if coupon.currency is not None and coupon.currency != invoice.currency:
            raise InvalidRequest(f"Coupon '{coupon.id}' is in {coupon.currency}; remove it from discounts "
                                 f"before changing the currency to {invoice.currency}.", param="currency")


def _resolve_rates(session: Session, caller: Caller, ids: list[str]) -> list[str]:
    for i, rate_id in enumerate(ids):
        rate = get_tax_rate(session, caller, rate_id, param=f"default_tax_rates[{i}]")
        if not rate.active:
            raise InvalidRequest(f"Tax rate '{rate_id}' is not active.", param=f"default_tax_rates[{i}]")
    if len(set(ids)) != len(ids):
        raise InvalidRequest("A tax rate is listed twice.", param="default_tax_rates")
    return list(ids)


def _apply_fields(session: Session, caller: Caller, invoice: Invoice, params: InvoiceFields) -> None:
    fields = params.model_fields_set
    for name in ("collection_method", "days_until_due", "due_date", "auto_advance", "description", "footer"):
        if name in fields:
            value = getattr(params, name)
            if value is None and name in ("collection_method", "auto_advance"):
                raise InvalidRequest(f"{name} cannot be null.", param=name)
            setattr(invoice, name, value)
    if "metadata" in fields:
        merged = {**invoice.metadata_, **(params.metadata or {})}
        invoice.metadata_ = {k: v for k, v in merged.items() if v != ""}
    if "discounts" in fields:
        invoice.coupon_pks = _resolve_discounts(session, caller, params.discounts or [], invoice.currency)
        invoice.customer_discount_pk = None  # the merchant chose the discounts
    if "default_tax_rates" in fields:
        invoice.default_tax_rate_ids = _resolve_rates(session, caller, params.default_tax_rates or [])
    if invoice.collection_method == "charge_automatically":
        if invoice.days_until_due is not None or invoice.due_date is not None:
            raise InvalidRequest("days_until_due and due_date apply only to send_invoice invoices.",
                                 param="days_until_due" if invoice.days_until_due is not None else "due_date")
    elif invoice.days_until_due is None and invoice.due_date is None:
        raise InvalidRequest("A send_invoice invoice needs days_until_due or due_date.", param="days_until_due")
    if invoice.due_date is not None and "due_date" in fields and invoice.due_date < clock.now():
        raise InvalidRequest("due_date must be in the future.", param="due_date")


def _pending_items(session: Session, customer: Customer) -> list[InvoiceItem]:
    """The customer's pending items, oldest first (a bounded read: more than
    MAX_LINES in one currency cannot become one invoice anyway)."""
    session.flush()  # what the query's autoflush would write first (nothing, in a request)
    # Most customers have none: a one-row check on the driver first (the ORM
    # query that returns nothing cost about 0.1 ms of every invoice creation).
    if run_on_driver(session, _ANY_PENDING, {"customer_id": customer.id}).row is None:
        return []
    return list(session.scalars(_PENDING_ITEMS, {"customer_id": customer.id}))


_items = cast(sa.Table, InvoiceItem.__table__)
_ANY_PENDING = (
    sa.select(_items.c.id)
    .where(_items.c.customer_id == sa.bindparam("customer_id"), _items.c.invoice_id.is_(None),
           _items.c.deleted.is_(False))
    .limit(1)
)
_PENDING_ITEMS = (
    sa.select(InvoiceItem)
    .where(InvoiceItem.customer_id == sa.bindparam("customer_id"), InvoiceItem.invoice_id.is_(None),
           InvoiceItem.deleted.is_(False))
    .order_by(InvoiceItem.created, InvoiceItem.id).limit(10 * MAX_LINES)
)


def _claim_items(session: Session, invoice: Invoice, items: list[InvoiceItem]) -> None:
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


def create_invoice(session: Session, caller: Caller, params: InvoiceCreate) -> Invoice:
    """A draft for the customer, sweeping up their pending items unless excluded."""
    customer = get_customer(session, caller, params.customer, param="customer")
    include = params.pending_invoice_items_behavior == "include"
    currency = params.currency
    pending = _pending_items(session, customer) if include else []
    if currency is None:
        currency = pending[0].currency if pending else caller.account.default_currency
    invoice = Invoice(
        id=new_id("inv"), account_id=caller.account.id, livemode=caller.livemode, created=clock.now(),
        customer_id=customer.id, status=S.DRAFT, currency=currency,
        collection_method="charge_automatically", auto_advance=False, metadata_={},
        coupon_pks=[], default_tax_rate_ids=[], subtotal=0, discount=0, tax=0, total=0,
        amount_due=0, amount_paid=0, tax_amounts=[], discount_amounts=[], attempt_count=0,
    )
    _apply_fields(session, caller, invoice, params)
    if ("discounts" not in params.model_fields_set and customer.coupon is not None
            and customer.coupon.currency in (None, currency)):
        invoice.coupon_pks = [customer.coupon.pk]
        invoice.customer_discount_pk = customer.coupon.pk
    items = [item for item in pending if item.currency == currency]
    if len(items) > MAX_LINES:
        raise InvalidRequest(f"The customer has more than {MAX_LINES} pending items in {currency}.",
                             param="pending_invoice_items_behavior")
    for position, item in enumerate(items):
        invoice.lines.append(InvoiceLine(
            id=new_id("il"), position=position, description=item.description, quantity=item.quantity,
            unit_amount=item.unit_amount, amount=item.amount, price_id=item.price_id,
            invoice_item_id=item.id, discount_amount=0, tax_amounts=[], metadata_=dict(item.metadata_)))
    _recompute(session, caller, invoice, customer)
    store.save(session, invoice)
    _claim_items(session, invoice, items)
    record_event(session, invoice, "invoice.created")
    return invoice


def _draft(session: Session, caller: Caller, invoice_id: str, action: str) -> tuple[Invoice, Customer]:
    invoice, customer = _load_for_change(session, caller, invoice_id)
    if invoice.status is not S.DRAFT:
        raise illegal(invoice, action)
    return invoice, customer


def _edit(session: Session, caller: Caller, invoice_id: str, action: str) -> tuple[Invoice, Customer]:
    """A draft to change and then write with ``store.save`` (outside the unit of work, see store)."""
    invoice, customer = store.load(session, caller, invoice_id, attached=False)
    if invoice.status is not S.DRAFT:
        raise illegal(invoice, action)
    return invoice, customer


def update_invoice(session: Session, caller: Caller, invoice_id: str, params: InvoiceUpdate) -> Invoice:
    """A draft takes any creation field; afterwards only description and footer."""
    invoice, customer = store.load(session, caller, invoice_id, attached=False)
    fields = params.model_fields_set
    if invoice.status is not S.DRAFT:
        locked = sorted(fields - EDITABLE_AFTER_FINALIZE)
        if locked:
            raise Conflict(
                f"A {invoice.status.value} invoice accepts only description and footer; "
                f"'{locked[0]}' cannot change any more.",
                param=locked[0], code="invoice_not_editable")
        for name in fields:
            setattr(invoice, name, getattr(params, name))
    else:
        if "currency" in fields and params.currency != invoice.currency:
            if params.currency is None:
                raise InvalidRequest("currency cannot be null.", param="currency")
            if invoice.lines:
                raise InvalidRequest("The currency of a draft with lines cannot change.", param="currency")
            invoice.currency = params.currency
            if "discounts" not in fields:
                _check_discount_currency(session, invoice)
        _apply_fields(session, caller, invoice, params)
        _recompute(session, caller, invoice, customer)
    store.save(session, invoice)
    record_event(session, invoice, "invoice.updated")
    return invoice


def delete_invoice(session: Session, caller: Caller, invoice_id: str) -> dict[str, Any]:
    """Delete a draft; its swept-up invoice items become pending again."""
    invoice, _ = _draft(session, caller, invoice_id, "delete")
    data = serialize(invoice, max_lines=EVENT_LINES)
    session.execute(sa.update(InvoiceItem).where(InvoiceItem.invoice_id == invoice.id).values(invoice_id=None))
    session.delete(invoice)
    session.flush()
    record(session, caller.account.id, caller.livemode, "invoice.deleted", data)
    return {"id": invoice_id, "object": "invoice", "deleted": True}


def add_line(session: Session, caller: Caller, invoice_id: str, params: LineCreate) -> Invoice:
    invoice, customer = _edit(session, caller, invoice_id, "add lines to")
    if len(invoice.lines) >= MAX_LINES:
        raise InvalidRequest(f"An invoice has at most {MAX_LINES} lines.", param="lines")
    if (params.unit_amount is None) == (params.price is None):
        raise InvalidRequest("Give exactly one of unit_amount or price.", param="unit_amount")
    unit_amount, price_id, description = params.unit_amount, None, params.description
    if params.price is not None:
        price = get_price(session, caller, params.price, param="price")
        if price.currency != invoice.currency:
            raise InvalidRequest(f"Price '{price.id}' is in {price.currency}, the invoice in {invoice.currency}.",
                                 param="price")
        unit_amount, price_id = price.unit_amount, price.id
        description = description if description is not None else price.nickname
    assert unit_amount is not None
    position = (invoice.lines[-1].position + 1) if invoice.lines else 0
    invoice.lines.append(InvoiceLine(
        id=new_id("il"), position=position, description=description, quantity=params.quantity,
        unit_amount=unit_amount, amount=_line_amount(params.quantity, unit_amount, "quantity"),
        price_id=price_id, discount_amount=0, tax_amounts=[], metadata_=params.metadata))
    _recompute(session, caller, invoice, customer)
    store.save(session, invoice)
    record_event(session, invoice, "invoice.updated")
    return invoice


def _line(invoice: Invoice, line_id: str) -> InvoiceLine:
    for line in invoice.lines:
        if line.id == line_id:
            return line
    raise NotFound(f"No such line on invoice {invoice.id}: '{line_id}'", param="line_id")


def update_line(session: Session, caller: Caller, invoice_id: str, line_id: str, params: LineUpdate) -> Invoice:
    invoice, customer = _edit(session, caller, invoice_id, "edit lines of")
    line = _line(invoice, line_id)
    fields = params.model_fields_set
    if "unit_amount" in fields and "price" in fields and params.unit_amount is not None and params.price:
        raise InvalidRequest("Give only one of unit_amount or price.", param="unit_amount")
    if "price" in fields and params.price is not None:
        price = get_price(session, caller, params.price, param="price")
        if price.currency != invoice.currency:
            raise InvalidRequest(f"Price '{price.id}' is in {price.currency}, the invoice in {invoice.currency}.",
                                 param="price")
        line.price_id, line.unit_amount = price.id, price.unit_amount
    elif "unit_amount" in fields:
        if params.unit_amount is None:
            raise InvalidRequest("unit_amount cannot be null.", param="unit_amount")
        line.price_id, line.unit_amount = None, params.unit_amount
    if "quantity" in fields:
        if params.quantity is None:
            raise InvalidRequest("quantity cannot be null.", param="quantity")
        line.quantity = params.quantity
    if "description" in fields:
        line.description = params.description
    if "metadata" in fields:
        merged = {**line.metadata_, **(params.metadata or {})}
        line.metadata_ = {k: v for k, v in merged.items() if v != ""}
    line.amount = _line_amount(line.quantity, line.unit_amount, "quantity")
    _recompute(session, caller, invoice, customer)
    store.save(session, invoice)
    record_event(session, invoice, "invoice.updated")
    return invoice


def delete_line(session: Session, caller: Caller, invoice_id: str, line_id: str) -> Invoice:
    """Remove a line; a line that came from an invoice item deletes that item too."""
    invoice, customer = _edit(session, caller, invoice_id, "delete lines of")
    line = _line(invoice, line_id)
    if line.invoice_item_id is not None:
        session.execute(sa.update(InvoiceItem).where(InvoiceItem.id == line.invoice_item_id)
                        .values(deleted=True))
    invoice.lines.remove(line)
    _recompute(session, caller, invoice, customer)
    store.save(session, invoice)
    record_event(session, invoice, "invoice.updated")
    return invoice


# Transitions


def _settle_customer_discount(invoice: Invoice, customer: Customer) -> bool:
    """Apply the customer's discount as it is now; use up a "once" coupon.

    Returns True when the customer's coupon was used up (the customer changed).
    """
    previous = invoice.customer_discount_pk
    if previous is None:
        return False
    pks = [pk for pk in invoice.coupon_pks if pk != previous]
    coupon = customer.coupon
    if coupon is None or coupon.deleted or coupon.currency not in (None, invoice.currency):
        invoice.coupon_pks, invoice.customer_discount_pk = pks, None
        return False
    invoice.coupon_pks, invoice.customer_discount_pk = [*pks, coupon.pk], coupon.pk
    if coupon.duration == "once":
        customer.coupon = None  # used up by the first invoice finalized with it
        return True
    return False


def finalize(session: Session, caller: Caller, invoice_id: str, params: FinalizeParams) -> Invoice:
    """SPEC §3 finalize, in order: discounts, tax, lock, number, hosted link.

    Zero due goes straight to paid. Collecting a charge_automatically invoice
    is the payments package's part, called by the boundary after this.
    """
    invoice, customer = _edit(session, caller, invoice_id, "finalize")
    if invoice.collection_method == "send_invoice" and not customer.email:
        raise InvalidRequest("The customer has no email, so a send_invoice invoice cannot be finalized.",
                             param="customer", code="customer_email_missing")
    consumed = _settle_customer_discount(invoice, customer)
    _recompute(session, caller, invoice, customer)
    invoice.customer_email = customer.email
    invoice.customer_name = customer.name
    invoice.customer_address = dict(customer.address) if customer.address else None
    # The number before the invoice's own write: status, totals, number and
    # link then go out as one versioned UPDATE (it was three). A stale version
    # fails that write and rolls the counter back with it, so no number is
    # lost or repeated.
    invoice.number = next_invoice_number(session, caller.account, caller.livemode)
    transition(session, invoice, S.OPEN, flush=False)
    if invoice.collection_method == "send_invoice" and invoice.due_date is None:
        assert invoice.days_until_due is not None
        invoice.due_date = (invoice.finalized_at or clock.now()) + invoice.days_until_due * DAY
    invoice.hosted_token = tokens.mint(tokens.HOSTED_INVOICE, {"i": invoice.id, "a": invoice.account_id})
    if params.auto_advance is not None:
        invoice.auto_advance = params.auto_advance
    store.save(session, invoice)  # back in the session: payments may go on with it
    record_event(session, invoice, "invoice.finalized")
    if consumed:
        record(session, caller.account.id, caller.livemode, "customer.updated", serialize_customer(customer))
    if invoice.amount_due == 0:
        transition(session, invoice, S.PAID)
        record_event(session, invoice, "invoice.paid")
    return invoice


def _not_collecting(invoice: Invoice, action: str) -> None:
    # Voiding while a charge is in flight could take money for a void invoice.
    if invoice.collecting_payment_id is not None:
        raise Conflict(f"You cannot {action} this invoice while a payment for it is in progress.",
                       code="payment_in_progress")


def void(session: Session, caller: Caller, invoice_id: str) -> Invoice:
    invoice = get_invoice(session, caller, invoice_id)
    _not_collecting(invoice, "void")
    transition(session, invoice, S.VOID)
    invoice.next_payment_attempt = None
    session.flush()
    record_event(session, invoice, "invoice.voided")
    return invoice


def mark_uncollectible(session: Session, caller: Caller, invoice_id: str) -> Invoice:
    invoice = get_invoice(session, caller, invoice_id)
    if invoice.status is not S.OPEN:
        raise illegal(invoice, "mark uncollectible")
    _not_collecting(invoice, "mark uncollectible")
    transition(session, invoice, S.UNCOLLECTIBLE)
    invoice.next_payment_attempt = None
    session.flush()
    record_event(session, invoice, "invoice.marked_uncollectible")
    return invoice


def send(session: Session, caller: Caller, invoice_id: str) -> Invoice:
    """Record that the hosted link goes to the customer (delivery is the worker's)."""
    invoice = get_invoice(session, caller, invoice_id)
    if invoice.status is not S.OPEN:
        raise illegal(invoice, "send")
    if not invoice.customer_email:
        raise InvalidRequest("The invoice has no customer email to send to.", param="customer_email")
    record_event(session, invoice, "invoice.sent")
    return invoice


# Pending invoice items


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
        price = get_price(session, caller, params.price, param="price")
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
    item = InvoiceItem(
        id=new_id("ii"), account_id=caller.account.id, livemode=caller.livemode, created=clock.now(),
        customer_id=customer.id, currency=currency, description=description, quantity=quantity,
        unit_amount=unit_amount, amount=_line_amount(quantity, unit_amount, "quantity"),
        price_id=price_id, metadata_=params.metadata, deleted=False)
    session.add(item)
    session.flush()
    return item


def _item_scope(caller: Caller) -> sa.Select[Any]:
    return sa.select(InvoiceItem).where(InvoiceItem.account_id == caller.account.id,
                                        InvoiceItem.livemode == caller.livemode,
                                        InvoiceItem.deleted.is_(False))


def get_item(session: Session, caller: Caller, item_id: str) -> InvoiceItem:
    item = session.scalar(_item_scope(caller).where(InvoiceItem.id == item_id))
    if item is None:
        raise NotFound(f"No such invoice item: '{item_id}'", param="id")
    return item


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
    stmt = _item_scope(caller)
    if query.customer is not None:
        stmt = stmt.where(InvoiceItem.customer_id == query.customer)
    if query.pending is not None:
        stmt = stmt.where(InvoiceItem.invoice_id.is_(None) if query.pending else InvoiceItem.invoice_id.isnot(None))
    return paginate(session, stmt, InvoiceItem, limit=query.limit,
                    starting_after=query.starting_after, ending_before=query.ending_before)
