from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from app.db import Base, MinorUnits, ObjectId, Owned
from app.legal.unit_codes import DEFAULT_UNIT

if TYPE_CHECKING:
    from app.accounts.models import Account
    from app.customers.models import Customer


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class Invoice(Owned, Base):
    object_name = "invoice"
    __tablename__ = "invoices"
    __table_args__ = (
        # Cursor pagination: (account, mode) equality then (created, id) range.
        sa.Index("ix_invoices_list", "account_id", "livemode", "created", "id"),
        sa.Index("ix_invoices_customer", "customer_id", "created", "id"),
        sa.UniqueConstraint("account_id", "livemode", "number"),
        # The worker's sweep for collection slots left by a process that died.
        sa.Index("ix_invoices_collecting", "collecting_payment_id",
                 postgresql_where=sa.text("collecting_payment_id IS NOT NULL"),
                 sqlite_where=sa.text("collecting_payment_id IS NOT NULL")),
    )

    id: Mapped[ObjectId]
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id"))
    status: Mapped[InvoiceStatus] = mapped_column(
        sa.Enum(InvoiceStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    number: Mapped[str | None] = mapped_column(sa.String(32))
    currency: Mapped[str] = mapped_column(sa.String(3))
    collection_method: Mapped[str] = mapped_column(sa.String(24))
    days_until_due: Mapped[int | None]
    due_date: Mapped[int | None] = mapped_column(sa.BigInteger)
    auto_advance: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    footer: Mapped[str | None] = mapped_column(sa.Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    coupon_pks: Mapped[list[Any]] = mapped_column(default=list)  # discounts to apply, in order
    # The one of coupon_pks that came from the customer's own discount, not from
    # the merchant's "discounts": re-checked at finalization (a "once" coupon is
    # used by the first invoice finalized with it, not by every draft).
    customer_discount_pk: Mapped[int | None]
    # Tax rate ids every line pays unless it names its own; None: not given (the customer's
    # location decides), [] : none (SPEC §10). None is stored as the JSON null (sa.JSON's
    # none_as_null=False), so the column stays NOT NULL.
    default_tax_rate_ids: Mapped[list[Any] | None] = mapped_column(nullable=False)

    subtotal: Mapped[MinorUnits]
    discount: Mapped[MinorUnits]
    tax: Mapped[MinorUnits]
    total: Mapped[MinorUnits]
    amount_due: Mapped[MinorUnits]
    amount_paid: Mapped[MinorUnits]
    # The customer's balance when finalization applied it, and after (SPEC §11): their credit
    # (negative) taken off ``amount_due``, a line-independent adjustment; 0 and None on a draft.
    starting_balance: Mapped[MinorUnits]
    ending_balance: Mapped[int | None] = mapped_column(sa.BigInteger)
    # What the invoice's issued credit notes took off ``amount_due`` (pre-payment) and credited
    # after it was paid (post-payment), minor units (app/credit_notes/service.py).
    pre_payment_credit_notes_amount: Mapped[MinorUnits]
    post_payment_credit_notes_amount: Mapped[MinorUnits]
    # How many credit notes it has, void ones included: the last one's number (…-CN-01), taken
    # under the invoice's row lock; and whether its page has credit notes to list.
    credit_note_count: Mapped[int] = mapped_column(default=0)
    tax_amounts: Mapped[list[Any]] = mapped_column(default=list)
    discount_amounts: Mapped[list[Any]] = mapped_column(default=list)
    # The tax rates of ``tax_amounts`` as they were when the totals were last computed, so as
    # finalization issued them ({rate id: {display_name, percentage_e4}}): a rate renamed later
    # changes no issued document. None for invoices computed before this was kept.
    tax_rate_details: Mapped[dict[str, Any] | None]

    customer_email: Mapped[str | None] = mapped_column(sa.String(254))
    customer_name: Mapped[str | None] = mapped_column(sa.String(256))
    customer_address: Mapped[dict[str, Any] | None]
    # Copied at finalization with the customer's name and address (SPEC §10, STYLE "A document is
    # frozen when it is issued"): the buyer's tax ids and the seller's business profile as they
    # were (app/business_profile/service.legal_fields), so no later edit changes an issued invoice.
    customer_tax_ids: Mapped[list[Any] | None]
    account_legal: Mapped[dict[str, Any] | None]
    # The invoice's tax treatment (app/invoices/tax_treatment.py ``Treatment``), decided from those
    # two at finalization; None on a draft (its treatment follows the customer until then).
    tax_treatment: Mapped[str | None] = mapped_column(sa.String(16))
    # The supply period (unix seconds, both ends included); None: the supply date is the finalization date.
    service_period_start: Mapped[int | None] = mapped_column(sa.BigInteger)
    service_period_end: Mapped[int | None] = mapped_column(sa.BigInteger)
    # EN 16931 BT-10: a draft's starts as the customer's; finalization fills an empty one from it.
    buyer_reference: Mapped[str | None] = mapped_column(sa.String(200))
    # The ISO 11649 creditor reference (``RF…``) a bank transfer quotes (SPEC §12, EN 16931
    # BT-83), derived from the number at finalization (app/invoices/reference.py) and frozen.
    payment_reference: Mapped[str | None] = mapped_column(sa.String(25))

    attempt_count: Mapped[int] = mapped_column(default=0)
    next_payment_attempt: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_payment_error: Mapped[dict[str, Any] | None]
    # Why the worker could not finalize this auto_advance draft ({code, message}), or None.
    last_finalization_error: Mapped[dict[str, Any] | None]
    # When the mail server last took an email with this invoice's hosted link (the
    # invoice on send, a reminder, a request to authenticate), on the account's clock.
    last_sent_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    payment_id: Mapped[str | None] = mapped_column(sa.String(40))
    hosted_token: Mapped[str | None] = mapped_column(sa.String(200))
    # The payment being collected right now, if any: taken with a conditional
    # (versioned) update, so only one collection per invoice runs at a time.
    collecting_payment_id: Mapped[str | None] = mapped_column(sa.String(40))

    finalized_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    paid_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    voided_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    marked_uncollectible_at: Mapped[int | None] = mapped_column(sa.BigInteger)

    # How far the account's test clock is ahead (seconds), where a query loads it with the
    # invoice (app/invoices/hosted.py, ``with_expression``); None where none did.
    clock_offset: Mapped[int | None] = query_expression()

    # Optimistic lock: every UPDATE carries "WHERE version = <read>", so two
    # racing transitions cannot both win, on PostgreSQL or on SQLite.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    # One-way: nothing reads a line's invoice through the ORM, and a backref
    # would make every added line fire events and cost the flush a second
    # dependency to process.
    lines: Mapped[list[InvoiceLine]] = relationship(
        order_by="InvoiceLine.position", cascade="all, delete-orphan", lazy="selectin",
    )
    # Loaded with the invoice where a change needs it (app/invoices/queries.py); the
    # invoice's own columns hold what was copied at finalize.
    customer: Mapped[Customer] = relationship(viewonly=True)
    account: Mapped[Account] = relationship(viewonly=True)

    @property
    def amount_remaining(self) -> int:
        return self.amount_due - self.amount_paid

    @property
    def is_payable(self) -> bool:
        return self.status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE) and self.amount_remaining > 0

    @property
    def email_recipient(self) -> str | None:
        """Where emails about the invoice go: its customer's email address as it is now (SPEC §5
        ``customer.email``), so a customer who changed it is written to at the new one, and one
        who removed it is not written to at all; None then."""
        return self.customer.email or None


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (sa.Index("ix_invoice_lines_invoice", "invoice_id", "position"),)

    id: Mapped[ObjectId]
    invoice_id: Mapped[str] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int]
    description: Mapped[str | None] = mapped_column(sa.Text)
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unit: Mapped[str] = mapped_column(sa.String(3), default=DEFAULT_UNIT)  # UN/ECE Rec. 20
    unit_amount: Mapped[MinorUnits]
    amount: Mapped[MinorUnits]
    price_id: Mapped[str | None] = mapped_column(sa.String(40))
    service_period_start: Mapped[int | None] = mapped_column(sa.BigInteger)
    service_period_end: Mapped[int | None] = mapped_column(sa.BigInteger)
    invoice_item_id: Mapped[str | None] = mapped_column(sa.String(40))
    discount_amount: Mapped[MinorUnits]
    # Before discounts and without inclusive tax (EN 16931 BT-131), as app/invoices/totals.py computes it.
    net_amount: Mapped[MinorUnits]
    # Tax rate ids this line pays; None: not given (the invoice's default_tax_rates, else the
    # customer's location decide), [] : none (SPEC §10).
    tax_rate_ids: Mapped[list[Any] | None]
    tax_amounts: Mapped[list[Any]] = mapped_column(default=list)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)


