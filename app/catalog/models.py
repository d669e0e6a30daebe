from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, MinorUnits, ObjectId, Owned


class Price(Owned, Base):
    object_name = "price"
    __tablename__ = "prices"
    __table_args__ = (sa.Index("ix_prices_list", "account_id", "livemode", "created", "id"),)

    id: Mapped[ObjectId]
    unit_amount: Mapped[MinorUnits]
    currency: Mapped[str] = mapped_column(sa.String(3))
    nickname: Mapped[str | None] = mapped_column(sa.String(256))
    active: Mapped[bool] = mapped_column(default=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)


class Coupon(Owned, Base):
    """A discount. Its id is merchant-chosen, so it is unique only per account
    and mode; ``pk`` is what other rows point at."""

    object_name = "coupon"
    __tablename__ = "coupons"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "livemode", "id"),
        sa.Index("ix_coupons_list", "account_id", "livemode", "created", "id"),
    )

    pk: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str | None] = mapped_column(sa.String(256))
    percent_off_e2: Mapped[int | None]  # hundredths of a percent: 12.5 % -> 1250
    amount_off: Mapped[int | None] = mapped_column(sa.BigInteger)  # minor units
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    duration: Mapped[str] = mapped_column(sa.String(8))
    deleted: Mapped[bool] = mapped_column(default=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)


class TaxRate(Owned, Base):
    object_name = "tax rate"
    __tablename__ = "tax_rates"
    __table_args__ = (sa.Index("ix_tax_rates_list", "account_id", "livemode", "created", "id"),)

    id: Mapped[ObjectId]
    display_name: Mapped[str] = mapped_column(sa.String(100))
    percentage_e4: Mapped[int]  # ten-thousandths of a percent: 7.5 % -> 75000
    inclusive: Mapped[bool]
    country: Mapped[str | None] = mapped_column(sa.String(2))
    state: Mapped[str | None] = mapped_column(sa.String(10))
    active: Mapped[bool] = mapped_column(default=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
