from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Timestamp


class InvoiceDocument(Base):
    """An issued invoice's newest rendered PDF, kept under ``documents.service.document_key``:
    the SHA-256 of the renderer, the invoice's version and its presentation (the reader's
    language, the branding, "Past due"). The column keeps its first name, from when the key
    was the digest of the HTML.

    The PDF is a function of those (the hosted page's partials; WeasyPrint fetches only
    our own assets): the invoice as shown again gets the same bytes without a second
    render, and a change to anything the document shows (its status, "Past due", its
    footer, the merchant's branding, the reader's language) gets a new one.
    """

    __tablename__ = "invoice_documents"

    invoice_id: Mapped[str] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    html_sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created: Mapped[Timestamp]
