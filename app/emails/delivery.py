"""The worker's side of an email: render it once, hand it to the mail server, and
retry with backoff while the server is away or answers 4xx (SPEC §5: never lost).

Each ``email.send`` job is one try. The message is rendered at the first try and kept,
with the Message-ID fixed when it was queued, so a retry after an unclear answer (the
connection dropped after DATA) is the same message, recognisably. A 5xx refusal fails
the email for good; either way the merchant sees an event (``email.sent``/``email.failed``).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.clocks import offset_of
from app.accounts.models import Account
from app.branding.service import display_name
from app.emails import attachments, headers, message, service, states
from app.emails.compose import Composed, InlineLogo, choose_locale, compose, compose_endpoint_disabled
from app.emails.message import Attachment
from app.emails.models import Email, EmailStatus
from app.emails.transport import Handed, hand_over
from app.events import service as events
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.serializers import hosted_url
from app.jobs.claims import ClaimedJob
from app.jobs.queue import enqueue
from app.payments.models import Payment, Refund
from app.transactions import reading
from app.webhooks.models import WebhookEndpoint

log = logging.getLogger(__name__)

# Seconds before each retry, then every RETRY_EVERY: MAX_TRIES tries span about 3 days.
RETRY_DELAYS = (30, 120, 600, 1800, 3600, 7200)
RETRY_EVERY = 4 * 3600
MAX_TRIES = len(RETRY_DELAYS) + 1 + (3 * 86400 - sum(RETRY_DELAYS)) // RETRY_EVERY

_TO_RECORD = (sa.select(Email, offset_of(Email.account_id, Email.livemode))
              .where(Email.id == sa.bindparam("email_id"))
              .with_for_update(of=Email).execution_options(populate_existing=True))


@dataclass(frozen=True)
class Prepared:
    email_id: str
    attempt: int
    composed: Composed
    rendered_now: bool
    message: EmailMessage | None  # None: it cannot be sent as written, for the reason ``refused`` gives
    refused: str | None = None
    files: tuple[Attachment, ...] = ()  # made at this, the first, try: kept with the text


def send(session: Session, job: ClaimedJob, *, smtp_url: str | None, sender: str) -> None:
    """The body of an ``email.send`` job: through the mail server at ``smtp_url`` (None: the
    local outbox), from ``sender`` (the app's ``EMAIL_FROM``)."""
    with reading(session):  # nothing held while the mail server talks
        prepared = _prepare(session, job.subject, job.payload["attempt"], sender)
    if prepared is None:
        return
    if isinstance(prepared, Canceled):
        _cancel(session, prepared)
        return
    handed = (hand_over(smtp_url, prepared.message) if prepared.message is not None
              else Handed(via=None, permanent=True, error=prepared.refused))
    _record(session, prepared, handed)


@dataclass(frozen=True)
class Canceled:
    """An email no longer to be sent, and why."""

    email_id: str
    attempt: int
    reason: str


def _prepare(session: Session, email_id: str, attempt: int, sender: str) -> Prepared | Canceled | None:
    email = session.get(Email, email_id)
    if email is None or email.status is not EmailStatus.QUEUED or email.attempts != attempt - 1:
        return None  # sent, failed, or this try was made already
    reason = _no_longer_wanted(session, email)
    if reason is not None:
        return Canceled(email.id, attempt, reason)
    account = session.get_one(Account, email.account_id)
    branding = account.branding
    # A notice to the merchant comes from VINR; an email to a customer, from the merchant.
    to_merchant = email.invoice_id is None
    logo = None if to_merchant else message.inline_logo(email, branding)
    rendered_now = email.subject is None or email.text is None or email.html is None
    if not rendered_now:
        composed = Composed(str(email.subject), str(email.text), str(email.html))
        files = attachments.kept(session, email.id)
    else:  # stored with the outcome: this transaction only reads
        composed = _compose(session, email, account, logo=logo)
        files = attachments.make(session, email)
    try:
        built = message.build(email, composed,
                              merchant_name="VINR" if to_merchant else display_name(account, branding),
                              sender=sender,
                              reply_to=branding.support_email if branding is not None and not to_merchant else None,
                              logo=logo, attachments=files)
    except headers.UnsafeHeader as unsafe:  # an address stored before the API refused it
        log.error("email %s not sent: %s", email.id, unsafe)
        return Prepared(email.id, attempt, composed, rendered_now, None, refused=f"not sent: {unsafe}"[:500],
                        files=files if rendered_now else ())
    return Prepared(email.id, attempt, composed, rendered_now, built, files=files if rendered_now else ())


# The invoice with its account's clock, read together: what a reminder says is checked
# on the time as it is now (a test clock may have moved since anything read it).
_INVOICE_NOW = (sa.select(Invoice, offset_of(Invoice.account_id, Invoice.livemode))
                .where(Invoice.id == sa.bindparam("invoice_id")))


def _no_longer_wanted(session: Session, email: Email) -> str | None:
    """Why a queued email should not go out any more (it may have waited days for the mail
    server), or None: a reminder or a request to pay once the invoice is paid, void or
    uncollectible, a reminder that no longer says what is true (SPEC §5: "due in 3 days"
    once it is due tomorrow or overdue), a notice about an endpoint since deleted."""
    if email.invoice_id is None:
        found = session.get(WebhookEndpoint, email.webhook_endpoint_id) if email.webhook_endpoint_id else None
        return None if found is not None else "the webhook endpoint was deleted"
    if email.kind in service.CHASING:
        invoice, offset = session.execute(_INVOICE_NOW, {"invoice_id": email.invoice_id}).one()
        if invoice.status is not InvoiceStatus.OPEN or not invoice.is_payable:
            return f"the invoice is {invoice.status.value}"
        if email.kind in service.REMINDERS and invoice.due_date is not None:
            now = clock.now() + offset
            if service.reminder_true_at(invoice.due_date, now) != (email.kind, email.days):
                return service.describe_due(invoice.due_date, now)
    return None


def _compose(session: Session, email: Email, account: Account, *, logo: InlineLogo | None) -> Composed:
    if email.invoice_id is None:
        endpoint = session.get_one(WebhookEndpoint, email.webhook_endpoint_id)
        return compose_endpoint_disabled(merchant=account.name, endpoint_id=endpoint.id, url=endpoint.url,
                                         reason=endpoint.disabled_reason or "", livemode=endpoint.livemode)
    invoice = session.get_one(Invoice, email.invoice_id)
    url = hosted_url(invoice) or ""
    refund = session.get(Refund, email.refund_id) if email.refund_id else None
    payment_id = refund.payment_id if refund is not None else email.payment_id
    payment = session.get(Payment, payment_id) if payment_id else None
    return compose(email.kind, invoice=invoice, locale=choose_locale(list(invoice.customer.preferred_locales)),
                   hosted_url=url, pdf_url=f"{url}/pdf", payment=payment, refund=refund, days=email.days, logo=logo)


def _record(session: Session, prepared: Prepared, handed: Handed) -> None:
    found = session.execute(_TO_RECORD, {"email_id": prepared.email_id}).one_or_none()
    if found is None:
        return
    email, offset = found
    if email.status is not EmailStatus.QUEUED or email.attempts != prepared.attempt - 1:
        return
    now = clock.now() + offset
    if prepared.rendered_now and email.subject is None:
        email.subject, email.text, email.html = (prepared.composed.subject, prepared.composed.text,
                                                 prepared.composed.html)
        attachments.keep(session, email.id, prepared.files)
    email.attempts += 1
    email.last_error = handed.error
    if handed.via is not None:
        states.move(email, EmailStatus.SENT)
        email.sent_at, email.sent_via = now, handed.via
        if email.invoice_id is not None and email.kind in service.WITH_PAYMENT_LINK:
            # Core, not the ORM: a timestamp for the merchant, not a change of the invoice
            # that should move its version and make a payment recorded meanwhile retry.
            session.execute(sa.update(Invoice).where(Invoice.id == email.invoice_id)
                            .values(last_sent_at=now).execution_options(synchronize_session=False))
        _announce(session, email, "email.sent")
        return
    if handed.permanent or email.attempts >= MAX_TRIES:
        states.move(email, EmailStatus.FAILED)
        _announce(session, email, "email.failed")
        return
    delay = RETRY_DELAYS[email.attempts - 1] if email.attempts <= len(RETRY_DELAYS) else RETRY_EVERY
    enqueue(session, service.SEND, email.id, payload={"attempt": email.attempts + 1},
            delay=delay * random.uniform(0.9, 1.1),  # noqa: S311 - jitter, not security
            unique_key=service.send_job_key(email.id, email.attempts + 1),
            account_id=email.account_id, livemode=email.livemode)


def _cancel(session: Session, canceled: Canceled) -> None:
    found = session.execute(_TO_RECORD, {"email_id": canceled.email_id}).one_or_none()
    if found is None:
        return
    email = found[0]
    if email.status is EmailStatus.QUEUED and email.attempts == canceled.attempt - 1:
        states.move(email, EmailStatus.CANCELED)
        email.last_error = f"not sent: {canceled.reason}"
        session.flush()


def _announce(session: Session, email: Email, type_: str) -> None:
    session.flush()
    events.record(session, email.account_id, email.livemode, type_, service.serialize(email))
