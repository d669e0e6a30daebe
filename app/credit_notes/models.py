from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, MinorUnits, ObjectId, Owned
from app.legal.unit_codes import DEFAULT_UNIT

if TYPE_CHECKING:
    from app.invoices.models import Invoice


class CreditNoteStatus(StrEnum):
    ISSUED = "issued"
    VOID = "void"


class CreditNoteReason(StrEnum):
    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    ORDER_CHANGE = "order_change"
    PRODUCT_UNSATISFACTORY = "product_unsatisfactory"


class CreditNote(Owned, Base):
    """An issued credit note: what it credits of its invoice, frozen when issued (its lines and
    amounts; the seller and buyer are the invoice's, frozen at the invoice's finalization)."""

    object_name = "credit note"
    __tablename__ = "credit_notes"
    __table_args__ = (
        sa.Index("ix_credit_notes_list", "account_id", "livemode", "created", "id"),
        sa.Index("ix_credit_notes_invoice", "invoice_id", "created", "id"),
        sa.Index("ix_credit_notes_customer", "customer_id", "created", "id"),
        # <invoice number>-CN-01, sequential per invoice: taken under the invoice's row lock.
        sa.UniqueConstraint("invoice_id", "number"),
    )

    id: Mapped[ObjectId]
    invoice_id: Mapped[str] = mapped_column(sa.ForeignKey("invoices.id"))
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id"))
    number: Mapped[str] = mapped_column(sa.String(48))
    status: Mapped[CreditNoteStatus] = mapped_column(
        sa.Enum(CreditNoteStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    currency: Mapped[str] = mapped_column(sa.String(3))
    reason: Mapped[str | None] = mapped_column(sa.String(32))
    memo: Mapped[str | None] = mapped_column(sa.Text)
    # Minor units. subtotal: the lines' amounts (without exclusive tax); total: with it.
    subtotal: Mapped[MinorUnits]
    tax: Mapped[MinorUnits]
    total: Mapped[MinorUnits]
    tax_amounts: Mapped[list[Any]] = mapped_column(default=list)  # as the invoice's: per rate and category
    # The invoice's tax rates the lines name, as the invoice froze them ({id: {display_name, percentage_e4}}).
    tax_rate_details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pre_payment_amount: Mapped[MinorUnits]  # taken off the invoice's amount_due
    post_payment_amount: Mapped[MinorUnits]  # = refund_amount + out_of_band_amount + credit_amount
    refund_amount: Mapped[MinorUnits]
    out_of_band_amount: Mapped[MinorUnits]
    credit_amount: Mapped[MinorUnits]  # to the customer's balance
    refund_id: Mapped[str | None] = mapped_column(sa.String(40))  # the re_… its refund_amount claimed
    voided_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)

    # Two racing voids or updates: the loser's versioned UPDATE fails (a 409), on either database.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    lines: Mapped[list[CreditNoteLine]] = relationship(
        order_by="CreditNoteLine.position", cascade="all, delete-orphan", lazy="selectin")
    invoice: Mapped[Invoice] = relationship(viewonly=True, lazy="joined", innerjoin=True)


class CreditNoteLine(Base):
    """One credited line: part of an invoice line (by quantity or amount), a custom line, or the
    share of one of the invoice's VAT groups (a credit note by ``amount``)."""

    __tablename__ = "credit_note_lines"
    __table_args__ = (
        sa.Index("ix_credit_note_lines_credit_note", "credit_note_id", "position"),
        sa.Index("ix_credit_note_lines_invoice_line", "invoice_line_id"),
    )

    id: Mapped[ObjectId]
    credit_note_id: Mapped[str] = mapped_column(sa.ForeignKey("credit_notes.id", ondelete="CASCADE"))
    position: Mapped[int]
    type: Mapped[str] = mapped_column(sa.String(24))  # invoice_line_item | custom_line_item
    invoice_line_id: Mapped[str | None] = mapped_column(sa.String(40))
    description: Mapped[str | None] = mapped_column(sa.Text)
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unit: Mapped[str] = mapped_column(sa.String(3), default=DEFAULT_UNIT)
    unit_amount: Mapped[MinorUnits]
    # What is credited of the line, after the invoice's discounts, without exclusive tax (with
    # inclusive tax, as the invoice line's amount has it): minor units.
    amount: Mapped[MinorUnits]
    discount_amount: Mapped[MinorUnits]  # quantity x unit_amount - amount, for an invoice line's discount
    net_amount: Mapped[MinorUnits]  # without any tax (EN 16931 BT-131)
    tax_amounts: Mapped[list[Any]] = mapped_column(default=list)
