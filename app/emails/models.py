from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ObjectId, Owned


class EmailStatus(StrEnum):
    QUEUED = "queued"  # a try is planned
    SENT = "sent"  # the mail server took it (or, without VINR_SMTP_URL, the local outbox holds it)
    FAILED = "failed"  # refused for good (a 5xx), or retries ran out
    # Not to be sent: the invoice was paid or voided, or the endpoint deleted, first; or a reminder
    # no longer says what is true (app/automation/runs.py records those it skips so too).
    CANCELED = "canceled"


class Email(Owned, Base):
    """One email, written in the transaction that causes it and sent by the worker."""

    object_name = "email"
    __tablename__ = "emails"
    __table_args__ = (sa.Index("ix_emails_list", "account_id", "livemode", "created", "id"),
                      sa.Index("ix_emails_invoice", "invoice_id", "kind"))

    id: Mapped[ObjectId]
    kind: Mapped[str] = mapped_column(sa.String(32))  # a folder of templates/email/
    invoice_id: Mapped[str | None] = mapped_column(sa.ForeignKey("invoices.id"))
    payment_id: Mapped[str | None] = mapped_column(sa.String(40))
    refund_id: Mapped[str | None] = mapped_column(sa.String(40))  # a refund's receipt: the refund
    days: Mapped[int | None]  # reminders: days before or after the due date
    # A notice to the merchant about one of their webhook endpoints (no invoice then).
    webhook_endpoint_id: Mapped[str | None] = mapped_column(sa.String(40))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    # Fixed when queued, so a retry after an unclear answer from the mail server is
    # recognisably the same message.
    message_id: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[EmailStatus] = mapped_column(
        sa.Enum(EmailStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    attempts: Mapped[int] = mapped_column(default=0)
    # Rendered at the first try and kept, so every retry sends the same message.
    subject: Mapped[str | None] = mapped_column(sa.String(500))
    text: Mapped[str | None] = mapped_column(sa.Text)
    html: Mapped[str | None] = mapped_column(sa.Text)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    sent_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    sent_via: Mapped[str | None] = mapped_column(sa.String(16))  # "smtp" or "outbox"


class EmailAttachment(Base):
    """A file attached to an email (the invoice's PDF, its e-invoice XML): made at the first
    try and kept with the rendered text, so every try sends the same message."""

    __tablename__ = "email_attachments"

    email_id: Mapped[str] = mapped_column(sa.ForeignKey("emails.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
