from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, MinorUnits, ObjectId, Owned, Timestamp


class PaymentStatus(StrEnum):
    """A payment's state (transitions: app/payments/states.py)."""

    PROCESSING = "processing"  # a charge or its 3DS confirmation is with the processor (or its process died)
    # The processor gave no clear answer: it may have charged. Internal: the API shows it as
    # ``failed`` with its failure_code (processor_unavailable, processor_invalid_response), and
    # it is asked about again before anything new moves money on the invoice.
    UNKNOWN = "unknown"
    REQUIRES_ACTION = "requires_action"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def api_value(self) -> str:
        """The status the API shows (SPEC §3 payments)."""
        return "failed" if self is PaymentStatus.UNKNOWN else self.value


class PaymentMethodType(StrEnum):
    """How a payment's money came (SPEC §12 ``payment_method_type``)."""

    CARD = "card"  # charged through the card processor (the money flow, app/payments/flow.py)
    SEPA_DEBIT = "sepa_debit"
    BANK_TRANSFER = "bank_transfer"  # read off the merchant's bank statement (app/payments/transfers.py)
    OUT_OF_BAND = "out_of_band"  # the merchant says it was paid another way (POST /v1/invoices/{id}/pay)


class PaymentMethod(Owned, Base):
    """A saved card: only what is safe to keep (SPEC §3). Never the number or CVC."""

    object_name = "payment method"
    __tablename__ = "payment_methods"
    __table_args__ = (sa.Index("ix_payment_methods_customer", "customer_id", "created", "id"),)

    id: Mapped[ObjectId]
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id"))
    processor: Mapped[str] = mapped_column(sa.String(16))
    processor_ref: Mapped[str] = mapped_column(sa.String(128))
    brand: Mapped[str] = mapped_column(sa.String(16))
    last4: Mapped[str] = mapped_column(sa.String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    # A setup (3DS on saving the card) waiting for the customer: the
    # processor's id for it and, in live mode, where the customer confirms it.
    setup_ref: Mapped[str | None] = mapped_column(sa.String(128))
    setup_action_url: Mapped[str | None] = mapped_column(sa.String(2000))
    # When the customer was deleted (SPEC §3: their methods are detached): the
    # row stays for the payments made with it, and nothing charges it again.
    detached_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)


