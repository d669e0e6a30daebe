"""The API's credit note object (SPEC §11) and its events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.credit_notes.models import CreditNote, CreditNoteLine
from app.events.service import record
from app.invoices.models import Invoice
from app.invoices.serializers import hosted_url


def pdf_url(note: CreditNote, invoice: Invoice) -> str | None:
    """The credit note's PDF under its invoice's hosted link: no key needed, like ``invoice_pdf``."""
    url = hosted_url(invoice)
    return f"{url}/credit_notes/{note.id}/pdf" if url else None


def serialize_line(line: CreditNoteLine) -> dict[str, Any]:
    return {
        "id": line.id, "object": "credit_note_line_item", "type": line.type,
        "invoice_line_item": line.invoice_line_id, "description": line.description, "quantity": line.quantity,
        "unit": line.unit, "unit_amount": line.unit_amount, "amount": line.amount,
        "discount_amount": line.discount_amount, "tax_amounts": list(line.tax_amounts),
    }


def serialize(note: CreditNote, invoice: Invoice | None = None, *, preview: bool = False) -> dict[str, Any]:
    """The credit note object; ``invoice`` is its invoice where the caller has it (else loaded)."""
    invoice = invoice if invoice is not None else note.invoice
    return {
        "id": note.id, "object": "credit_note", "livemode": note.livemode, "created": note.created,
        "number": note.number, "invoice": note.invoice_id, "customer": note.customer_id, "currency": note.currency,
        "status": note.status.value, "reason": note.reason, "memo": note.memo,
        "lines": [serialize_line(line) for line in note.lines],
        "subtotal": note.subtotal, "tax": note.tax, "total": note.total, "tax_amounts": list(note.tax_amounts),
        "pre_payment_amount": note.pre_payment_amount, "post_payment_amount": note.post_payment_amount,
        "refund": note.refund_id, "refund_amount": note.refund_amount,
        "out_of_band_amount": note.out_of_band_amount, "credit_amount": note.credit_amount,
        "pdf": None if preview else pdf_url(note, invoice), "voided_at": note.voided_at,
        "metadata": dict(note.metadata_),
    }


def record_event(session: Session, note: CreditNote, type_: str) -> None:
    """Write ``type_`` with the credit note as it is now (SPEC §4), in the change's transaction."""
    record(session, note.account_id, note.livemode, type_, serialize(note))
