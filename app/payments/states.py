"""The payment state machine: the one writer of ``Payment.status``, the table that says
where a processor's answer moves a payment and its invoice, and what is read off a
payment's processor calls. Everything above the queries is pure: no session, no clock.

A payment is created ``processing`` when it takes its invoice's collection slot
(app/payments/flow.py), is ``processing`` again while its 3DS confirmation is with the
processor, and moves when an answer is recorded. An ``unknown`` one is asked about again
as it is, so it may move to itself, as may ``requires_action`` (a bank asking again);
``completed`` and ``failed`` are final.

A new outcome (an asynchronous debit that is ``processing`` for days, a dispute) is a new
``Answer``, a row of ``OUTCOMES`` and, if it needs one, a status and its row of
``PAYMENT_TRANSITIONS``; the flow applies rows, and what follows an outcome (events,
emails, dunning) is app/automation/consequences.py.

A refund has a machine of its own, beside the payment's: ``REFUND_TRANSITIONS`` and
``move_refund`` (the one writer of ``Refund.status``), and ``REFUND_OUTCOMES``, which says
where a processor's answer about a refund moves it and whether its amount still counts
against its payment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.invoices.models import InvoiceStatus
from app.payments.models import (
    CallKind,
    CallOutcome,
    Payment,
    PaymentMethodType,
    PaymentStatus,
    ProcessorCall,
    Refund,
    RefundStatus,
)
from app.payments.processor import ChargeResult, ChargeStatus, RefundResult, RefundResultStatus

PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PROCESSING: frozenset({PaymentStatus.COMPLETED, PaymentStatus.FAILED,
                                         PaymentStatus.REQUIRES_ACTION, PaymentStatus.UNKNOWN}),
    PaymentStatus.UNKNOWN: frozenset({PaymentStatus.COMPLETED, PaymentStatus.FAILED,
                                      PaymentStatus.REQUIRES_ACTION, PaymentStatus.UNKNOWN}),
    PaymentStatus.REQUIRES_ACTION: frozenset({PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_ACTION}),
    PaymentStatus.COMPLETED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
}


class IllegalPaymentTransition(RuntimeError):
    """A bug, not a customer's or merchant's mistake: collection checks the status first."""


def move(payment: Payment, to: PaymentStatus) -> None:
    """Move ``payment`` to ``to``, or raise IllegalPaymentTransition."""
    if to not in PAYMENT_TRANSITIONS[payment.status]:
        raise IllegalPaymentTransition(f"payment {payment.id} cannot move from {payment.status} to {to}")
    payment.status = to


# What a processor's answer says

# Failures after which we cannot know whether the processor charged the card.
UNKNOWN_OUTCOME = frozenset({"processor_unavailable", "processor_invalid_response"})
# Refusals of a request the processor did not process: about that send only.
NOT_PROCESSED = frozenset({"processor_authentication_failed", "processor_rate_limited"})
AUTHENTICATION_REQUIRED = "authentication_required"  # only the customer, present, can authenticate
NO_CARD = "payment_method_missing"  # a planned try found no card: nothing reached a processor
PAYMENT_OUTCOME_UNKNOWN = "payment_outcome_unknown"  # last_payment_error code: a person must check the processor


class Answer(StrEnum):
    """A processor's answer about a payment, normalized."""

    CHARGED = "charged"
    CHALLENGE = "challenge"  # the bank asks for 3D Secure
    AUTHENTICATION_REQUIRED = "authentication_required"  # refused: only the customer can authenticate
    NO_ANSWER = "no_answer"  # it may or may not have charged
    NO_CARD = "no_card"
    DECLINED = "declined"


def answer_of(result: ChargeResult) -> Answer:
    if result.status is ChargeStatus.SUCCEEDED:
        return Answer.CHARGED
    if result.status is ChargeStatus.REQUIRES_ACTION:
        return Answer.CHALLENGE
    if result.failure_code == AUTHENTICATION_REQUIRED:
        return Answer.AUTHENTICATION_REQUIRED
    if result.failure_code in UNKNOWN_OUTCOME:
        return Answer.NO_ANSWER
    if result.failure_code == NO_CARD:
        return Answer.NO_CARD
    return Answer.DECLINED


