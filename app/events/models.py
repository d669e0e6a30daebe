from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ObjectId, Owned


class Event(Owned, Base):
    object_name = "event"
    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_list", "account_id", "livemode", "created", "id"),
        sa.Index("ix_events_type", "account_id", "livemode", "type", "created", "id"),
        sa.Index("ix_events_created", "created"),  # pruning
    )

    id: Mapped[ObjectId]
    type: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[dict[str, Any]]
