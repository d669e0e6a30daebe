from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Timestamp

ADDRESS_LENGTH = 64  # an IP address, or what a trusted proxy says it is


class CardTryStatus(StrEnum):
    UNDER_WAY = "under_way"  # counted while it runs, so a burst of parallel tries cannot slip past the limit
    FAILED = "failed"


class CardTry(Base):
    """A try with a card on the hosted page (pay, a 3DS answer, a card save) that failed or
    is under way, as the database store of the card-testing limit counts it (SPEC §7). A try
    that succeeds is deleted. No card data: only when, from where and on which invoice.

    ``invoice_id`` is the one the link names, which need not exist: a try on a bad link is
    deleted with its 404. (The table keeps its first name, ``card_attempts``.)
    """

    __tablename__ = "card_attempts"
    __table_args__ = (
        sa.Index("ix_card_attempts_client", "client_address", "created"),
        sa.Index("ix_card_attempts_invoice", "invoice_id", "created"),
        {"sqlite_autoincrement": True},  # an id is never handed out twice, even after its row is deleted
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    created: Mapped[Timestamp] = mapped_column(index=True)
    client_address: Mapped[str] = mapped_column(sa.String(ADDRESS_LENGTH))
    invoice_id: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[CardTryStatus] = mapped_column(
        sa.Enum(CardTryStatus, name="cardattemptstatus", native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e]))
