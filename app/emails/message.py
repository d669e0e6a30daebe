"""An email row as a MIME message: text and HTML parts (the HTML with the merchant's logo
as an inline part), and headers built from ``email.headerregistry`` objects, every name and
address in them literal text (app/emails/headers.py)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from PIL import Image

from app.accounts.models import Branding
from app.branding.service import stored_logo
from app.emails import headers
from app.emails.compose import Composed, InlineLogo
from app.emails.models import Email

AUTOMATIC_KINDS = frozenset({"reminder_before", "reminder_after", "payment_action_required", "endpoint_disabled"})


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf", "application/xml"
    content: bytes


LOGO_BOX = (240, 48)  # the email header's room for a logo, in pixels


def inline_logo(email: Email, branding: Branding | None) -> InlineLogo | None:
    """The logo ``branding`` has, named after the email: the same Content-ID at every try,
    as the Message-ID is, and unique to this message (RFC 2392). Its size is given to the
    HTML because mail clients ignore CSS that would fit it (and Outlook, ``max-width``)."""
    logo = stored_logo(branding)
    if logo is None:
        return None
    data, mime = logo
    with Image.open(io.BytesIO(data)) as image:  # checked on upload: PNG or JPEG, 16 to 2000 px
        width, height = image.size
    scale = min(1.0, LOGO_BOX[0] / width, LOGO_BOX[1] / height)
    return InlineLogo(data, mime, "logo." + email.message_id.strip("<>"),
                      width=max(1, round(width * scale)), height=max(1, round(height * scale)))


def build(email: Email, composed: Composed, *, merchant_name: str, sender: str,
          reply_to: str | None, logo: InlineLogo | None = None,
          attachments: Sequence[Attachment] = ()) -> EmailMessage:
    """multipart/alternative of the text and the HTML; the HTML, with the logo when its
    markup shows it, a multipart/related (RFC 2387); with ``attachments``, all that in a
    multipart/mixed with the files after it, in their order.

    Raises headers.UnsafeHeader when an address (``email.to_address``, ``reply_to``) would not
    be sent as it is written: no such email is to be sent.
    """
    message = EmailMessage(policy=headers.POLICY)
    message["From"] = headers.mailbox(sender, display_name=merchant_name)
    message["To"] = headers.mailbox(email.to_address)
    message["Subject"] = headers.text(composed.subject)
    message["Date"] = formatdate(email.created)
    message["Message-ID"] = email.message_id
    if reply_to:
        message["Reply-To"] = headers.mailbox(reply_to)
    if email.kind in AUTOMATIC_KINDS:
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to reminders
    message.set_content(composed.text)
    message.add_alternative(composed.html, subtype="html")
    # The HTML was rendered at the first try and kept: a logo set since is not in it (and
    # one removed since shows as its alt text, the merchant's name).
    if logo is not None and f"cid:{logo.content_id}" in composed.html:
        maintype, _, subtype = logo.mime.partition("/")
        html_part = message.get_body(preferencelist=("html",))
        assert html_part is not None  # added just above
        html_part.add_related(logo.data, maintype=maintype, subtype=subtype, cid=f"<{logo.content_id}>",
                              disposition="inline", filename=f"logo.{'jpg' if subtype == 'jpeg' else subtype}")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message
