"""Planning dunning (SPEC §5), in the caller's transaction: each planned try is a job
row keyed by what it is (the invoice, and which try), so planning it twice, from two
processes or a retried request, queues it once. An invoice's own schedule, its
auto-finalization and reminders, is app/invoices/schedule.py.

The schedule is the account's (app/accounts/settings.py) as it is when planning.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.clocks import invoice_now
from app.accounts.settings import schedule_for
from app.emails.service import queue_email
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.serializers import record_event
from app.invoices.states import transition
from app.jobs.models import JobKind, Lane
from app.jobs.queue import enqueue
from app.payments import states
from app.payments.models import Payment

RETRY_PAYMENT = JobKind("invoice.retry_payment", Lane.COLLECTION)
REASK = JobKind("invoice.reask_payment", Lane.COLLECTION)
REASK_AFTER = 60  # seconds; then the job's growing retry delays, well within flow.REASK_SECONDS
DAY = 86_400


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