def call_outcome(result: ChargeResult) -> CallOutcome:
    """The normalized outcome a processor call's row keeps. Coarser than ``answer_of``, and
    a refusal of the request itself (our credentials, a rate limit) is no answer here:
    it says nothing about the charge."""
    if result.status is ChargeStatus.SUCCEEDED:
        return CallOutcome.SUCCEEDED
    if result.status is ChargeStatus.REQUIRES_ACTION:
        return CallOutcome.REQUIRES_ACTION
    if result.failure_code in UNKNOWN_OUTCOME or result.failure_code in NOT_PROCESSED:
        return CallOutcome.NO_ANSWER
    return CallOutcome.DECLINED


# Where an answer moves the payment and the invoice


class OutcomeKind(StrEnum):
    PAID = "paid"
    CHALLENGED = "challenged"  # the customer is here and will authenticate: not yet an attempt
    NEEDS_CUSTOMER = "needs_customer"  # only the customer can resolve it (3DS without them)
    UNKNOWN = "unknown"  # no clear answer: asked about again before anything new moves money
    NO_CARD = "no_card"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """One row of the outcome table."""

    kind: OutcomeKind
    payment: PaymentStatus  # where the payment moves
    invoice: InvoiceStatus | None = None  # where the invoice moves, if anywhere
    # The payment failed: it and the invoice's last_payment_error carry why, with these
    # as the code and message when the processor gave none.
    failed: bool = False
    failure_code: str | None = None
    failure_message: str | None = None


_NEEDS_CUSTOMER = Outcome(OutcomeKind.NEEDS_CUSTOMER, PaymentStatus.REQUIRES_ACTION, failed=True,
                          failure_code=AUTHENTICATION_REQUIRED,
                          failure_message="This payment needs the customer to authenticate on the invoice page.")

OUTCOMES: dict[Answer, Outcome] = {
    Answer.CHARGED: Outcome(OutcomeKind.PAID, PaymentStatus.COMPLETED, invoice=InvoiceStatus.PAID),
    Answer.CHALLENGE: Outcome(OutcomeKind.CHALLENGED, PaymentStatus.REQUIRES_ACTION),
    Answer.AUTHENTICATION_REQUIRED: _NEEDS_CUSTOMER,
    Answer.NO_ANSWER: Outcome(OutcomeKind.UNKNOWN, PaymentStatus.UNKNOWN, failed=True),
    Answer.NO_CARD: Outcome(OutcomeKind.NO_CARD, PaymentStatus.FAILED, failed=True),
    Answer.DECLINED: Outcome(OutcomeKind.FAILED, PaymentStatus.FAILED, failed=True),
}
# Off-session (/pay, dunning) no customer is there to answer a challenge.
OFF_SESSION_OUTCOMES: dict[Answer, Outcome] = {Answer.CHALLENGE: _NEEDS_CUSTOMER}


def outcome_of(result: ChargeResult, *, off_session: bool) -> Outcome:
    """The row for the processor's answer ``result`` to a payment made on- or off-session."""
    answer = answer_of(result)
    return (OFF_SESSION_OUTCOMES.get(answer) if off_session else None) or OUTCOMES[answer]


def blocks_new_charge(result: ChargeResult | None) -> bool:
    """Whether an earlier attempt's answer leaves nothing new to charge now: it succeeded,
    or still has no clear answer. A decline lets a new charge go ahead, and so does a 3DS
    request: that charge moves no money unless we confirm it, and we confirm only while
    the invoice is payable."""
    if result is None:
        return False
    return result.status is ChargeStatus.SUCCEEDED or (
        result.status is ChargeStatus.FAILED and (result.failure_code in UNKNOWN_OUTCOME
                                                  or result.failure_code == PAYMENT_OUTCOME_UNKNOWN))


