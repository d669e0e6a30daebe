"""An invoice's own schedule (SPEC §5), planned in the caller's transaction: a draft's
auto-finalization and a ``send_invoice`` invoice's reminders. Each planned action is a
job row keyed by what it is (the invoice, and which reminder), so planning it twice, from
two processes or a retried request, queues it once; the worker runs them
(app/automation/runs.py). Dunning, planned from a payment's outcome, is app/automation/plans.py.

The schedule is the account's (app/accounts/settings.py) as it is when planning.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.accounts.clocks import invoice_now
from app.accounts.settings import Schedule, schedule_for
from app.invoices.models import Invoice, InvoiceStatus
from app.jobs.models import JobKind, Lane
from app.jobs.queue import NewJob, enqueue, enqueue_many

AUTO_FINALIZE = JobKind("invoice.auto_finalize", Lane.COLLECTION)
REMIND = JobKind("invoice.remind", Lane.COLLECTION)
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


def plan_reminders(session: Session, invoice: Invoice) -> None:
    """A ``send_invoice`` invoice just finalized: one reminder job per day of the account's
    schedule before and after its due date, each keyed by (invoice, before/after, days)
    so it is sent at most once. Days already past by the account's clock are skipped.
    Each job looks again when it runs (app/automation/runs.py ``remind``): none goes out
    once the invoice is paid, void or uncollectible, nor one that is no longer true."""
    if invoice.collection_method != "send_invoice" or invoice.due_date is None or invoice.email_recipient is None:
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
