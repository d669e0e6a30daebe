"""Planning collection over time (SPEC §5), in the caller's transaction: each planned
action is a job row keyed by what it is (the invoice, and which try or reminder), so
planning it twice, from two processes or a retried request, queues it once.

The schedule is the account's (app/accounts/settings.py) as it is when planning.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app import clock
from app.accounts.clocks import now_for
from app.accounts.settings import schedule_for
from app.emails.service import queue_email
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.serializers import record_event
from app.invoices.states import transition
from app.jobs.queue import NewJob, enqueue, enqueue_many
from app.payments import states
from app.payments.models import Payment

AUTO_FINALIZE = "invoice.auto_finalize"
RETRY_PAYMENT = "invoice.retry_payment"
REMIND = "invoice.remind"
DAY = 86_400


def plan_auto_finalize(session: Session, invoice: Invoice) -> None:
    """A draft with ``auto_advance``: finalize it ``auto_advance_delay`` after its creation
    (at once if that has passed). The job looks again when it runs, so a draft finalized,
    deleted or switched off meanwhile is left alone."""
    if invoice.status is not InvoiceStatus.DRAFT or not invoice.auto_advance:
        return
    delay = schedule_for(session, invoice.account_id, invoice.livemode).auto_advance_delay
    due = max(invoice.created + delay, clock.now())  # real time: a test clock moves the job itself
    enqueue(session, AUTO_FINALIZE, invoice.id, delay=due - clock.now(),
            unique_key=f"{AUTO_FINALIZE}:{invoice.id}:{due}", account_id=invoice.account_id,
            livemode=invoice.livemode)


@dataclass(frozen=True)
class AfterFailure:
    """What follows a failed automatic attempt: ``exhausted`` means the schedule is over."""

    exhausted: bool


def plan_after_failure(session: Session, invoice: Invoice, payment: Payment, *,
                       needs_customer: bool) -> AfterFailure:
    """Dunning (SPEC §5): after VINR's own attempt ``payment`` failed, plan the next try on
    the account's schedule (each wait counted from this attempt) and show it as
    ``next_payment_attempt``. A decline only the customer can resolve (3DS) is not
    tried again off-session: the customer is emailed the hosted link instead. With
    ``exhausted``, the caller records the failure first, then calls ``give_up``."""
    if needs_customer:
        invoice.next_payment_attempt = None
        queue_email(session, "payment_action_required", invoice, payment_id=payment.id)
        return AfterFailure(exhausted=False)
    made = states.automatic_attempts(session, invoice.id)
    waits = schedule_for(session, invoice.account_id, invoice.livemode).dunning_retry_days
    if made > len(waits):
        invoice.next_payment_attempt = None
        return AfterFailure(exhausted=True)
    wait = waits[made - 1] * DAY
    invoice.next_payment_attempt = now_for(session, invoice.account_id, invoice.livemode) + wait
    # Keyed by the try's number: however often this failure is recorded, one job per try.
    enqueue(session, RETRY_PAYMENT, invoice.id, payload={"attempt": made + 1}, delay=wait,
            unique_key=f"{RETRY_PAYMENT}:{invoice.id}:{made + 1}", account_id=invoice.account_id,
            livemode=invoice.livemode)
    return AfterFailure(exhausted=False)


def give_up(session: Session, invoice: Invoice) -> None:
    """The dunning schedule is over: the invoice becomes uncollectible (it can still be
    paid on its hosted page, or voided)."""
    transition(session, invoice, InvoiceStatus.UNCOLLECTIBLE)
    record_event(session, invoice, "invoice.marked_uncollectible")


def plan_reminders(session: Session, invoice: Invoice) -> None:
    """A ``send_invoice`` invoice just finalized: one reminder job per day of the account's
    schedule before and after its due date, each keyed by (invoice, before/after, days)
    so it is sent at most once. Days already past by the account's clock are skipped.
    Each job looks again when it runs: none goes out once the invoice is paid, void or
    uncollectible."""
    if invoice.collection_method != "send_invoice" or invoice.due_date is None or not invoice.customer_email:
        return
    schedule = schedule_for(session, invoice.account_id, invoice.livemode)
    now = now_for(session, invoice.account_id, invoice.livemode)
    planned = [("before", days, invoice.due_date - days * DAY) for days in schedule.reminder_days_before_due]
    planned += [("after", days, invoice.due_date + days * DAY) for days in schedule.reminder_days_after_due]
    enqueue_many(session, [
        NewJob(REMIND, invoice.id, payload={"when": when, "days": days}, delay=at - now,
               unique_key=f"{REMIND}:{invoice.id}:{when}:{days}", account_id=invoice.account_id,
               livemode=invoice.livemode)
        for when, days, at in planned if at > now])