def unclear_is_unknown(result: ChargeResult, payment: Payment) -> ChargeResult:
    """The answer to re-sending an attempt whose first send may have reached the processor.
    A processor replays its first answer to a key, so a decline or an invalid request is
    about that first send. Not a refusal of our credentials or a rate limit, which the
    resend met and the first may not have: the attempt stays unknown, and is asked about
    again next time. (The HTTP processor already reports the other refusals that say
    nothing, such as a 409, as no answer.)"""
    unclear = result.status is ChargeStatus.FAILED and (
        result.failure_code in UNKNOWN_OUTCOME or result.failure_code in NOT_PROCESSED)
    if not unclear:
        return result
    code = payment.failure_code if payment.failure_code in UNKNOWN_OUTCOME else "processor_unavailable"
    return replace(result, failure_code=code, failure_message=(
        f"The processor has still not said whether payment {payment.id} went through, so nothing new "
        "was charged. Try again later; if it stays unanswered, check the payment with the processor "
        "and record the invoice as paid out of band, or void it."))


# What is read off an invoice's payments and processor calls

# The attempts an invoice's attempt_count counts (SPEC §3): every payment with an
# outcome, and one that waits for a customer who is not there (off-session 3DS).
# An on-session payment waiting for its 3DS answer is counted once it has one.
# Money that came without the processor (a transfer, out of band) is no attempt.
_COUNTED = sa.and_(
    Payment.payment_method_type.in_([PaymentMethodType.CARD, PaymentMethodType.SEPA_DEBIT]),
    sa.or_(Payment.status.in_([PaymentStatus.COMPLETED, PaymentStatus.FAILED, PaymentStatus.UNKNOWN]),
           sa.and_(Payment.status == PaymentStatus.REQUIRES_ACTION, Payment.off_session.is_(True))))


def attempt_count(session: Session, invoice_id: str) -> int:
    """How many collection attempts the invoice has had."""
    return session.scalar(sa.select(sa.func.count()).select_from(Payment)
                          .where(Payment.invoice_id == invoice_id, _COUNTED)) or 0


def unknown_attempts(session: Session, invoice_id: str) -> list[Payment]:
    """The invoice's payments the processor gave no clear answer to, oldest first."""
    return list(session.scalars(
        sa.select(Payment).where(Payment.invoice_id == invoice_id, Payment.status == PaymentStatus.UNKNOWN)
        .order_by(Payment.created, Payment.id)))


def was_charged(session: Session, invoice_id: str) -> bool:
    """Whether the processor said yes to any charge (or its confirmation) for this invoice."""
    return session.scalar(sa.select(sa.exists().where(
        ProcessorCall.invoice_id == invoice_id, ProcessorCall.payment_id.isnot(None),
        ProcessorCall.kind.in_([CallKind.CHARGE, CallKind.CONFIRM]),
        ProcessorCall.outcome == CallOutcome.SUCCEEDED))) or False


def automatic_attempts(session: Session, invoice_id: str) -> int:
    """How many attempts VINR made by itself (finalizing, dunning): how far dunning has got."""
    return session.scalar(sa.select(sa.func.count()).select_from(Payment)
                          .where(Payment.invoice_id == invoice_id, Payment.automatic.is_(True))) or 0


# Refunds (SPEC §11)

REFUND_TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    # A pending refund asked about again may stay pending.
    RefundStatus.PENDING: frozenset({RefundStatus.PENDING, RefundStatus.SUCCEEDED, RefundStatus.FAILED,
                                     RefundStatus.CANCELED}),
    RefundStatus.SUCCEEDED: frozenset(),
    RefundStatus.FAILED: frozenset(),
    RefundStatus.CANCELED: frozenset(),
}
# The statuses whose amount counts against the payment (``Payment.amount_refunded``).
REFUND_COUNTS = frozenset({RefundStatus.PENDING, RefundStatus.SUCCEEDED})


def move_refund(refund: Refund, to: RefundStatus) -> None:
    """Move ``refund`` to ``to``, or raise IllegalPaymentTransition."""
    if to not in REFUND_TRANSITIONS[refund.status]:
        raise IllegalPaymentTransition(f"refund {refund.id} cannot move from {refund.status} to {to}")
    refund.status = to