class InvoiceItem(Owned, Base):
    """A pending charge for a customer, swept onto their next invoice."""

    object_name = "invoice item"
    __tablename__ = "invoice_items"
    __table_args__ = (
        sa.Index("ix_invoice_items_list", "account_id", "livemode", "created", "id"),
        sa.Index("ix_invoice_items_pending", "customer_id", "currency", "invoice_id"),
    )

    id: Mapped[ObjectId]
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id"))
    currency: Mapped[str] = mapped_column(sa.String(3))
    description: Mapped[str | None] = mapped_column(sa.Text)
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unit: Mapped[str] = mapped_column(sa.String(3), default=DEFAULT_UNIT)  # UN/ECE Rec. 20
    unit_amount: Mapped[MinorUnits]
    amount: Mapped[MinorUnits]
    price_id: Mapped[str | None] = mapped_column(sa.String(40))
    service_period_start: Mapped[int | None] = mapped_column(sa.BigInteger)
    service_period_end: Mapped[int | None] = mapped_column(sa.BigInteger)
    invoice_id: Mapped[str | None] = mapped_column(sa.ForeignKey("invoices.id", ondelete="SET NULL"))
    tax_rate_ids: Mapped[list[Any] | None]  # copied onto the line it becomes; None: not given
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    deleted: Mapped[bool] = mapped_column(default=False)
