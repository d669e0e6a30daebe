from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Branding(Base):
    """How a merchant looks on the hosted page, the PDF and the emails (SPEC §3 Branding).

    One row per account, shared by both modes; absent means the default theme.
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
