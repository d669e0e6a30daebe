"""An email row as a MIME message: text and HTML parts (the HTML with the merchant's logo
as an inline part), headers safe from injection."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from app.branding.models import Branding
from app.emails.compose import Composed, one_line
from app.emails.models import Email

AUTOMATIC_KINDS = frozenset({"reminder_before", "reminder_after", "payment_action_required", "endpoint_disabled"})


@dataclass(frozen=True)
class InlineLogo:
    """The merchant's logo as a part of the message, which the HTML shows as ``cid:<content_id>``."""

    data: bytes
    mime: str  # image/png or image/jpeg (app/branding/schemas.py accepts no other)
    content_id: str


def inline_logo(email: Email, branding: Branding | None) -> InlineLogo | None:
    """The logo ``branding`` has, named after the email: the same Content-ID at every try,
    as the Message-ID is, and unique to this message (RFC 2392)."""
    if branding is None or not branding.logo_mime or not branding.logo:
        return None
    return InlineLogo(branding.logo, branding.logo_mime, "logo." + email.message_id.strip("<>"))


def build(email: Email, composed: Composed, *, merchant_name: str, sender: str,
          reply_to: str | None, logo: InlineLogo | None = None) -> EmailMessage:
    """multipart/alternative of the text and the HTML; the HTML, with the logo when its
    markup shows it, a multipart/related (RFC 2387)."""
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
    # The HTML was rendered at the first try and kept: a logo set since is not in it.
    if logo is not None and f"cid:{logo.content_id}" in composed.html:
        maintype, _, subtype = logo.mime.partition("/")
        html_part = message.get_body(preferencelist=("html",))
        assert html_part is not None  # added just above
        html_part.add_related(logo.data, maintype=maintype, subtype=subtype, cid=f"<{logo.content_id}>",
                              disposition="inline", filename=f"logo.{'jpg' if subtype == 'jpeg' else subtype}")
    return message
