from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Timestamp


class IdempotencyKey(Base):
    """One POST's outcome under a client's Idempotency-Key (SPEC §2)."""

    __tablename__ = "idempotency_keys"

    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    livemode: Mapped[bool] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    created: Mapped[Timestamp] = mapped_column(index=True)
    locked_at: Mapped[int | None] = mapped_column(sa.BigInteger)  # set while the first request runs
    holder: Mapped[str | None] = mapped_column(sa.String(160))  # the process running it (app/processes.py)
    response_status: Mapped[int | None]
    response_body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