class Payment(Owned, Base):
    object_name = "payment"
    __tablename__ = "payments"
    __table_args__ = (
        sa.Index("ix_payments_list", "account_id", "livemode", "created", "id"),
        sa.Index("ix_payments_invoice", "invoice_id", "created", "id"),
        # The last line of defence against charging twice: at most one completed card
        # payment per invoice, enforced by the database itself. (An invoice can be paid in
        # parts by transfers and out-of-band payments, SPEC §12, but a card charges all that
        # remains, so it settles the invoice.)
        sa.Index("uq_payments_invoice_card_completed", "invoice_id", unique=True,
                 sqlite_where=sa.text("status = 'completed' AND payment_method_type = 'card'"),
                 postgresql_where=sa.text("status = 'completed' AND payment_method_type = 'card'")),
        # A bank statement's entry pays once, however often its statement is imported.
        sa.Index("uq_payments_bank_transaction", "bank_transaction_id", unique=True,
                 sqlite_where=sa.text("bank_transaction_id IS NOT NULL"),
                 postgresql_where=sa.text("bank_transaction_id IS NOT NULL")),
    )

    id: Mapped[ObjectId]
    invoice_id: Mapped[str] = mapped_column(sa.ForeignKey("invoices.id"))
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id"))
    payment_method_id: Mapped[str | None] = mapped_column(sa.ForeignKey("payment_methods.id"))
    amount: Mapped[MinorUnits]
    currency: Mapped[str] = mapped_column(sa.String(3))
    payment_method_type: Mapped[PaymentMethodType] = mapped_column(
        sa.Enum(PaymentMethodType, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=PaymentMethodType.CARD, server_default=PaymentMethodType.CARD.value)
    # A bank transfer (SPEC §12): the statement entry it was read from (a plain id: the bank
    # transactions' table is the statement import's), when the bank booked it (unix seconds)
    # and who sent it, as the statement says.
    bank_transaction_id: Mapped[str | None] = mapped_column(sa.String(40))
    booked_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    debtor_name: Mapped[str | None] = mapped_column(sa.String(140))
    status: Mapped[PaymentStatus] = mapped_column(
        sa.Enum(PaymentStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    off_session: Mapped[bool]
    processor: Mapped[str] = mapped_column(sa.String(16))
    processor_id: Mapped[str | None] = mapped_column(sa.String(128))
    action_url: Mapped[str | None] = mapped_column(sa.String(2000))
    card_brand: Mapped[str | None] = mapped_column(sa.String(16))
    card_last4: Mapped[str | None] = mapped_column(sa.String(4))
    failure_code: Mapped[str | None] = mapped_column(sa.String(64))
    decline_code: Mapped[str | None] = mapped_column(sa.String(64))
    failure_message: Mapped[str | None] = mapped_column(sa.String(500))
    # When the payment last took the invoice's collection slot or had an outcome recorded:
    # a slot held for longer than flow.STALE_SLOT_SECONDS belongs to a process that died.
    updated: Mapped[int] = mapped_column(sa.BigInteger)
    # Where a 3DS challenge sends the customer back (on-session charges): part of
    # the charge request, kept so that asking again sends the same request.
    return_url: Mapped[str | None] = mapped_column(sa.String(2000))
    # The customer ticked "Save as default payment method": the card becomes
    # the default only once this payment succeeds (a declined card never does).
    set_default_on_success: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Made by VINR itself (finalizing a charge_automatically invoice, or a dunning try),
    # not by the merchant's /pay or the customer: its failure plans the next try
    # (app/automation/plans.py), and the count of these is how far the schedule has got.
    automatic: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # What its refunds give back or are giving back (SPEC §11): the sum of its pending and
    # succeeded refunds, minor units. Changed only under the payment's row lock, by the
    # refund flow (app/payments/flow.py), so ``amount - amount_refunded`` is what is left.
    amount_refunded: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")

    @property
    def processor_key(self) -> str:
        """The idempotency key of this payment's charge: asking again is the same request."""
        return f"vinr_{self.id}"

    @property
    def amount_refundable(self) -> int:
        """What a new refund may still give back, minor units."""
        return self.amount - self.amount_refunded


class RefundStatus(StrEnum):
    """A refund's state (transitions: app/payments/states.py REFUND_TRANSITIONS)."""

    # Claimed against its payment and with the processor, or its answer is not clear yet
    # (it is asked again with the same idempotency key). Counts against the payment.
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the processor refused it: ``failure_reason`` says why; the amount is free again
    CANCELED = "canceled"  # the processor canceled it before money moved; the amount is free again


class RefundReason(StrEnum):
    """Why the merchant gives money back (as Stripe's refunds say it)."""

    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    REQUESTED_BY_CUSTOMER = "requested_by_customer"


class Refund(Owned, Base):
    """Money given back on a completed payment (SPEC §11), through the processor that took
    it. Claimed ``pending`` under the payment's row lock, then sent, then recorded: the
    refund flow of app/payments/flow.py."""

    object_name = "refund"
    __tablename__ = "refunds"
    __table_args__ = (
        sa.Index("ix_refunds_list", "account_id", "livemode", "created", "id"),
        sa.Index("ix_refunds_payment", "payment_id", "created", "id"),
        # The recovery sweep's rows: few, however many refunds are kept.
        sa.Index("ix_refunds_pending", "updated", postgresql_where=sa.text("status = 'pending'"),
                 sqlite_where=sa.text("status = 'pending'")),
    )

    id: Mapped[ObjectId]
    payment_id: Mapped[str] = mapped_column(sa.ForeignKey("payments.id"))
    amount: Mapped[MinorUnits]
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[RefundStatus] = mapped_column(
        sa.Enum(RefundStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    reason: Mapped[str | None] = mapped_column(sa.String(32))  # a RefundReason
    failure_reason: Mapped[str | None] = mapped_column(sa.String(64))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    # The credit note that owns this refund (SPEC §11 ``refund_amount``), if any. A plain id,
    # no foreign key: the credit notes' table comes with their own migration, and a refund
    # made through POST /v1/refunds has none.
    credit_note_id: Mapped[str | None] = mapped_column(sa.String(40))
    processor: Mapped[str] = mapped_column(sa.String(16))  # the payment's, which refunds it
    processor_id: Mapped[str | None] = mapped_column(sa.String(128))  # the processor's id of the refund
    # When the refund was claimed or last sent to the processor: a pending refund not sent
    # for longer than flow.STALE_REFUND_SECONDS is asked about again (its process died, or
    # the processor gave no clear answer).
    updated: Mapped[int] = mapped_column(sa.BigInteger)

    @property
    def processor_key(self) -> str:
        """The idempotency key of this refund's processor call: asking again is the same request."""
        return f"vinr_{self.id}"


class CallKind(StrEnum):
    TOKENIZE = "tokenize"  # keeping a typed card with the processor
    CHARGE = "charge"
    CONFIRM = "confirm"  # a charge's 3DS confirmation
    SETUP = "setup"  # saving a card as the default, which may ask for 3DS
    CONFIRM_SETUP = "confirm_setup"
    REFUND = "refund"  # giving back (part of) a payment; asking about a pending refund again


class CallOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"
    DECLINED = "declined"  # a clear refusal
    NO_ANSWER = "no_answer"  # unreachable, or an answer that says nothing about the charge
    PENDING = "pending"  # a refund the processor has taken and not finished yet
    CANCELED = "canceled"  # a refund the processor canceled


class ProcessorCall(Base):
    """One call to the card processor and its normalized answer: append-only, never
    updated, never the raw payload (saleor's gateway ``Transaction``). "Was this invoice
    charged?" is a query over these rows (app/payments/states.py)."""

    __tablename__ = "processor_calls"
    __table_args__ = (
        sa.Index("ix_processor_calls_invoice", "invoice_id", "created"),
        sa.Index("ix_processor_calls_refund", "refund_id", "created"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    created: Mapped[Timestamp]
    kind: Mapped[CallKind] = mapped_column(
        sa.Enum(CallKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    idempotency_key: Mapped[str] = mapped_column(sa.String(128))
    invoice_id: Mapped[str | None] = mapped_column(sa.String(40))
    payment_id: Mapped[str | None] = mapped_column(sa.ForeignKey("payments.id"))
    payment_method_id: Mapped[str | None] = mapped_column(sa.ForeignKey("payment_methods.id"))
    refund_id: Mapped[str | None] = mapped_column(sa.ForeignKey("refunds.id"))
    outcome: Mapped[CallOutcome] = mapped_column(
        sa.Enum(CallOutcome, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    processor_id: Mapped[str | None] = mapped_column(sa.String(128))
    failure_code: Mapped[str | None] = mapped_column(sa.String(64))
    decline_code: Mapped[str | None] = mapped_column(sa.String(64))
