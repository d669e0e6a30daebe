"""The payment state machine: the one writer of ``Payment.status``, and what is read
off a payment's processor calls.

A payment is created ``processing`` when it claims its invoice (app/payments/collection.py),
is ``processing`` again while its 3DS confirmation is with the processor, and moves when an
answer is recorded. An ``unknown`` one is asked about again as it is, so it may move to
itself, as may ``requires_action`` (a bank asking again); ``completed`` and ``failed`` are final.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.payments.models import CallOutcome, Payment, PaymentStatus, ProcessorCall

P = PaymentStatus

PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    P.PROCESSING: frozenset({P.COMPLETED, P.FAILED, P.REQUIRES_ACTION, P.UNKNOWN}),
    P.UNKNOWN: frozenset({P.COMPLETED, P.FAILED, P.REQUIRES_ACTION, P.UNKNOWN}),
    P.REQUIRES_ACTION: frozenset({P.PROCESSING, P.REQUIRES_ACTION}),
    P.COMPLETED: frozenset(),
    P.FAILED: frozenset(),
}


class IllegalPaymentTransition(RuntimeError):
    """A bug, not a customer's or merchant's mistake: collection checks the status first."""


def move(payment: Payment, to: PaymentStatus) -> None:
    """Move ``payment`` to ``to``, or raise IllegalPaymentTransition."""
    if to not in PAYMENT_TRANSITIONS[payment.status]:
        raise IllegalPaymentTransition(f"payment {payment.id} cannot move from {payment.status} to {to}")
    payment.status = to


# The attempts an invoice's attempt_count counts (SPEC §3): every payment with an
# outcome, and one that waits for a customer who is not there (off-session 3DS).
# An on-session payment waiting for its 3DS answer is counted once it has one.
_COUNTED = sa.or_(Payment.status.in_([P.COMPLETED, P.FAILED, P.UNKNOWN]),
                  sa.and_(Payment.status == P.REQUIRES_ACTION, Payment.off_session.is_(True)))


def attempt_count(session: Session, invoice_id: str) -> int:
    """How many collection attempts the invoice has had."""
    return session.scalar(sa.select(sa.func.count()).select_from(Payment)
                          .where(Payment.invoice_id == invoice_id, _COUNTED)) or 0


def unknown_attempts(session: Session, invoice_id: str) -> list[Payment]:
    """The invoice's payments the processor gave no clear answer to, oldest first."""
    return list(session.scalars(
        sa.select(Payment).where(Payment.invoice_id == invoice_id, Payment.status == P.UNKNOWN)
        .order_by(Payment.created, Payment.id)))


def was_charged(session: Session, invoice_id: str) -> bool:
    """Whether the processor said yes to any charge (or its confirmation) for this invoice."""
    return session.scalar(sa.select(sa.exists().where(
        ProcessorCall.invoice_id == invoice_id, ProcessorCall.payment_id.isnot(None),
        ProcessorCall.outcome == CallOutcome.SUCCEEDED))) or False


def automatic_attempts(session: Session, invoice_id: str) -> int:
    """How many attempts VINR made by itself (finalizing, dunning): how far dunning has got."""
    return session.scalar(sa.select(sa.func.count()).select_from(Payment)
                          .where(Payment.invoice_id == invoice_id, Payment.automatic.is_(True))) or 0
