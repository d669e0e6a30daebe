"""The one writer of a delivery's status, and its transition table (STYLE "State machine")."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.webhooks.models import DeliveryStatus as D
from app.webhooks.models import WebhookDelivery

# A resend (or a recovery) plans a delivery again from any status, a pending one included.
DELIVERY_TRANSITIONS: dict[D, frozenset[D]] = {
    D.PENDING: frozenset({D.PENDING, D.SUCCEEDED, D.FAILED}),
    D.SUCCEEDED: frozenset({D.PENDING}),
    D.FAILED: frozenset({D.PENDING}),
}


def move(delivery: WebhookDelivery, to: D) -> None:
    if to not in DELIVERY_TRANSITIONS[delivery.status]:
        raise ValueError(f"delivery {delivery.id}: {delivery.status} → {to} is not a transition")
    delivery.status = to


def fail_pending(session: Session, endpoint_id: str) -> None:
    """Every planned delivery of a disabled endpoint stops (pending → failed); a
    recovery after re-enabling plans them again."""
    session.execute(sa.update(WebhookDelivery)
                    .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == D.PENDING)
                    .values(status=D.FAILED, next_attempt_at=None)
                    .execution_options(synchronize_session="fetch"))
