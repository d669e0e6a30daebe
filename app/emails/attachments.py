"""What the invoice email and the receipt attach (SPEC §10): the invoice's PDF (unless the
account's ``attach_pdf`` is off) and, for a customer whose ``einvoice.format`` is an XML
format, that e-invoice when it can be made. Reminders and other emails attach nothing.

Made at an email's first try, from the invoice as it is then, and kept with the rendered
text (``EmailAttachment``): a retry sends the same files even if the invoice was paid
meanwhile."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import Session

from app.accounts.settings import schedule_for
from app.documents import service as documents
from app.documents.view import choose_locale
from app.einvoicing import service as einvoicing
from app.emails.message import Attachment
from app.emails.models import Email, EmailAttachment
from app.invoices.models import Invoice

ATTACHING = frozenset({"invoice", "receipt"})


def make(session: Session, email: Email) -> tuple[Attachment, ...]:
    """The files of ``email``'s first try. Rendering the PDF commits (app/documents/service.py)."""
    if email.kind not in ATTACHING or email.invoice_id is None:
        return ()
    invoice = session.get_one(Invoice, email.invoice_id)
    found: list[Attachment] = []
    if schedule_for(session, invoice.account_id, invoice.livemode).attach_pdf:
        # The PDF in the email's language, as the hosted page's Download PDF renders it.
        with force_locale(choose_locale(list(invoice.customer.preferred_locales or []))):
            content = documents.invoice_pdf(session, invoice)
        found.append(Attachment(documents.filename(invoice), "application/pdf", content))
    rendered = einvoicing.for_customer(session, invoice)
    if rendered is not None:
        found.append(Attachment(rendered.filename, "application/xml", rendered.content))
    return tuple(found)


def kept(session: Session, email_id: str) -> tuple[Attachment, ...]:
    """The files kept at the first try, in their order."""
    rows = session.scalars(sa.select(EmailAttachment).where(EmailAttachment.email_id == email_id)
                           .order_by(EmailAttachment.position))
    return tuple(Attachment(row.filename, row.content_type, row.content) for row in rows)


def keep(session: Session, email_id: str, files: tuple[Attachment, ...]) -> None:
    session.add_all(EmailAttachment(email_id=email_id, position=position, filename=file.filename,
                                    content_type=file.content_type, content=file.content)
                    for position, file in enumerate(files))