class RefundAnswer(StrEnum):
    """A processor's answer about a refund, normalized."""

    REFUNDED = "refunded"
    IN_PROGRESS = "in_progress"  # the processor took it and has not finished: read it again later
    NO_ANSWER = "no_answer"  # it may or may not have been made: sent again with the same key
    REFUSED = "refused"
    CANCELED = "canceled"


class RefundOutcomeKind(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"  # no news: still pending, asked again later
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class RefundOutcome:
    """One row of the refund outcome table."""

    kind: RefundOutcomeKind
    refund: RefundStatus  # where the refund moves
    # The processor gave no reason for a failure: this is the refund's failure_reason.
    failure_reason: str | None = None


REFUND_OUTCOMES: dict[RefundAnswer, RefundOutcome] = {
    RefundAnswer.REFUNDED: RefundOutcome(RefundOutcomeKind.SUCCEEDED, RefundStatus.SUCCEEDED),
    RefundAnswer.IN_PROGRESS: RefundOutcome(RefundOutcomeKind.PENDING, RefundStatus.PENDING),
    RefundAnswer.NO_ANSWER: RefundOutcome(RefundOutcomeKind.PENDING, RefundStatus.PENDING),
    RefundAnswer.REFUSED: RefundOutcome(RefundOutcomeKind.FAILED, RefundStatus.FAILED, failure_reason="unknown"),
    RefundAnswer.CANCELED: RefundOutcome(RefundOutcomeKind.CANCELED, RefundStatus.CANCELED),
}


def refund_answer_of(result: RefundResult, *, sent_before: bool) -> RefundAnswer:
    """``result`` normalized. ``sent_before``: the refund may have reached the processor
    before this call (it is asked again), so a refusal that says nothing about it (our
    credentials, a rate limit) is no answer here, as ``unclear_is_unknown`` says of charges.
    A failure the flow made of a ProcessorError carries its code as ``failure_reason``."""
    if result.status is RefundResultStatus.SUCCEEDED:
        return RefundAnswer.REFUNDED
    if result.status is RefundResultStatus.PENDING:
        return RefundAnswer.IN_PROGRESS
    if result.status is RefundResultStatus.CANCELED:
        return RefundAnswer.CANCELED
    if result.failure_reason in UNKNOWN_OUTCOME or (sent_before and result.failure_reason in NOT_PROCESSED):
        return RefundAnswer.NO_ANSWER
    return RefundAnswer.REFUSED


def refund_outcome_of(result: RefundResult, *, sent_before: bool) -> RefundOutcome:
    """The row for the processor's answer ``result`` about a refund."""
    return REFUND_OUTCOMES[refund_answer_of(result, sent_before=sent_before)]


# The normalized outcome a refund call's row keeps, by answer.
REFUND_CALL_OUTCOMES: dict[RefundAnswer, CallOutcome] = {
    RefundAnswer.REFUNDED: CallOutcome.SUCCEEDED, RefundAnswer.IN_PROGRESS: CallOutcome.PENDING,
    RefundAnswer.NO_ANSWER: CallOutcome.NO_ANSWER, RefundAnswer.REFUSED: CallOutcome.DECLINED,
    RefundAnswer.CANCELED: CallOutcome.CANCELED,
}


def refund_was_sent(session: Session, refund_id: str) -> bool:
    """Whether a call about this refund has a row: it may have reached the processor."""
    return session.scalar(sa.select(sa.exists().where(ProcessorCall.refund_id == refund_id))) or False


def refunded_or_pending(session: Session, payment_id: str) -> int:
    """What the payment's refunds give back or are giving back (minor units): the sum that
    ``Payment.amount_refunded`` keeps, read from the refunds themselves."""
    total = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Refund.amount), 0))
                           .where(Refund.payment_id == payment_id, Refund.status.in_(REFUND_COUNTS)))
    return int(total or 0)  # PostgreSQL sums a bigint as a numeric
