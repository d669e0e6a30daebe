"""Access to an invoice through its hosted link (SPEC §7).

The link is the credential: a token signed for exactly this invoice of this
account. Anything else — a tampered, foreign or unknown token, a draft, an
id that does not match — is the same NotFound, so a probe learns nothing.
"""

from __future__ import annotations

import hmac

from sqlalchemy.orm import Session

from app import clock, tokens
from app.errors import NotFound
from app.invoices.models import Invoice, InvoiceStatus


def load(session: Session, invoice_id: str, token: str) -> Invoice:
    """The invoice the link names, or NotFound."""
    try:
        payload = tokens.verify(tokens.HOSTED_INVOICE, token)
    except tokens.InvalidToken:
        raise NotFound("Not found.") from None
    if payload.get("i") != invoice_id:
        raise NotFound("Not found.")
    invoice = session.get(Invoice, invoice_id)
    if (invoice is None or invoice.account_id != payload.get("a") or invoice.hosted_token is None
            or not hmac.compare_digest(invoice.hosted_token, token)):
        raise NotFound("Not found.")
    return invoice


def is_past_due(invoice: Invoice) -> bool:
    """Open (or uncollectible) with a due date that has passed."""
    return (invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE) and invoice.due_date is not None
            and invoice.due_date < clock.now())
