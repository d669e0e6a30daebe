"""An email row as a MIME message: text and HTML parts, headers safe from injection."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from app.emails.compose import Composed, one_line
from app.emails.models import Email

AUTOMATIC_KINDS = frozenset({"reminder_before", "reminder_after", "payment_action_required", "endpoint_disabled"})


def build(email: Email, composed: Composed, *, merchant_name: str, sender: str,
          reply_to: str | None) -> EmailMessage:
    message = EmailMessage()
    username, _, domain = sender.rpartition("@")
    message["From"] = Address(display_name=one_line(merchant_name), username=username, domain=domain)
    message["To"] = email.to_address
    message["Subject"] = one_line(composed.subject)
    message["Date"] = formatdate(email.created)
    message["Message-ID"] = email.message_id
    if reply_to:
        message["Reply-To"] = one_line(reply_to)
    if email.kind in AUTOMATIC_KINDS:
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to reminders
    message.set_content(composed.text)
    message.add_alternative(composed.html, subtype="html")
    return message
