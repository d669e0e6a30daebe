"""The invoice state machine: the one writer of ``Invoice.status`` (SPEC §3).

Concurrency: the invoice row carries a version column, so the UPDATE this
produces only succeeds against the state it was read in. Two requests racing
to move the same invoice cannot both succeed on either database; the loser's
flush raises StaleDataError, which the boundary turns into a 409.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.accounts.clocks import invoice_now
from app.errors import Conflict
from app.invoices.models import Invoice, InvoiceStatus

S = InvoiceStatus

TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    S.DRAFT: frozenset({S.OPEN}),
    S.OPEN: frozenset({S.PAID, S.VOID, S.UNCOLLECTIBLE}),
    S.UNCOLLECTIBLE: frozenset({S.PAID, S.VOID}),
    S.PAID: frozenset(),
    S.VOID: frozenset(),
}

_VERBS = {S.OPEN: "finalize", S.PAID: "pay", S.VOID: "void", S.UNCOLLECTIBLE: "mark uncollectible"}


def illegal(invoice: Invoice, action: str) -> Conflict:
    """The 409 for an action the current status does not allow, naming the status."""
    return Conflict(
        f"You cannot {action} this invoice because its status is '{invoice.status.value}'.",
        code="invoice_unexpected_status",
    )


def payment_in_progress(action: str | None = None) -> Conflict:
    """The 409 while another request collects the invoice (it holds ``collecting_payment_id``):
    nothing was charged or changed by this one. ``action`` names what cannot happen meanwhile."""
    message = (f"You cannot {action} this invoice while a payment for it is in progress." if action
               else "A payment for this invoice is already in progress.")
    return Conflict(message, code="payment_in_progress")


def transition(session: Session, invoice: Invoice, to: InvoiceStatus, *, flush: bool = True) -> None:
    """Move ``invoice`` to ``to`` and stamp the time, or raise Conflict.

    The caller records the event once the rest of the change is in place, so
    the event carries the object as it was right after the change. With
    ``flush=False`` the versioned UPDATE waits for the caller's next flush,
    which raises StaleDataError just the same: for a caller that changes more
    of the invoice first and does nothing irreversible before that write.
    """
    if to not in TRANSITIONS[invoice.status]:
        raise illegal(invoice, _VERBS.get(to, f"move to {to.value}"))
    with session.no_autoflush:  # the caller's pending changes go out with this one versioned UPDATE
        now = invoice_now(session, invoice)  # a test clock dates it too (SPEC §5)
    invoice.status = to
    if to is S.OPEN:
        invoice.finalized_at = now
    elif to is S.PAID:
        invoice.paid_at = now
    elif to is S.VOID:
        invoice.voided_at = now
    elif to is S.UNCOLLECTIBLE:
        invoice.marked_uncollectible_at = now
    if flush:
        session.flush()
