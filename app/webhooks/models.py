from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ObjectId, Owned


class WebhookEndpoint(Owned, Base):
    object_name = "webhook endpoint"
    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.Index("ix_webhook_endpoints_list", "account_id", "livemode", "created", "id"),)

    id: Mapped[ObjectId]
    url: Mapped[str] = mapped_column(sa.String(2048))
    description: Mapped[str | None] = mapped_column(sa.String(500))
    enabled_events: Mapped[list[Any]]  # event types, or ["*"]
    disabled: Mapped[bool] = mapped_column(default=False)
    secret: Mapped[str] = mapped_column(sa.String(100))
    # During a secret roll the old secret signs too, until it expires (real time).
    previous_secret: Mapped[str | None] = mapped_column(sa.String(100))
    previous_secret_expires: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Since when every attempt has failed (on the account's clock), None after a success:
    # five days of that disable the endpoint (SPEC §4).
    failing_since: Mapped[int | None] = mapped_column(sa.BigInteger)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(200))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # an attempt is planned
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # retries ran out, or the endpoint was disabled; a resend plans one again


class WebhookDelivery(Owned, Base):
    """One event for one endpoint; its attempts are the HTTP tries (SPEC §4)."""

    object_name = "webhook delivery"
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.Index("ix_webhook_deliveries_failed", "endpoint_id", "status", "last_attempt_at"),
    )

    id: Mapped[ObjectId]
    endpoint_id: Mapped[str] = mapped_column(sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[DeliveryStatus] = mapped_column(
        sa.Enum(DeliveryStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    # The bytes sent, fixed at the first attempt so every retry carries the same body.
    body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    # A resend starts a new round of the retry schedule; a job of an older round is stale.
    round: Mapped[int] = mapped_column(default=1)
    attempts_in_round: Mapped[int] = mapped_column(default=0)
    round_started_at: Mapped[int | None] = mapped_column(sa.BigInteger)  # first attempt of the round
    last_attempt_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    next_attempt_at: Mapped[int | None] = mapped_column(sa.BigInteger)


class WebhookAttempt(Owned, Base):
    """One HTTP try of a delivery: what came back, and when the next try is."""

    object_name = "webhook delivery attempt"
    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.Index("ix_webhook_attempts_list", "endpoint_id", "created", "id"),)

    id: Mapped[ObjectId]
    delivery_id: Mapped[str] = mapped_column(sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(sa.String(40))
    event_id: Mapped[str] = mapped_column(sa.String(40))
    event_type: Mapped[str] = mapped_column(sa.String(64))
    http_status: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.String(500))
    duration_ms: Mapped[int]
    succeeded: Mapped[bool]
    next_retry_at: Mapped[int | None] = mapped_column(sa.BigInteger)
