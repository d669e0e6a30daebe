from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Coupon
from app.db import Base, MinorUnits, ObjectId, Owned


class Customer(Owned, Base):
    object_name = "customer"
    __tablename__ = "customers"
    __table_args__ = (
        sa.Index("ix_customers_list", "account_id", "livemode", "created", "id"),
        sa.Index("ix_customers_email", "account_id", "livemode", "email"),
    )

    id: Mapped[ObjectId]
    email: Mapped[str | None] = mapped_column(sa.String(254))
    name: Mapped[str | None] = mapped_column(sa.String(256))
    address: Mapped[dict[str, Any] | None]
    preferred_locales: Mapped[list[Any]] = mapped_column(default=list)
    tax_exempt: Mapped[str] = mapped_column(sa.String(8), default="none")
    tax_ids: Mapped[list[Any]] = mapped_column(default=list)  # [{type, value}], values compact (SPEC §10)
    # The buyer reference (Leitweg-ID or order reference, EN 16931 BT-10) their invoices take by
    # default, and the e-invoice format they receive (SPEC §10 ``einvoice``).
    einvoice_buyer_reference: Mapped[str | None] = mapped_column(sa.String(200))
    einvoice_format: Mapped[str] = mapped_column(sa.String(16), default="none")
    coupon_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("coupons.pk"))
    default_payment_method_id: Mapped[str | None] = mapped_column(sa.String(40))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    deleted: Mapped[bool] = mapped_column(default=False)
    # Minor units of ``balance_currency``; negative: credit the merchant owes the customer, taken
    # off their next invoice at finalization (SPEC §11). Changed only by app/customers/balance.py,
    # each change a row of CustomerBalanceTransaction.
    balance: Mapped[MinorUnits]
    balance_currency: Mapped[str | None] = mapped_column(sa.String(3))

    coupon: Mapped[Coupon | None] = relationship(lazy="joined")


class BalanceTransactionType(StrEnum):
    CREDIT_NOTE = "credit_note"  # a credit note's credit_amount, to the balance
    CREDIT_NOTE_VOIDED = "credit_note_voided"  # that credit taken back when the credit note is voided
    APPLIED_TO_INVOICE = "applied_to_invoice"  # the balance taken off an invoice at finalization
    OVERPAYMENT = "overpayment"  # what a payment brought beyond what its invoice owed, to the balance (SPEC §12)


class CustomerBalanceTransaction(Owned, Base):
    """One change of a customer's ``balance`` (Stripe's customer balance transactions): the
    ledger the balance is the sum of, so "where did this credit go" is a query."""

    object_name = "customer balance transaction"
    __tablename__ = "customer_balance_transactions"
    __table_args__ = (sa.Index("ix_customer_balance_transactions_customer", "customer_id", "created", "id"),)

    id: Mapped[ObjectId]
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id"))
    type: Mapped[BalanceTransactionType] = mapped_column(
        sa.Enum(BalanceTransactionType, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e]))
    amount: Mapped[MinorUnits]  # negative: credit to the customer
    currency: Mapped[str] = mapped_column(sa.String(3))
    ending_balance: Mapped[MinorUnits]
    credit_note_id: Mapped[str | None] = mapped_column(sa.String(40))
    invoice_id: Mapped[str | None] = mapped_column(sa.String(40))
