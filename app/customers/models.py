from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Coupon
from app.db import Base, ObjectId, Owned


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

    coupon: Mapped[Coupon | None] = relationship(lazy="joined")
