from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, ObjectId, Timestamp


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[ObjectId]
    name: Mapped[str] = mapped_column(sa.String(200))
    invoice_prefix: Mapped[str] = mapped_column(sa.String(12))
    default_currency: Mapped[str] = mapped_column(sa.String(3))
    created: Mapped[Timestamp]
    # None until the merchant sets a branding; read with the hosted page (app/invoices/hosted.py).
    branding: Mapped[Branding | None] = relationship(viewonly=True, uselist=False)


class ApiKey(Base):
    """A secret key, stored only as its SHA-256 (keys are 192 random bits, so a
    slow password hash buys nothing and would cost every request)."""

    __tablename__ = "api_keys"

    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    livemode: Mapped[bool]
    last4: Mapped[str] = mapped_column(sa.String(4))
    created: Mapped[Timestamp]


class InvoiceCounter(Base):
    """Next invoice number per account and mode. A row, not a sequence: the
    increment rolls back with its transaction, so numbers never skip."""

    __tablename__ = "invoice_counters"

    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    livemode: Mapped[bool] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class TestClock(Base):
    """How far a merchant moved their test-mode clock ahead of real time (SPEC §5).
    No row: the test clock shows real time. Live mode has no test clock."""

    __tablename__ = "test_clocks"

    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    offset: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # seconds ahead


class CollectionSettings(Base):
    """An account's schedule for collection over time, per mode (SPEC §5
    ``/v1/account/settings``). No row: the defaults (app/accounts/settings.py)."""

    __tablename__ = "collection_settings"

    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    livemode: Mapped[bool] = mapped_column(primary_key=True)
    auto_advance_delay: Mapped[int]  # seconds from a draft's creation to its auto-finalization
    dunning_retry_days: Mapped[list[Any]]  # each counted from the previous attempt
    reminder_days_before_due: Mapped[list[Any]]
    reminder_days_after_due: Mapped[list[Any]]
    # The invoice email and the receipt attach the invoice's PDF (SPEC §10).
    attach_pdf: Mapped[bool] = mapped_column(server_default=sa.true())
    updated: Mapped[Timestamp]


class BusinessProfile(Base):
    """Who the merchant is in law, as its invoices print it (SPEC §10 business profile): one row
    per account, shared by both modes; absent means nothing was set yet. Invoices copy it at
    finalization (``Invoice.account_legal``), so a change here alters no issued invoice."""

    __tablename__ = "business_profiles"

    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    legal_name: Mapped[str | None] = mapped_column(sa.String(200))
    address: Mapped[dict[str, Any] | None]  # line1, line2, city, postal_code, state, country
    vat_id: Mapped[str | None] = mapped_column(sa.String(40))  # compact, country prefix first
    tax_number: Mapped[str | None] = mapped_column(sa.String(40))
    registration: Mapped[str | None] = mapped_column(sa.String(200))
    contact_name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    website: Mapped[str | None] = mapped_column(sa.String(500))
    bank_account: Mapped[dict[str, Any] | None]  # account_holder, iban (compact), bic
    small_business: Mapped[bool] = mapped_column(default=False)
    updated: Mapped[Timestamp]


class Branding(Base):
    """How a merchant looks on the hosted page, the PDF and the emails (SPEC §3 Branding).

    One row per account, shared by both modes; absent means the default theme. Its rules
    are app/branding/; the row is the account's, like its business profile and settings.
    """

    __tablename__ = "brandings"

    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    theme: Mapped[str] = mapped_column(sa.String(64), default="default")
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    primary_color: Mapped[str | None] = mapped_column(sa.String(7))  # #rrggbb
    accent_color: Mapped[str | None] = mapped_column(sa.String(7))
    logo: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    logo_mime: Mapped[str | None] = mapped_column(sa.String(32))  # image/png or image/jpeg
    support_email: Mapped[str | None] = mapped_column(sa.String(254))
    support_phone: Mapped[str | None] = mapped_column(sa.String(40))
    support_url: Mapped[str | None] = mapped_column(sa.String(500))
    updated: Mapped[int] = mapped_column(sa.BigInteger)
