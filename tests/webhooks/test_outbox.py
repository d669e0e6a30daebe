"""An event's deliveries are queued with it, to the endpoints that listen at that moment of
its transaction (the endpoints are read once per transaction, and again after one changes)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app import clock
from app.events.service import record
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import Merchant


def _endpoint(account_id: str, endpoint_id: str, types: list[str]) -> WebhookEndpoint:
    return WebhookEndpoint(id=endpoint_id, account_id=account_id, livemode=False, created=clock.now(),
                           url="https://example.com/hook", description=None, enabled_events=types, disabled=False,
                           secret="whsec_test", metadata_={})


def _delivered_to(db_session: Any, account_id: str, event_type: str) -> set[str]:
    return set(db_session.scalars(sa.select(WebhookDelivery.endpoint_id).where(
        WebhookDelivery.account_id == account_id, WebhookDelivery.event_type == event_type)))


def test_an_endpoint_added_or_disabled_in_a_transaction_counts_for_its_next_event(
        db_session: Any, merchant: Merchant) -> None:
    account = merchant.account_id
    db_session.add(_endpoint(account, "we_first", ["*"]))
    db_session.flush()
    record(db_session, account, False, "customer.created", {"object": {"id": "cus_1"}})
    second = _endpoint(account, "we_second", ["customer.updated", "customer.deleted"])
    db_session.add(second)
    db_session.flush()
    record(db_session, account, False, "customer.updated", {"object": {"id": "cus_1"}})
    second.disabled = True
    db_session.flush()
    record(db_session, account, False, "customer.deleted", {"object": {"id": "cus_1"}})
    assert _delivered_to(db_session, account, "customer.created") == {"we_first"}
    assert _delivered_to(db_session, account, "customer.updated") == {"we_first", "we_second"}
    assert _delivered_to(db_session, account, "customer.deleted") == {"we_first"}
