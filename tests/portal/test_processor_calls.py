"""Every call to the processor is a row (STYLE "Every processor call is a row"): keeping a
card (tokenize), setting it up and confirming its set-up, as well as charges, and a
call that failed or was refused as well as one that succeeded."""

from __future__ import annotations

import re
from typing import Any

import pytest
import responses
import sqlalchemy as sa

from app.payments.models import CallKind, CallOutcome, ProcessorCall
from tests.conftest import PROCESSOR_URL
from tests.portal.conftest import Hosted

FUTURE = {"exp_month": 12, "exp_year": 2040}
CARD = {"id": "pm_live_9", "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2040,
                                    "fingerprint": "fp_live_9"}}
BANK = "https://bank.example/3ds/abc"

Row = tuple[CallKind, CallOutcome, str | None, str | None]


def _last_id(session: Any) -> int:
    return session.scalar(sa.select(sa.func.max(ProcessorCall.id))) or 0


def _rows_since(session: Any, after: int) -> list[Row]:
    """(kind, outcome, failure code, card) of each call since ``after``, in order."""
    rows = session.scalars(sa.select(ProcessorCall).where(ProcessorCall.id > after).order_by(ProcessorCall.id))
    return [(row.kind, row.outcome, row.failure_code, row.payment_method_id) for row in rows]


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match
    return match[1]


@pytest.fixture()
def rsps() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_a_saved_card_and_a_refused_one_are_each_a_row(api: Any, customer: dict, db_session: Any) -> None:
    before = _last_id(db_session)
    saved = api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
                   {"card": {"number": "4242424242424242", "cvc": "123", **FUTURE}})
    refused = api.post(f"/v1/customers/{customer['id']}/payment_methods",
                       {"card": {"number": "4012888888881881", "cvc": "123", **FUTURE}})
    assert refused.status_code == 402 and refused.get_json()["error"]["code"] == "test_mode_live_card"
    # The refused request changed nothing else (402), but its call to the processor is on record.
    assert _rows_since(db_session, before) == [
        (CallKind.TOKENIZE, CallOutcome.SUCCEEDED, None, saved["id"]),
        (CallKind.TOKENIZE, CallOutcome.DECLINED, "test_mode_live_card", None)]
    key = db_session.scalar(sa.select(ProcessorCall.idempotency_key)
                            .where(ProcessorCall.payment_method_id == saved["id"]))
    assert key == f"vinr_{saved['id']}"


def test_a_card_update_with_3ds_is_three_rows(hosted: Hosted, db_session: Any) -> None:
    before = _last_id(db_session)
    form = hosted.page("/payment-method").get_data(as_text=True)
    response = hosted.client.post(hosted.path + "/payment-method", data={
        "csrf_token": _csrf(form), "card_number": "4000000000003220", "expiry": "12/40", "cvc": "123",
        "name": "Jenny Rosen"})
    challenge = response.headers["Location"]
    html = hosted.client.get(challenge).get_data(as_text=True)
    done = hosted.client.post(challenge, data={"csrf_token": _csrf(html), "complete": "1"})
    assert done.status_code == 303
    card = hosted.api.ok("GET", f"/v1/customers/{hosted.invoice['customer']}")["invoice_settings"][
        "default_payment_method"]
    assert _rows_since(db_session, before) == [(CallKind.TOKENIZE, CallOutcome.SUCCEEDED, None, card),
                                               (CallKind.SETUP, CallOutcome.REQUIRES_ACTION, None, card),
                                               (CallKind.CONFIRM_SETUP, CallOutcome.SUCCEEDED, None, card)]


def test_a_processor_that_is_down_is_still_a_row(live_hosted: Hosted, live_db: Any,
                                                 rsps: responses.RequestsMock) -> None:
    """No answer to keeping the card, then none to setting one up: each a row with its
    normalized outcome, and the customer reads a message, not an error page."""
    before = _last_id(live_db)
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", status=503, body="down")
    form = live_hosted.page("/payment-method").get_data(as_text=True)
    fields = {"card_number": "4242424242424242", "expiry": "12/40", "cvc": "123", "name": "Buyer"}
    down = live_hosted.client.post(live_hosted.path + "/payment-method", data={"csrf_token": _csrf(form), **fields})
    assert "could not process your card" in live_hosted.landed(down).get_data(as_text=True)

    rsps.replace(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json=CARD)
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/setup_intents", status=503, body="down")
    form = live_hosted.page("/payment-method").get_data(as_text=True)
    saved = live_hosted.client.post(live_hosted.path + "/payment-method", data={"csrf_token": _csrf(form), **fields})
    assert "could not process your card" in live_hosted.landed(saved).get_data(as_text=True)
    cards = live_hosted.api.ok("GET", f"/v1/customers/{live_hosted.invoice['customer']}/payment_methods")["data"]
    assert [card["id"] for card in cards] != []  # kept, whatever its set-up came to
    assert _rows_since(live_db, before) == [
        (CallKind.TOKENIZE, CallOutcome.NO_ANSWER, "processor_unavailable", None),
        (CallKind.TOKENIZE, CallOutcome.SUCCEEDED, None, cards[0]["id"]),
        (CallKind.SETUP, CallOutcome.NO_ANSWER, "processor_unavailable", cards[0]["id"])]
