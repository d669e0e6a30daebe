"""Access to an invoice through its hosted link (SPEC §7).

The link is the credential: a token signed for exactly this invoice of this
account. Anything else — a tampered, foreign or unknown token, a draft, an
id that does not match — is the same NotFound, so a probe learns nothing.
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, lazyload, with_expression

from app import tokens
from app.accounts.clocks import invoice_now, offset_of
from app.accounts.models import Account, Branding
from app.errors import NotFound
from app.invoices.models import Invoice, InvoiceStatus


def signed_account(invoice_id: str, token: str, secret_key: str) -> str:
    """The account id a valid link for ``invoice_id`` was signed with (by ``secret_key``,
    the app's ``SECRET_KEY``), or NotFound.

    Only the signature: the caller must still compare the stored token
    (``matches``), which is what makes a replaced or revoked link stop working.
    """
    if len(token) > TOKEN_MAX_LENGTH:
        raise NotFound("Not found.")
    try:
        return _signed_account(secret_key, invoice_id, token)
    except tokens.InvalidToken:
        raise NotFound("Not found.") from None


# The column's width: no link we mint is longer, and nothing longer is verified or remembered.
TOKEN_MAX_LENGTH = 200


@lru_cache(maxsize=4096)
def _signed_account(secret_key: str, invoice_id: str, token: str) -> str:
    # A pure function of its arguments, and the same link is opened again and
    # again: verifying it once per worker and key is enough. Failures raise, so
    # they are not remembered (lru_cache keeps only results).
    payload = tokens.verify(tokens.HOSTED_INVOICE, token, secret_key=secret_key)
    account_id = payload.get("a")
    if payload.get("i") != invoice_id or not isinstance(account_id, str):
        raise tokens.InvalidToken(tokens.HOSTED_INVOICE)
    return account_id


def matches(token: str, signed_for: str, account_id: str | None, hosted_token: str | None) -> bool:
    """Whether a stored invoice (its account and current hosted token) is the one the link names."""
    return account_id == signed_for and hosted_token is not None and hmac.compare_digest(hosted_token, token)


# Every page of a link shows the invoice, its lines, the customer and the merchant's
# account and branding: one statement, the lines joined too (a second, selectin statement
# costs a first view more than the rest of the load). The logo is deferred, so that a line's
# row does not repeat it; it is read on its own, and only when there is one (brand_view).
# The account's clock comes with it (a subquery), for "Past due" in test mode.
_WITHOUT_LINES = (joinedload(Invoice.customer),
                  joinedload(Invoice.account).joinedload(Account.branding).defer(Branding.logo),
                  with_expression(Invoice.clock_offset, offset_of(Invoice.account_id, Invoice.livemode)))
_PAGE = select(Invoice).where(Invoice.id == bindparam("invoice_id")).options(joinedload(Invoice.lines),
                                                                            *_WITHOUT_LINES)
# A stored PDF is found without the lines (app/documents/service.py); a first render reads
# them when it needs them, on first access.
_DOCUMENT = select(Invoice).where(Invoice.id == bindparam("invoice_id")).options(lazyload(Invoice.lines),
                                                                                *_WITHOUT_LINES)


def load(session: Session, invoice_id: str, token: str, secret_key: str, *, lines: bool = True) -> Invoice:
    """The invoice the link signed with ``secret_key`` names, with its lines unless ``lines``
    is False, or NotFound."""
    signed_for = signed_account(invoice_id, token, secret_key)
    invoice = session.scalars(_PAGE if lines else _DOCUMENT, {"invoice_id": invoice_id}).unique().one_or_none()
    if invoice is None or not matches(token, signed_for, invoice.account_id, invoice.hosted_token):
        raise NotFound("Not found.")
    return invoice


def is_past_due(session: Session, invoice: Invoice) -> bool:
    """Open (or uncollectible) with a due date that has passed, on the account's clock (SPEC §5)."""
    if invoice.due_date is None or invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE):
        return False
    return past_due(invoice.status, invoice.due_date, invoice_now(session, invoice))


def past_due(status: InvoiceStatus, due_date: int | None, now: int) -> bool:
    """The rule behind ``is_past_due``, on plain values (the hosted page's state read has no Invoice)."""
    return status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE) and due_date is not None and due_date < now
