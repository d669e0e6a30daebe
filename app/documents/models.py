from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Timestamp


class InvoiceDocument(Base):
    """A rendered PDF, kept so a finalized invoice's document never changes.

    ``variant`` is the invoice state it shows (``open`` or ``paid``): the
    receipt is rendered once more when the invoice is paid, then never again.
    """

    __tablename__ = "invoice_documents"

    invoice_id: Mapped[str] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    variant: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created: Mapped[Timestamp]
