from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, MinorUnits, ObjectId, Owned, Timestamp


class BankTransactionStatus(StrEnum):
    """A bank transaction's state (transitions: app/banking/states.py)."""

    MATCHED = "matched"  # applied to its invoice as a bank_transfer payment
    UNMATCHED = "unmatched"  # waiting for the merchant: apply it to an invoice, or ignore it
    IGNORED = "ignored"  # the merchant said it pays no invoice (a refund from a supplier, interest)


class BankTransaction(Owned, Base):
    """One credit entry of an imported bank statement (``btxn_``, SPEC §12).

    Recorded once per account and mode: ``dedup_key`` is the bank's reference for the entry
    (AcctSvcrRef, else NtryRef) on the account it was booked to, else its booking date,
    amount, account and remittance text (app/banking/service.py), and the unique index on
    it makes an import of the same or an overlapping statement insert nothing twice.
    """

    object_name = "bank transaction"
    __tablename__ = "bank_transactions"
    __table_args__ = (
        sa.Index("ix_bank_transactions_list", "account_id", "livemode", "created", "id"),
        sa.Index("ix_bank_transactions_status", "account_id", "livemode", "status", "created", "id"),
        sa.UniqueConstraint("account_id", "livemode", "dedup_key", name="uq_bank_transactions_dedup_key"),
    )

    id: Mapped[ObjectId]
    dedup_key: Mapped[str] = mapped_column(sa.String(64))
    amount: Mapped[MinorUnits]
    currency: Mapped[str] = mapped_column(sa.String(3))
    booked_at: Mapped[Timestamp]  # the booking date (00:00 UTC) or date and time, unix seconds
    remittance_information: Mapped[str | None] = mapped_column(sa.String(1000))
    # The structured creditor reference the payer gave (CdtrRefInf/Ref: an ISO 11649 RF… one).
    creditor_reference: Mapped[str | None] = mapped_column(sa.String(35))
    debtor_name: Mapped[str | None] = mapped_column(sa.String(140))
    debtor_iban: Mapped[str | None] = mapped_column(sa.String(34))
    # The merchant's account the entry was booked to (IBAN, else the bank's other id).
    bank_account: Mapped[str | None] = mapped_column(sa.String(34))
    entry_reference: Mapped[str | None] = mapped_column(sa.String(35))  # AcctSvcrRef, else NtryRef
    statement_reference: Mapped[str | None] = mapped_column(sa.String(35))  # Stmt/Id or Ntfctn/Id
    status: Mapped[BankTransactionStatus] = mapped_column(
        sa.Enum(BankTransactionStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    invoice_id: Mapped[str | None] = mapped_column(sa.ForeignKey("invoices.id"))
    payment_id: Mapped[str | None] = mapped_column(sa.ForeignKey("payments.id"))
