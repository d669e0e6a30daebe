"""What follows an outcome of the money flow (app/payments/flow.py): the events, the emails,
dunning and the default card. The flow calls ``AfterPayments`` inside the step that recorded
the outcome, so an outcome and its consequences are committed together (the outbox).

One handler per kind of outcome (``_BY_KIND``, and ``_BY_REFUND_KIND`` for refunds): a new
outcome of the flow is a row there.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from app.automation import plans
from app.customers.models import Customer
from app.customers.service import serialize as serialize_customer
from app.emails.service import queue_email
from app.events import service as events
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.serializers import record_event as record_invoice_event
from app.payments.flow import Recorded, RefundRecorded, make_default
from app.payments.models import Payment, PaymentMethod, Refund
from app.payments.serializers import serialize_payment, serialize_refund
from app.payments.states import OutcomeKind, RefundOutcomeKind


def _record_payment_event(session: Session, payment: Payment, type_: str) -> None:
    events.record(session, payment.account_id, payment.livemode, type_, serialize_payment(payment))


class AfterPayments:
    """The consequences the app factory hands the money flow (``flow.Consequences``)."""

    def payment_recorded(self, session: Session, recorded: Recorded) -> None:
        _BY_KIND[recorded.outcome.kind](self, session, recorded)

    def default_card_changed(self, session: Session, customer: Customer) -> None:
        events.record(session, customer.account_id, customer.livemode, "customer.updated",
                      serialize_customer(customer))
        plans.resume_with_new_card(session, customer.id)

    def person_must_decide(self, session: Session, invoice: Invoice) -> None:
        record_invoice_event(session, invoice, "invoice.updated")

    def refund_claimed(self, session: Session, refund: Refund) -> None:
        _record_refund_event(session, refund, "refund.created")

    def refund_recorded(self, session: Session, recorded: RefundRecorded) -> None:
        _BY_REFUND_KIND[recorded.outcome.kind](session, recorded)


def _paid(after: AfterPayments, session: Session, recorded: Recorded) -> None:
    invoice, payment = recorded.invoice, recorded.payment
    _record_payment_event(session, payment, "payment.completed")
    record_invoice_event(session, invoice, "invoice.payment_succeeded")
    if recorded.settled:
        record_invoice_event(session, invoice, "invoice.paid")
    queue_email(session, "receipt", invoice, payment_id=payment.id)
    if payment.set_default_on_success and payment.payment_method_id is not None:
        # Read anew: a customer deleted meanwhile keeps no card.
        customer = session.get_one(Customer, invoice.customer_id, populate_existing=True)
        make_default(session, customer, session.get_one(PaymentMethod, payment.payment_method_id), after)


def _challenged(_after: AfterPayments, session: Session, recorded: Recorded) -> None:
    # The customer is here and will authenticate: not a failed attempt, not counted until answered.
    record_invoice_event(session, recorded.invoice, "invoice.payment_action_required")


def _failed(_after: AfterPayments, session: Session, recorded: Recorded) -> None:
    invoice, payment, kind, reasked = recorded.invoice, recorded.payment, recorded.outcome.kind, recorded.reasked
    unknown = kind is OutcomeKind.UNKNOWN
    needs_customer = kind is OutcomeKind.NEEDS_CUSTOMER
    # VINR's own attempt: plan what follows before the events, which show it
    # (next_payment_attempt). An unclear answer is asked about again first; once it is
    # clear (asked again), it is a failed try like any other.
    after = None
    if payment.automatic and unknown and not reasked:
        plans.plan_reask(session, invoice, payment)
    elif payment.automatic and not unknown:
        after = plans.plan_after_failure(session, invoice, payment, needs_customer=needs_customer)
    session.flush()
    # What is news after asking again: that it waits for the customer, or that its failure
    # is now clear; not that it is still unknown.
    if needs_customer:
        record_invoice_event(session, invoice, "invoice.payment_action_required")
        if not reasked:
            record_invoice_event(session, invoice, "invoice.payment_failed")
    elif not (reasked and unknown):
        _record_payment_event(session, payment, "payment.failed")
        record_invoice_event(session, invoice, "invoice.payment_failed")
    if after is not None and after.exhausted:
        plans.give_up(session, invoice)
    if kind is OutcomeKind.NO_CARD and invoice.status is InvoiceStatus.OPEN:
        # Nothing to charge off-session: the customer gets the link to pay or add a card
        # (not when that was the schedule's last try).
        queue_email(session, "payment_action_required", invoice)


_BY_KIND: dict[OutcomeKind, Callable[[AfterPayments, Session, Recorded], None]] = {
    OutcomeKind.PAID: _paid,
    OutcomeKind.CHALLENGED: _challenged,
    OutcomeKind.NEEDS_CUSTOMER: _failed,
    OutcomeKind.UNKNOWN: _failed,
    OutcomeKind.NO_CARD: _failed,
    OutcomeKind.FAILED: _failed,
}


# Refunds (SPEC §11)


def _record_refund_event(session: Session, refund: Refund, type_: str) -> None:
    events.record(session, refund.account_id, refund.livemode, type_, serialize_refund(refund))


def _refund_succeeded(session: Session, recorded: RefundRecorded) -> None:
    refund, payment = recorded.refund, recorded.payment
    _record_refund_event(session, refund, "refund.updated")
    _record_payment_event(session, payment, "payment.refunded")
    queue_email(session, "refund_receipt", session.get_one(Invoice, payment.invoice_id), refund_id=refund.id)


def _refund_failed(session: Session, recorded: RefundRecorded) -> None:
    _record_refund_event(session, recorded.refund, "refund.updated")
    _record_refund_event(session, recorded.refund, "refund.failed")


def _refund_canceled(session: Session, recorded: RefundRecorded) -> None:
    _record_refund_event(session, recorded.refund, "refund.updated")


def _refund_pending(_session: Session, _recorded: RefundRecorded) -> None:
    """Still pending (no clear answer, or the processor is not done): no news; the worker asks again."""


_BY_REFUND_KIND: dict[RefundOutcomeKind, Callable[[Session, RefundRecorded], None]] = {
    RefundOutcomeKind.SUCCEEDED: _refund_succeeded,
    RefundOutcomeKind.FAILED: _refund_failed,
    RefundOutcomeKind.CANCELED: _refund_canceled,
    RefundOutcomeKind.PENDING: _refund_pending,
}
