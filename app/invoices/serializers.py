"""The API's invoice, line item and invoice item objects (SPEC §3), and invoice events (SPEC §4)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.customers.service import serialize as serialize_customer
from app.events.service import record
from app.invoices.models import Invoice, InvoiceItem, InvoiceLine

# An invoice in an event embeds at most this many lines (SPEC §4), so that an
# event's size does not grow with the invoice; the rest are at ``lines.url``.
EVENT_LINES = 10



def hosted_url(invoice: Invoice) -> str | None:
    if invoice.hosted_token is None:
        return None
    return f"{current_app.config['PUBLIC_URL']}/i/{invoice.id}/{invoice.hosted_token}"


def period(start: int | None, end: int | None) -> dict[str, int] | None:
    """A stored supply period as the API shows it, ``{start, end}``, or None."""
    return {"start": start, "end": end} if start is not None and end is not None else None


def _ids(ids: list[str] | None) -> list[str] | None:
    return list(ids) if ids is not None else None


def serialize_line(line: InvoiceLine) -> dict[str, Any]:
    return {
        "id": line.id, "object": "line_item", "description": line.description,
        "quantity": line.quantity, "unit": line.unit, "unit_amount": line.unit_amount, "amount": line.amount,
        "price": line.price_id, "invoice_item": line.invoice_item_id,
        "service_period": period(line.service_period_start, line.service_period_end),
        "tax_rates": _ids(line.tax_rate_ids), "discount_amount": line.discount_amount,
        "tax_amounts": list(line.tax_amounts),
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
        "customer_tax_ids": list(invoice.customer_tax_ids) if invoice.customer_tax_ids is not None else None,
        "account_legal": invoice.account_legal,
        "service_period": period(invoice.service_period_start, invoice.service_period_end),
        "buyer_reference": invoice.buyer_reference,
        "payment_reference": invoice.payment_reference,
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
        "starting_balance": invoice.starting_balance, "ending_balance": invoice.ending_balance,
        "pre_payment_credit_notes_amount": invoice.pre_payment_credit_notes_amount,
        "post_payment_credit_notes_amount": invoice.post_payment_credit_notes_amount,
        "tax_amounts": list(invoice.tax_amounts), "discounts": list(invoice.discount_amounts),
        "default_tax_rates": _ids(invoice.default_tax_rate_ids),
        "attempt_count": invoice.attempt_count, "next_payment_attempt": invoice.next_payment_attempt,
        "last_payment_error": invoice.last_payment_error,
        "last_finalization_error": invoice.last_finalization_error, "last_sent_at": invoice.last_sent_at,
        "payment": invoice.payment_id,
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
        "amount": item.amount, "unit_amount": item.unit_amount, "quantity": item.quantity, "unit": item.unit,
        "service_period": period(item.service_period_start, item.service_period_end),
        "price": item.price_id, "invoice": item.invoice_id, "tax_rates": _ids(item.tax_rate_ids),
        "metadata": dict(item.metadata_),
    }


def record_event(session: Session, invoice: Invoice, type_: str) -> None:
    """Write ``type_`` with the invoice as it is now (SPEC §4)."""
    # Built from the objects in memory, and written in the same transaction as the change.
    record(session, invoice.account_id, invoice.livemode, type_, serialize(invoice, max_lines=EVENT_LINES))
