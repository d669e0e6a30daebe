"""Draft invoices and their lines (SPEC §3): everything that may change before finalize."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.accounts.clocks import caller_now
from app.accounts.service import Caller
from app.catalog.models import Coupon, Price
from app.catalog.service import active_tax_rate_ids, get_coupon
from app.customers.models import Customer
from app.customers.service import get_customer
from app.errors import Conflict, InvalidRequest, NotFound
from app.events.service import record
from app.ids import new_id
from app.invoices.items import claim_items, line_amount, pending_items
from app.invoices.models import Invoice, InvoiceItem, InvoiceLine, InvoiceStatus
from app.invoices.pricing import recompute
from app.invoices.queries import load_invoice
from app.invoices.schedule import plan_auto_finalize
from app.invoices.schemas import InvoiceCreate, InvoiceFields, InvoiceUpdate, LineCreate, LineUpdate, Period
from app.invoices.serializers import EVENT_LINES, record_event, serialize
from app.invoices.states import illegal
from app.money import MAX_LINES
from app.tenancy import get_for

S = InvoiceStatus
EDITABLE_AFTER_FINALIZE = frozenset({"description", "footer"})

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


def _rate_ids(session: Session, caller: Caller, ids: list[str] | None, param: str) -> list[str] | None:
    """Tax rates as stored: None (not given) stays None, [] means none (SPEC §10)."""
    return None if ids is None else active_tax_rate_ids(session, caller, ids, param)


def _period(period: Period | None) -> tuple[int | None, int | None]:
    return (period.start, period.end) if period is not None else (None, None)


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
        invoice.default_tax_rate_ids = _rate_ids(session, caller, params.default_tax_rates, "default_tax_rates")
    if "service_period" in fields:
        invoice.service_period_start, invoice.service_period_end = _period(params.service_period)
    if "buyer_reference" in fields:
        invoice.buyer_reference = params.buyer_reference
    if invoice.collection_method == "charge_automatically":
        if invoice.days_until_due is not None or invoice.due_date is not None:
            raise InvalidRequest("days_until_due and due_date apply only to send_invoice invoices.",
                                 param="days_until_due" if invoice.days_until_due is not None else "due_date")
    elif invoice.days_until_due is None and invoice.due_date is None:
        raise InvalidRequest("A send_invoice invoice needs days_until_due or due_date.", param="days_until_due")
    if (invoice.due_date is not None and "due_date" in fields
            and invoice.due_date < caller_now(session, caller)):
        raise InvalidRequest("due_date must be in the future.", param="due_date")



def create_invoice(session: Session, caller: Caller, params: InvoiceCreate) -> Invoice:
    """A draft for the customer, sweeping up their pending items unless excluded."""
    customer = get_customer(session, caller, params.customer, param="customer")
    include = params.pending_invoice_items_behavior == "include"
    currency = params.currency
    pending = pending_items(session, customer) if include else []
    if currency is None:
        currency = pending[0].currency if pending else caller.account.default_currency
    invoice = Invoice(
        id=new_id("inv"), account_id=caller.account.id, livemode=caller.livemode,
        created=caller_now(session, caller),  # a test clock dates it (SPEC §5)
        customer_id=customer.id, status=S.DRAFT, currency=currency,
        collection_method="charge_automatically", auto_advance=False, metadata_={},
        coupon_pks=[], default_tax_rate_ids=None, subtotal=0, discount=0, tax=0, total=0,
        amount_due=0, amount_paid=0, starting_balance=0, pre_payment_credit_notes_amount=0,
        post_payment_credit_notes_amount=0, credit_note_count=0, tax_amounts=[], discount_amounts=[],
        attempt_count=0, lines=[],
    )
    if "buyer_reference" not in params.model_fields_set:
        invoice.buyer_reference = customer.einvoice_buyer_reference
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
            unit=item.unit, unit_amount=item.unit_amount, amount=item.amount, price_id=item.price_id,
            service_period_start=item.service_period_start, service_period_end=item.service_period_end,
            invoice_item_id=item.id, tax_rate_ids=item.tax_rate_ids, discount_amount=0, net_amount=0,
            tax_amounts=[], metadata_=dict(item.metadata_)))
    recompute(session, caller, invoice, customer)
    session.add(invoice)
    session.flush()  # the invoice row first: the items' foreign key points at it
    claim_items(session, invoice, items)
    record_event(session, invoice, "invoice.created")
    plan_auto_finalize(session, invoice)
    return invoice


def load_draft(session: Session, caller: Caller, invoice_id: str, action: str) -> tuple[Invoice, Customer]:
    """The caller's draft with its lines, and its customer; NotFound, or the status
    Conflict naming ``action`` for an invoice that is no longer a draft."""
    invoice, customer = load_invoice(session, caller, invoice_id)
    if invoice.status is not S.DRAFT:
        raise illegal(invoice, action)
    return invoice, customer


def _version_moves_with_lines(invoice: Invoice) -> None:
    """Move the invoice's version on with its lines. The flush writes the invoice row only
    when one of its own columns changed, and the version is what a concurrent finalize
    checks: a line edit that changes no total (a description, a zero amount) must not slip
    under an invoice finalized meanwhile."""
    flag_modified(invoice, "subtotal")


def update_invoice(session: Session, caller: Caller, invoice_id: str, params: InvoiceUpdate) -> Invoice:
    """A draft takes any creation field; afterwards only description and footer."""
    invoice, customer = load_invoice(session, caller, invoice_id)
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
        recompute(session, caller, invoice, customer)
    session.flush()
    record_event(session, invoice, "invoice.updated")
    if "auto_advance" in fields:
        plan_auto_finalize(session, invoice)
    return invoice


def delete_invoice(session: Session, caller: Caller, invoice_id: str) -> dict[str, Any]:
    """Delete a draft; its swept-up invoice items become pending again."""
    invoice, _ = load_draft(session, caller, invoice_id, "delete")
    data = serialize(invoice, max_lines=EVENT_LINES)
    session.execute(sa.update(InvoiceItem).where(InvoiceItem.invoice_id == invoice.id).values(invoice_id=None))
    session.delete(invoice)
    session.flush()
    record(session, caller.account.id, caller.livemode, "invoice.deleted", data)
    return {"id": invoice_id, "object": "invoice", "deleted": True}


def add_line(session: Session, caller: Caller, invoice_id: str, params: LineCreate) -> Invoice:
    invoice, customer = load_draft(session, caller, invoice_id, "add lines to")
    if len(invoice.lines) >= MAX_LINES:
        raise InvalidRequest(f"An invoice has at most {MAX_LINES} lines.", param="lines")
    if (params.unit_amount is None) == (params.price is None):
        raise InvalidRequest("Give exactly one of unit_amount or price.", param="unit_amount")
    unit_amount, price_id, description = params.unit_amount, None, params.description
    if params.price is not None:
        price = get_for(session, caller, Price, params.price, param="price")
        if price.currency != invoice.currency:
            raise InvalidRequest(f"Price '{price.id}' is in {price.currency}, the invoice in {invoice.currency}.",
                                 param="price")
        unit_amount, price_id = price.unit_amount, price.id
        description = description if description is not None else price.nickname
    assert unit_amount is not None
    position = (invoice.lines[-1].position + 1) if invoice.lines else 0
    start, end = _period(params.service_period)
    invoice.lines.append(InvoiceLine(
        id=new_id("il"), position=position, description=description, quantity=params.quantity,
        unit=params.unit, unit_amount=unit_amount, amount=line_amount(params.quantity, unit_amount, "quantity"),
        price_id=price_id, service_period_start=start, service_period_end=end, discount_amount=0, net_amount=0,
        tax_rate_ids=_rate_ids(session, caller, params.tax_rates, "tax_rates"), tax_amounts=[],
        metadata_=params.metadata))
    recompute(session, caller, invoice, customer)
    _version_moves_with_lines(invoice)
    session.flush()
    record_event(session, invoice, "invoice.updated")
    return invoice


def _line(invoice: Invoice, line_id: str) -> InvoiceLine:
    for line in invoice.lines:
        if line.id == line_id:
            return line
    raise NotFound(f"No such line on invoice {invoice.id}: '{line_id}'", param="line_id")


def update_line(session: Session, caller: Caller, invoice_id: str, line_id: str, params: LineUpdate) -> Invoice:
    invoice, customer = load_draft(session, caller, invoice_id, "edit lines of")
    line = _line(invoice, line_id)
    fields = params.model_fields_set
    if "unit_amount" in fields and "price" in fields and params.unit_amount is not None and params.price:
        raise InvalidRequest("Give only one of unit_amount or price.", param="unit_amount")
    if "price" in fields and params.price is not None:
        price = get_for(session, caller, Price, params.price, param="price")
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
    if "unit" in fields:
        if params.unit is None:
            raise InvalidRequest("unit cannot be null: leave it out to keep it, or send C62 for pieces.",
                                 param="unit")
        line.unit = params.unit
    if "service_period" in fields:
        line.service_period_start, line.service_period_end = _period(params.service_period)
    if "tax_rates" in fields:
        line.tax_rate_ids = _rate_ids(session, caller, params.tax_rates, "tax_rates")
    if "metadata" in fields:
        merged = {**line.metadata_, **(params.metadata or {})}
        line.metadata_ = {k: v for k, v in merged.items() if v != ""}
    line.amount = line_amount(line.quantity, line.unit_amount, "quantity")
    recompute(session, caller, invoice, customer)
    _version_moves_with_lines(invoice)
    session.flush()
    record_event(session, invoice, "invoice.updated")
    return invoice


def delete_line(session: Session, caller: Caller, invoice_id: str, line_id: str) -> Invoice:
    """Remove a line; a line that came from an invoice item deletes that item too."""
    invoice, customer = load_draft(session, caller, invoice_id, "delete lines of")
    line = _line(invoice, line_id)
    if line.invoice_item_id is not None:
        session.execute(sa.update(InvoiceItem).where(InvoiceItem.id == line.invoice_item_id)
                        .values(deleted=True))
    invoice.lines.remove(line)
    recompute(session, caller, invoice, customer)
    _version_moves_with_lines(invoice)
    session.flush()
    record_event(session, invoice, "invoice.updated")
    return invoice
