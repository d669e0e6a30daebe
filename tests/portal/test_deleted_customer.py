"""A deleted customer's open invoice (SPEC §3): still payable on the hosted page with a
card typed there, but no card is kept for them and none is charged off-session."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.payments.models import PaymentMethod
from tests.portal.conftest import Hosted


def test_a_deleted_customers_invoice_is_paid_with_a_new_card_that_is_not_kept(
        hosted: Hosted, api: Any, customer: dict, db_session: Any) -> None:
    saved = api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
                   {"card": {"number": "4242424242424242", "cvc": "123", "exp_month": 12, "exp_year": 2040},
                    "set_default": True})
    page = hosted.page().get_data(as_text=True)
    assert "Visa ending in 4242" in page and "Update payment method" in page
    api.ok("DELETE", f"/v1/customers/{customer['id']}")

    page = hosted.page().get_data(as_text=True)
    assert hosted.page().status_code == 200 and "Pay " in page
    assert "Visa ending in 4242" not in page  # the detached card is not offered
    assert "Update payment method" not in page and "Save as default payment method" not in page
    assert hosted.page("/payment-method").status_code == 404
    refused = hosted.client.post(hosted.path + "/pay", data={"csrf_token": hosted.csrf(), "method": saved["id"]})
    assert refused.status_code == 303 and hosted.refreshed()["status"] == "open"

    paid = hosted.pay("5555555555554444", save=True)
    assert paid.status_code == 303 and hosted.refreshed()["status"] == "paid"
    typed = db_session.scalars(sa.select(PaymentMethod).where(PaymentMethod.customer_id == customer["id"])).all()
    assert {pm.last4 for pm in typed} == {"4242", "4444"}
    assert all(pm.detached_at is not None for pm in typed)  # neither is left for an off-session charge


def test_a_card_whose_3ds_set_up_ends_after_the_deletion_is_not_kept(
        hosted: Hosted, api: Any, customer: dict, db_session: Any) -> None:
    started = hosted.client.post(hosted.path + "/payment-method", data={
        "csrf_token": hosted.csrf("/payment-method"), "card_number": "4000000000003220", "expiry": "11/39",
        "cvc": "321", "name": "Jenny"})
    assert started.status_code == 303 and "/authenticate/" in started.headers["Location"]
    challenge = hosted.client.get(started.headers["Location"]).get_data(as_text=True)
    csrf = challenge.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    api.ok("DELETE", f"/v1/customers/{customer['id']}")
    answered = hosted.client.post(started.headers["Location"], data={"csrf_token": csrf, "complete": "x"})
    assert answered.status_code == 400 and "can no longer be saved" in answered.get_data(as_text=True)
    card = db_session.scalars(sa.select(PaymentMethod).where(PaymentMethod.customer_id == customer["id"])).one()
    assert card.detached_at is not None
    assert hosted.refreshed()["status"] == "open"
