from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Timestamp


class InvoiceDocument(Base):
    """An invoice's newest rendered PDF, kept under the SHA-256 of the renderer
    (``documents.service.renderer_fingerprint``), the HTML it was rendered from and, for a
    Factur-X hybrid, the XML it embeds (``documents.service.document_key``; the column keeps
    its first name).

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
