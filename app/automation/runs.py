"""The job bodies of collection over time (SPEC §5), planned by app/invoices/schedule.py
(auto-finalization, reminders) and app/automation/plans.py (dunning).

Delivery is at least once, so each body first checks that its work is still wanted
and not done yet: a finalized draft is not finalized again, a dunning try already
made (counted by the invoice's automatic payments) is not made again, a reminder
whose email exists is not sent twice, a reminder says only what is true when it runs,
and nothing is sent or charged once the invoice is paid, void or uncollectible.

The registry of job kinds (app/worker/kinds.py) hands each body what it needs: the money
flow, the app's secret key.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.clocks import offset_of
from app.accounts.service import Caller
from app.emails import service
from app.emails.models import Email
from app.errors import DomainError
from app.invoices.lifecycle import finalize
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.schemas import FinalizeParams
from app.invoices.serializers import record_event
from app.jobs.claims import ClaimedJob, TryLater
from app.payments import flow, states
from app.payments.methods import default_method
from app.payments.models import Payment, PaymentStatus
from app.payments.service import collect_finalized


def auto_finalize(session: Session, job: ClaimedJob, money: flow.MoneyFlow, *, secret_key: str) -> None:
    """Finalize an ``auto_advance`` draft, then collect it as ``finalize`` does. A draft
    that cannot be finalized stays a draft, with ``last_finalization_error`` and an
    ``invoice.finalization_failed`` event; the merchant fixes it and finalizes."""
    invoice = session.get(Invoice, job.subject)
    if invoice is None or not invoice.auto_advance:
        return
    if invoice.status is InvoiceStatus.OPEN and invoice.payment_id is None:
        # Finalized, and no one has tried to collect it: an earlier run of this job that
        # stopped before charging, or the merchant finalizing by hand with no card then.
        collect_finalized(session, invoice, money, automatic=True)
        return
    if invoice.status is not InvoiceStatus.DRAFT:
        return
    caller = Caller(account=invoice.account, livemode=invoice.livemode)
    try:
        with session.begin_nested():
            finalize(session, caller, invoice.id, FinalizeParams(), secret_key=secret_key)
    except DomainError as error:
        invoice.last_finalization_error = {"code": error.code, "message": error.message}
        session.flush()
        record_event(session, invoice, "invoice.finalization_failed")
        return
    collect_finalized(session, invoice, money, automatic=True)


def retry_payment(session: Session, job: ClaimedJob, money: flow.MoneyFlow) -> None:
    """One planned dunning try: charge the customer's default method as it is now (a card
    the customer replaced on the hosted page is the one tried). Its outcome plans what
    follows (app/automation/consequences.py; plans.plan_after_failure)."""
    invoice = session.get(Invoice, job.subject)
    if invoice is None or invoice.status is not InvoiceStatus.OPEN or not invoice.is_payable:
        return  # paid, voided or given up on meanwhile
    if states.automatic_attempts(session, invoice.id) != job.payload["attempt"] - 1:
        return  # this try was made already (the job runs at least once)
    pm = default_method(session, invoice.customer) if not invoice.customer.deleted else None
    if pm is None:
        flow.record_no_card(session, invoice, money)
        return
    # A collection under way elsewhere (the customer on the page) raises Conflict: the
    # job is tried again shortly, and then sees what that collection came to.
    flow.collect(session, invoice, money, pm, off_session=True, automatic=True)
    if states.automatic_attempts(session, invoice.id) == job.payload["attempt"] - 1 and invoice.is_payable:
        # No try was made: an earlier attempt's outcome is still unknown (the processor
        # did not answer when asked again), and money must not move beside it.
        raise TryLater("an earlier attempt's outcome is still unknown; this try waits for it")


def reask_payment(session: Session, job: ClaimedJob, money: flow.MoneyFlow) -> None:
    """Ask the processor again about VINR's own attempt that got no clear answer. Still
    unclear: asked again later (TryLater, growing delays). Once it is too old to ask
    safely (flow.REASK_SECONDS), the invoice says a person must decide, and the job ends."""
    invoice = session.get(Invoice, job.subject)
    payment = session.get(Payment, job.payload["payment"])
    if invoice is None or payment is None or payment.status is not PaymentStatus.UNKNOWN or not invoice.is_payable:
        return  # answered meanwhile (by the customer's or the merchant's next attempt), or settled
    answer = flow.ask_about_unknown(session, invoice, money)
    if answer is not None and answer.failure_code == states.PAYMENT_OUTCOME_UNKNOWN:
        return
    session.refresh(payment)
    if payment.status is PaymentStatus.UNKNOWN:
        raise TryLater(f"the processor has still not said whether payment {payment.id} went through")


# The invoice with its account's clock, read together (a test clock may have moved since
# anything of this session read it).
_WITH_CLOCK = (sa.select(Invoice, offset_of(Invoice.account_id, Invoice.livemode))
               .where(Invoice.id == sa.bindparam("invoice_id")))


def remind(session: Session, job: ClaimedJob) -> None:
    """A reminder before or after the due date, unless the invoice no longer needs one,
    saying what is true now (SPEC §5): when it runs late — the worker was away, the test
    clock jumped — it says how many days are left or overdue by then. It is not sent, and
    is recorded as skipped (an email ``canceled`` with the reason), when the reminder after
    it in the schedule is due as well (that one speaks for both), or when a reminder
    before the due date finds the invoice already a day overdue."""
    found = session.execute(_WITH_CLOCK, {"invoice_id": job.subject}).one_or_none()
    if found is None:
        return
    invoice, offset = found
    if invoice.status is not InvoiceStatus.OPEN or not invoice.is_payable or invoice.due_date is None:
        return
    now = clock.now() + offset
    planned = (f"reminder_{job.payload['when']}", int(job.payload["days"]))
    true_now = service.reminder_true_at(invoice.due_date, now)
    following = job.payload.get("next")  # absent from jobs planned before it was recorded
    if true_now[0] != planned[0]:
        reason = service.describe_due(invoice.due_date, now)
    elif following is not None and now >= following:
        reason = f"a later reminder is due as well ({service.describe_due(invoice.due_date, now)})"
    else:
        if not _emailed(session, invoice, true_now):
            service.queue_email(session, true_now[0], invoice, days=true_now[1])
        return
    if not _emailed(session, invoice, planned):
        service.skip_email(session, planned[0], invoice, days=planned[1], reason=reason)


def _emailed(session: Session, invoice: Invoice, reminder: tuple[str, int]) -> bool:
    """Whether this reminder has its email already, sent or not (the job runs at least once)."""
    kind, days = reminder
    return bool(session.scalar(sa.select(sa.exists().where(Email.invoice_id == invoice.id, Email.kind == kind,
                                                           Email.days == days))))
