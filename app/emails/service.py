"""Queueing emails in the business transaction, and what a merchant sees of them; sending an
invoice (``send_invoice``) is queueing its email."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Branding
from app.accounts.service import Caller
from app.emails import states
from app.emails.models import Email, EmailStatus
from app.errors import InvalidRequest
from app.events.service import RecordedEvent
from app.ids import new_id
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.serializers import record_event
from app.invoices.states import illegal
from app.jobs.models import JobKind, Lane
from app.jobs.queue import enqueue
from app.tenancy import get_for

SEND = JobKind("email.send", Lane.EMAILS)
ENDPOINT_DISABLED = "endpoint_disabled"
# Emails that ask the customer to pay: not sent once the invoice no longer can be.
CHASING = frozenset({"reminder_before", "reminder_after", "payment_action_required"})
# Emails that carry the invoice's hosted link for paying it: sending one is what
# the invoice's ``last_sent_at`` records.
WITH_PAYMENT_LINK = frozenset({"invoice", "reminder_before", "reminder_after", "payment_action_required"})
REMINDERS = frozenset({"reminder_before", "reminder_after"})
DAY = 86_400


def send_job_key(email_id: str, attempt: int) -> str:
    return f"{SEND}:{email_id}:{attempt}"


def queue_email(session: Session, kind: str, invoice: Invoice, *, payment_id: str | None = None,
                refund_id: str | None = None, days: int | None = None) -> Email | None:
    """Queue an email about ``invoice`` to its customer (``Invoice.email_recipient``), in the
    caller's transaction: it commits or rolls back with the change that causes it. None when
    the customer has no email address."""
    address = invoice.email_recipient
    if address is None:
        return None
    return _queue(session, Email(kind=kind, account_id=invoice.account_id, livemode=invoice.livemode,
                                 invoice_id=invoice.id, payment_id=payment_id, refund_id=refund_id, days=days,
                                 to_address=address))


def send_invoice(session: Session, caller: Caller, invoice_id: str) -> Invoice:
    """Queue the invoice email with the hosted link to the customer (the worker sends it).
    Raises the status Conflict unless the invoice is open, and InvalidRequest
    ``customer_email_missing`` when its customer has no email address."""
    invoice = get_for(session, caller, Invoice, invoice_id)
    if invoice.status is not InvoiceStatus.OPEN:
        raise illegal(invoice, "send")
    if invoice.email_recipient is None:
        raise InvalidRequest("The invoice's customer has no email address to send to.", param="customer",
                             code="customer_email_missing")
    record_event(session, invoice, "invoice.sent")
    queue_email(session, "invoice", invoice)
    return invoice


def on_event(session: Session, event: RecordedEvent) -> None:
    """The emails an event causes by itself, in its transaction: the notice to the merchant
    that a webhook endpoint was disabled. Subscribed to the event log by the app factory."""
    if event.type == "webhook_endpoint.disabled":
        queue_endpoint_disabled(session, event.account_id, event.livemode, event.data["id"])


def queue_endpoint_disabled(session: Session, account_id: str, livemode: bool, endpoint_id: str) -> Email | None:
    """Queue the notice that a webhook endpoint was disabled to the merchant's support
    address (their branding's ``support_email``); None when they have not set one."""
    address = session.scalar(sa.select(Branding.support_email).where(Branding.account_id == account_id))
    if not address:
        return None
    return _queue(session, Email(kind=ENDPOINT_DISABLED, account_id=account_id, livemode=livemode,
                                 webhook_endpoint_id=endpoint_id, to_address=address))


def reminder_true_at(due_date: int, now: int) -> tuple[str, int]:
    """The reminder that is true at ``now`` (the account's time) about an invoice due at
    ``due_date``, as (kind, days), SPEC §5 "only while what it says is still true".

    Days are whole days of 24 hours from the due moment, as the schedule counts them
    (app/invoices/schedule.py plans "3 days before" 72 hours before it): "due in 3 days"
    from 72 hours before until 48 hours before, "due tomorrow" in the last 24 hours,
    "due today" from the due moment until a whole day has passed, then "1 day overdue"
    for the next 24 hours, and so on."""
    ahead = -((now - due_date) // DAY)  # whole days to the due moment, rounded up
    return ("reminder_before", ahead) if ahead >= 0 else ("reminder_after", -ahead)


def describe_due(due_date: int, now: int) -> str:
    """What is true of the due date at ``now``, for a merchant reading why a reminder was not sent."""
    kind, days = reminder_true_at(due_date, now)
    if kind == "reminder_after":
        return f"the invoice is {days} day{'s' if days != 1 else ''} overdue"
    return "the invoice is due today" if days == 0 else f"the invoice is due in {days} day{'s' if days != 1 else ''}"


def skip_email(session: Session, kind: str, invoice: Invoice, *, days: int | None, reason: str) -> Email | None:
    """Record that an email about ``invoice`` planned for now is not sent, and why: an email
    ``canceled`` before its first try, as one the sender cancels (app/emails/delivery.py),
    which the merchant sees with its reason. None when the customer has no email address:
    nothing would have gone out."""
    address = invoice.email_recipient
    if address is None:
        return None
    email = _add(session, Email(kind=kind, account_id=invoice.account_id, livemode=invoice.livemode,
                                invoice_id=invoice.id, days=days, to_address=address))
    states.move(email, EmailStatus.CANCELED)
    email.last_error = f"not sent: {reason}"
    session.flush()
    return email


def _queue(session: Session, email: Email) -> Email:
    _add(session, email)
    enqueue(session, SEND, email.id, payload={"attempt": 1}, unique_key=send_job_key(email.id, 1),
            account_id=email.account_id, livemode=email.livemode)
    return email


def _add(session: Session, email: Email) -> Email:
    email.id = new_id("em")
    email.created = clock.now()
    email.message_id = f"<{email.id}@{sender_domain()}>"
    email.status, email.attempts = EmailStatus.QUEUED, 0
    session.add(email)
    session.flush()
    return email


def sender_domain() -> str:
    return str(current_app.config["EMAIL_FROM"]).rpartition("@")[2]


def serialize(email: Email) -> dict[str, Any]:
    return {"id": email.id, "object": "email", "livemode": email.livemode, "created": email.created,
            "kind": email.kind, "invoice": email.invoice_id, "webhook_endpoint": email.webhook_endpoint_id,
            "to": email.to_address, "subject": email.subject,
            "status": email.status.value, "message_id": email.message_id, "sent_at": email.sent_at,
            "error": email.last_error}


def outbox(session: Session, limit: int = 50) -> list[Email]:
    """The newest emails, for ``flask --app wsgi outbox``."""
    return list(session.execute(sa.select(Email).order_by(Email.created.desc(), Email.id.desc())
                                .limit(limit)).scalars())
