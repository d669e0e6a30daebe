"""Planning collection over time (SPEC §5), in the caller's transaction: each planned
action is a job row keyed by what it is (the invoice, and which try or reminder), so
planning it twice, from two processes or a retried request, queues it once.

The schedule is the account's (app/accounts/settings.py) as it is when planning.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.clocks import invoice_now
from app.accounts.settings import Schedule, schedule_for
from app.emails.service import queue_email, recipient
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.serializers import record_event
from app.invoices.states import transition
from app.jobs.queue import NewJob, enqueue, enqueue_many
from app.payments import states
from app.payments.models import Payment

AUTO_FINALIZE = "invoice.auto_finalize"
RETRY_PAYMENT = "invoice.retry_payment"
REMIND = "invoice.remind"
REASK = "invoice.reask_payment"
REASK_AFTER = 60  # seconds; then the job's growing retry delays, well within flow.REASK_SECONDS
DAY = 86_400


def plan_auto_finalize(session: Session, invoice: Invoice) -> None:
    """A draft with ``auto_advance``: finalize it ``auto_advance_delay`` after its creation
    (at once if that has passed). The job looks again when it runs, so a draft finalized,
    deleted or switched off meanwhile is left alone."""
    if invoice.status is not InvoiceStatus.DRAFT or not invoice.auto_advance:
        return
    delay = schedule_for(session, invoice.account_id, invoice.livemode).auto_advance_delay
    now = invoice_now(session, invoice)  # ``created`` is on the account's clock
    due = max(invoice.created + delay, now)
    enqueue(session, AUTO_FINALIZE, invoice.id, delay=due - now,
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
    invoice.next_payment_attempt = invoice_now(session, invoice) + wait
    # Keyed by the try's number: however often this failure is recorded, one job per try.
    enqueue(session, RETRY_PAYMENT, invoice.id, payload={"attempt": made + 1}, delay=wait,
            unique_key=f"{RETRY_PAYMENT}:{invoice.id}:{made + 1}", account_id=invoice.account_id,
            livemode=invoice.livemode)
    return AfterFailure(exhausted=False)


def plan_reask(session: Session, invoice: Invoice, payment: Payment) -> None:
    """VINR's own attempt ``payment`` got no clear answer: it may have charged, so it is not a
    failed try of the schedule yet. Ask the processor about it again shortly (same request,
    same key); its answer, once clear, plans what follows. No try is planned meanwhile."""
    invoice.next_payment_attempt = None
    enqueue(session, REASK, invoice.id, payload={"payment": payment.id}, delay=REASK_AFTER,
            unique_key=f"{REASK}:{payment.id}", account_id=invoice.account_id, livemode=invoice.livemode)


# The last automatic attempt waits for the customer (app/payments/states.py: a 3DS request
# off-session): a new default card is tried at once.
WAITS_FOR_A_CARD = frozenset({"authentication_required"})
_WAITING = (sa.select(Invoice).join(Payment, Payment.id == Invoice.payment_id)
            .where(Invoice.customer_id == sa.bindparam("customer_id"), Invoice.status == InvoiceStatus.OPEN,
                   Invoice.collection_method == "charge_automatically", Invoice.next_payment_attempt.is_(None),
                   Invoice.collecting_payment_id.is_(None), Payment.automatic.is_(True),
                   Payment.failure_code.in_(WAITS_FOR_A_CARD)))


def resume_with_new_card(session: Session, customer_id: str) -> None:
    """The customer has a new default card (the hosted page's "Update payment method", or
    the merchant saving one): each of their invoices whose dunning waits for them is
    tried again now, with that card, as its next try."""
    for invoice in session.scalars(_WAITING, {"customer_id": customer_id}):
        made = states.automatic_attempts(session, invoice.id)
        invoice.next_payment_attempt = invoice_now(session, invoice)
        enqueue(session, RETRY_PAYMENT, invoice.id, payload={"attempt": made + 1},
                unique_key=f"{RETRY_PAYMENT}:{invoice.id}:{made + 1}", account_id=invoice.account_id,
                livemode=invoice.livemode)
    session.flush()


def give_up(session: Session, invoice: Invoice) -> None:
    """The dunning schedule is over: the invoice becomes uncollectible (it can still be
    paid on its hosted page, or voided)."""
    transition(session, invoice, InvoiceStatus.UNCOLLECTIBLE)
    record_event(session, invoice, "invoice.marked_uncollectible")


def plan_reminders(session: Session, invoice: Invoice) -> None:
    """A ``send_invoice`` invoice just finalized: one reminder job per day of the account's
    schedule before and after its due date, each keyed by (invoice, before/after, days)
    so it is sent at most once. Days already past by the account's clock are skipped.
    Each job looks again when it runs (app/automation/runs.py ``remind``): none goes out
    once the invoice is paid, void or uncollectible, nor one that is no longer true."""
    if invoice.collection_method != "send_invoice" or invoice.due_date is None or recipient(invoice) is None:
        return
    schedule = schedule_for(session, invoice.account_id, invoice.livemode)
    assert invoice.finalized_at is not None  # planned as it is finalized: that is the account's now
    enqueue_many(session, reminder_jobs(invoice.id, invoice.account_id, invoice.livemode, invoice.due_date,
                                        schedule, now=invoice.finalized_at))


def reminder_jobs(invoice_id: str, account_id: str, livemode: bool, due_date: int, schedule: Schedule, *,
                  now: int) -> list[NewJob]:
    """The reminder jobs of an invoice due at ``due_date`` (the account's time, as ``now``),
    those still ahead, in order. Each names the moment of the one after it (``next``): a
    reminder whose follower is due as well when it runs, after the worker was away or the
    test clock jumped, leaves the customer to that newer one."""
    planned = sorted([(due_date - days * DAY, "before", days) for days in schedule.reminder_days_before_due]
                     + [(due_date + days * DAY, "after", days) for days in schedule.reminder_days_after_due])
    ahead = [(at, when, days) for at, when, days in planned if at > now]
    following: list[int | None] = [at for at, _, _ in ahead[1:]]
    return [NewJob(REMIND, invoice_id, payload={"when": when, "days": days, "next": after}, delay=at - now,
                   unique_key=f"{REMIND}:{invoice_id}:{when}:{days}", account_id=account_id, livemode=livemode)
            for (at, when, days), after in zip(ahead, [*following, None], strict=True)]
