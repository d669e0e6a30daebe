"""The job bodies of collection over time (SPEC §5), planned by app/automation/plans.py.

Delivery is at least once, so each body first checks that its work is still wanted
and not done yet: a finalized draft is not finalized again, a dunning try already
made (counted by the invoice's automatic payments) is not made again, a reminder
whose email exists is not sent twice, and nothing is sent or charged once the
invoice is paid, void or uncollectible.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.service import Caller
from app.emails.models import Email
from app.emails.service import queue_email
from app.errors import DomainError
from app.invoices.lifecycle import finalize
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.schemas import FinalizeParams
from app.invoices.serializers import record_event
from app.jobs.claims import ClaimedJob
from app.payments import collection, states
from app.payments.methods import default_method
from app.payments.service import collect_finalized

S = InvoiceStatus


class TryLater(Exception):
    """The job cannot do its work yet: the worker runs it again after a growing delay."""


def auto_finalize(session: Session, job: ClaimedJob) -> None:
    """Finalize an ``auto_advance`` draft, then collect it as ``finalize`` does. A draft
    that cannot be finalized stays a draft, with ``last_finalization_error`` and an
    ``invoice.finalization_failed`` event; the merchant fixes it and finalizes."""
    invoice = session.get(Invoice, job.subject)
    if invoice is None or not invoice.auto_advance:
        return
    if invoice.status is S.OPEN and states.automatic_attempts(session, invoice.id) == 0:
        # Finalized already, by an earlier run of this job that stopped before charging
        # (or by hand, with no card then): collect it now.
        collect_finalized(session, invoice, automatic=True)
        return
    if invoice.status is not S.DRAFT:
        return
    caller = Caller(account=invoice.account, livemode=invoice.livemode)
    try:
        with session.begin_nested():
            finalize(session, caller, invoice.id, FinalizeParams())
    except DomainError as error:
        invoice.last_finalization_error = {"code": error.code, "message": error.message}
        session.flush()
        record_event(session, invoice, "invoice.finalization_failed")
        return
    collect_finalized(session, invoice, automatic=True)


def retry_payment(session: Session, job: ClaimedJob) -> None:
    """One planned dunning try: charge the customer's default method as it is now (a card
    the customer replaced on the hosted page is the one tried). Its outcome plans what
    follows (app/payments/steps.py records it; plans.plan_after_failure)."""
    invoice = session.get(Invoice, job.subject)
    if invoice is None or invoice.status is not S.OPEN or not invoice.is_payable:
        return  # paid, voided or given up on meanwhile
    if states.automatic_attempts(session, invoice.id) != job.payload["attempt"] - 1:
        return  # this try was made already (the job runs at least once)
    pm = default_method(session, invoice.customer) if not invoice.customer.deleted else None
    if pm is None:
        # Nothing to charge off-session: the customer pays, or adds a card, on the page.
        invoice.next_payment_attempt = None
        session.flush()
        queue_email(session, "payment_action_required", invoice)
        return
    # A collection under way elsewhere (the customer on the page) raises Conflict: the
    # job is tried again shortly, and then sees what that collection came to.
    collection.collect(session, invoice, pm, off_session=True, automatic=True)
    if states.automatic_attempts(session, invoice.id) == job.payload["attempt"] - 1 and invoice.is_payable:
        # No try was made: an earlier attempt's outcome is still unknown (the processor
        # did not answer when asked again), and money must not move beside it.
        raise TryLater("an earlier attempt's outcome is still unknown; this try waits for it")


def remind(session: Session, job: ClaimedJob) -> None:
    """A reminder before or after the due date, unless the invoice no longer needs one."""
    invoice = session.get(Invoice, job.subject)
    if invoice is None or invoice.status is not S.OPEN or not invoice.is_payable:
        return
    kind = f"reminder_{job.payload['when']}"
    days = int(job.payload["days"])
    already = session.scalar(sa.select(sa.exists().where(Email.invoice_id == invoice.id, Email.kind == kind,
                                                         Email.days == days)))
    if not already:
        queue_email(session, kind, invoice, days=days)
