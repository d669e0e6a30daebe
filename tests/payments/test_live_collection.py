"""Live-mode collection through the API against a mocked stripe-like processor
(SPEC §3 /pay, §6 live mode).

The issue: "A processor that hangs or answers garbage leaves the invoice open
with a clear last_payment_error, never a 500 and never a payment stuck
without an outcome." These tests run the whole /pay flow (claim, charge,
record) on an app configured with ``PROCESSOR_URL``/``PROCESSOR_KEY``, sharing
the session's migrated database; every test's rows are rolled back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import responses
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app import clock
from app.accounts.service import create_merchant
from app.ids import new_id
from app.invoices.models import Invoice
from app.payments import flow, states
from app.payments.models import CallKind, CallOutcome, Payment, PaymentMethod, PaymentStatus, ProcessorCall
from app.payments.processor import CardDetails, HttpProcessor, ProcessorError
from tests.conftest import PROCESSOR_KEY, PROCESSOR_URL

INTENTS = f"{PROCESSOR_URL}/v1/payment_intents"
PM_REF = "pm_live_123"
AMOUNT = 4200


@pytest.fixture()
def sleeps(live_sleeps: list[float]) -> list[float]:
    """This module's name for the live processor's recorded backoff delays."""
    return live_sleeps


@dataclass
class Live:
    client: FlaskClient
    key: str
    session: Any
    customer_id: str
    pm_id: str

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(path, json=body if body is not None else {},
                                headers={"X-Api-Key": self.key, **(headers or {})})

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers={"X-Api-Key": self.key}, **kw)

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
        response = self.get(path, **kw) if method == "GET" else self.post(path, body, **kw)
        assert response.status_code == 200, (path, response.status_code, response.get_json())
        return response.get_json()  # type: ignore[no-any-return]

    def open_invoice(self, amount: int = AMOUNT) -> dict[str, Any]:
        inv = self.ok("POST", "/v1/invoices", {"customer": self.customer_id})
        assert inv["livemode"] is True
        self.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Work", "unit_amount": amount})
        return self.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})

    def payments(self, invoice_id: str) -> list[dict[str, Any]]:
        return self.ok("GET", "/v1/payments", query_string={"invoice": invoice_id, "limit": 100})["data"]

    def collecting(self, invoice_id: str) -> str | None:
        return self.session.scalar(sa.select(Invoice.collecting_payment_id).where(Invoice.id == invoice_id))

    def events(self, type_: str) -> list[dict[str, Any]]:
        return self.ok("GET", "/v1/events", query_string={"type": type_, "limit": 100})["data"]


@pytest.fixture()
def live(live_app: Flask, live_db: Any, sleeps: list[float]) -> Live:
    """A merchant's live API, a customer, and a live card saved as the customer's default.

    Live cards come from the hosted page, never the API (400), so the saved
    card is inserted as the hosted page would leave it.
    """
    new = create_merchant(live_db, "Live GmbH", "LIVE", "eur")
    live_db.flush()
    client = live_app.test_client()
    key = new.live_secret_key
    customer = client.post("/v1/customers", json={"email": "live@example.com"}, headers={"X-Api-Key": key})
    assert customer.status_code == 200 and customer.get_json()["livemode"] is True
    cid = customer.get_json()["id"]
    refused = client.post(f"/v1/customers/{cid}/payment_methods", headers={"X-Api-Key": key},
                          json={"card": {"number": "4242424242424242", "cvc": "123", "exp_month": 12,
                                         "exp_year": 2040}})
    assert refused.status_code == 400
    pm = PaymentMethod(id=new_id("pm"), account_id=new.account.id, livemode=True, created=clock.now(),
                       customer_id=cid, processor="http", processor_ref=PM_REF, brand="visa", last4="4242",
                       exp_month=12, exp_year=2040, fingerprint="fp_live_0123456789abcdef", metadata_={})
    live_db.add(pm)
    live_db.flush()
    api = Live(client, key, live_db, cid, pm.id)
    updated = api.ok("POST", f"/v1/customers/{cid}", {"invoice_settings": {"default_payment_method": pm.id}})
    assert updated["invoice_settings"]["default_payment_method"] == pm.id
    return api


@pytest.fixture()
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def _intent_calls(rsps: responses.RequestsMock) -> list[Any]:
    return [call for call in rsps.calls if call.request.url == INTENTS]


def _assert_open_with(api: Live, invoice: dict[str, Any], code: str, decline_code: str | None = None) -> dict:
    """The invoice stayed open and payable, with a clear error and a finished (failed) payment."""
    assert invoice["status"] == "open" and invoice["amount_paid"] == 0 and invoice["attempt_count"] == 1
    error = invoice["last_payment_error"]
    assert (error["code"], error["decline_code"]) == (code, decline_code)
    assert isinstance(error["message"], str) and 0 < len(error["message"]) <= 500
    payment = api.ok("GET", f"/v1/payments/{error['payment']}")
    assert payment["status"] == "failed" and payment["failure_code"] == code  # not left "processing"
    assert api.collecting(invoice["id"]) is None  # the collection slot is free again
    assert [p["id"] for p in api.payments(invoice["id"])] == [payment["id"]]
    return payment


def test_live_success_charges_through_the_processor(live: Live, rsps: responses.RequestsMock) -> None:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_1", "object": "payment_intent", "status": "succeeded"})
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert paid["status"] == "paid" and paid["livemode"] is True
    assert (paid["amount_paid"], paid["amount_remaining"], paid["attempt_count"]) == (AMOUNT, 0, 1)
    payment = live.ok("GET", f"/v1/payments/{paid['payment']}")
    assert payment["status"] == "completed" and payment["amount"] == AMOUNT and payment["livemode"] is True
    assert payment["card"] == {"brand": "visa", "last4": "4242"}
    [call] = _intent_calls(rsps)
    sent = json.loads(call.request.body)
    assert (sent["amount"], sent["currency"], sent["payment_method"]) == (AMOUNT, "eur", PM_REF)
    assert sent["confirm"] is True and sent["off_session"] is True
    assert call.request.headers["Idempotency-Key"] == f"vinr_{payment['id']}"
    assert call.request.headers["Idempotency-Key"].startswith("vinr_pay_")
    assert call.request.headers["Authorization"] == f"Bearer {PROCESSOR_KEY}"
    # A hanging processor is bounded: every call has a finite timeout.
    assert 0 < call.request.req_kwargs["timeout"] <= 30
    assert live.session.scalar(sa.select(Payment.processor_id).where(Payment.id == payment["id"])) == "pi_live_1"
    assert len(live.events("payment.completed")) == 1 and len(live.events("invoice.paid")) == 1
    again = live.post(f"/v1/invoices/{inv['id']}/pay")
    assert again.status_code == 409  # paid: nothing more reaches the processor
    assert len(_intent_calls(rsps)) == 1


def test_live_finalize_collects_from_the_default_card(live: Live, rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_2", "status": "succeeded"})
    inv = live.ok("POST", "/v1/invoices", {"customer": live.customer_id})
    live.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"unit_amount": 999})
    assert live.ok("POST", f"/v1/invoices/{inv['id']}/finalize")["status"] == "paid"
    assert json.loads(_intent_calls(rsps)[0].request.body)["amount"] == 999


def test_live_pay_with_idempotency_key_charges_once(live: Live, rsps: responses.RequestsMock) -> None:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_3", "status": "succeeded"})
    first = live.post(f"/v1/invoices/{inv['id']}/pay", headers={"Idempotency-Key": "live-pay-1"})
    replay = live.post(f"/v1/invoices/{inv['id']}/pay", headers={"Idempotency-Key": "live-pay-1"})
    assert first.status_code == replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_data() == first.get_data()
    assert len(_intent_calls(rsps)) == 1


def test_live_decline_402_leaves_the_invoice_open(live: Live, rsps: responses.RequestsMock) -> None:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, status=402, json={"error": {
        "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
        "payment_intent": {"id": "pi_live_4", "status": "requires_payment_method"}}})
    declined = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    _assert_open_with(live, declined, "card_declined", "insufficient_funds")
    assert declined["last_payment_error"]["message"] == "Your card has insufficient funds."
    assert len(_intent_calls(rsps)) == 1  # a decline is an answer: never retried
    assert len(live.events("payment.failed")) == 1 and len(live.events("invoice.payment_failed")) == 1
    # The customer's bank relents: the same invoice can still be collected.
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_5", "status": "succeeded"})
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert paid["status"] == "paid" and paid["attempt_count"] == 2 and paid["last_payment_error"] is None


def test_live_decline_in_a_200_intent(live: Live, rsps: responses.RequestsMock) -> None:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, json={
        "id": "pi_live_6", "status": "requires_payment_method",
        "last_payment_error": {"code": "expired_card", "decline_code": "expired_card",
                               "message": "Your card has expired."}})
    _assert_open_with(live, live.ok("POST", f"/v1/invoices/{inv['id']}/pay"), "expired_card", "expired_card")


def test_live_decline_message_never_echoes_a_card_number(live: Live, rsps: responses.RequestsMock) -> None:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, status=402, json={"error": {
        "type": "card_error", "code": "card_declined", "decline_code": "do_not_honor",
        "message": "Card 4242 4242 4242 4242 was declined."}})
    response = live.post(f"/v1/invoices/{inv['id']}/pay")
    assert response.status_code == 200
    declined = response.get_json()
    _assert_open_with(live, declined, "card_declined", "do_not_honor")
    assert "4242 4242 4242 4242" not in response.get_data(as_text=True)
    assert "4242 4242 4242 4242" not in json.dumps([e["data"] for e in live.events("invoice.payment_failed")])


def test_live_3ds_off_session_needs_the_customer(live: Live, rsps: responses.RequestsMock) -> None:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, status=402, json={"error": {
        "type": "card_error", "code": "authentication_required", "decline_code": "authentication_required",
        "message": "This payment requires authentication.", "payment_intent": {"id": "pi_live_7"}}})
    result = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert result["status"] == "open" and result["last_payment_error"]["code"] == "authentication_required"
    assert live.ok("GET", f"/v1/payments/{result['payment']}")["status"] == "requires_action"
    assert live.collecting(inv["id"]) is None


TRANSIENT = [
    pytest.param(requests.exceptions.ConnectTimeout("connect timed out"), id="connect-timeout"),
    pytest.param(requests.exceptions.ReadTimeout("read timed out"), id="read-timeout (a hang)"),
    pytest.param(requests.exceptions.ConnectionError("connection refused"), id="connection-refused"),
    pytest.param(503, id="http-503"),
]


@pytest.mark.parametrize("failure", TRANSIENT)
def test_live_processor_unreachable_on_every_retry(live: Live, rsps: responses.RequestsMock, sleeps: list[float],
                                                   failure: Any) -> None:
    inv = live.open_invoice()
    if isinstance(failure, int):
        rsps.add(responses.POST, INTENTS, status=failure, body="<html>Service Unavailable</html>")
    else:
        rsps.add(responses.POST, INTENTS, body=failure)  # raised on every call
    response = live.post(f"/v1/invoices/{inv['id']}/pay")
    assert response.status_code == 200, response.get_json()
    payment = _assert_open_with(live, response.get_json(), "processor_unavailable")
    assert "could not be reached" in response.get_json()["last_payment_error"]["message"]
    assert "never made twice" in response.get_json()["last_payment_error"]["message"]
    calls = _intent_calls(rsps)
    assert len(calls) == 4 and len(sleeps) == 3  # the first try and three resends, with backoff
    assert {c.request.headers["Idempotency-Key"] for c in calls} == {f"vinr_{payment['id']}"}
    assert len(live.events("payment.failed")) == 1
    # The processor is back: the next /pay first asks about that attempt again, with the
    # SAME request and key: had the lost charge happened, the processor answers with it
    # instead of charging again, and that attempt is the payment.
    rsps.replace(responses.POST, INTENTS, json={"id": "pi_live_8", "status": "succeeded"})
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert paid["status"] == "paid" and paid["attempt_count"] == 1  # asking again is the same attempt
    assert [(p["id"], p["status"]) for p in live.payments(inv["id"])] == [(payment["id"], "completed")]
    asked_again = _intent_calls(rsps)[-1].request
    assert asked_again.headers["Idempotency-Key"] == f"vinr_{payment['id']}"
    assert asked_again.body == calls[0].request.body


def test_a_known_decline_starts_a_fresh_charge_key(live: Live, rsps: responses.RequestsMock) -> None:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, status=402, json={"error": {
        "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
        "message": "Your card was declined.", "payment_intent": {"id": "pi_d"}}})
    first = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    rsps.replace(responses.POST, INTENTS, json={"id": "pi_ok", "status": "succeeded"})
    live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    keys = [c.request.headers["Idempotency-Key"] for c in _intent_calls(rsps)]
    assert keys[0] == f"vinr_{first['last_payment_error']['payment']}" and keys[1] != keys[0]


GARBAGE = [
    pytest.param(200, "<html>hello</html>", "processor_invalid_response", id="html-200"),
    pytest.param(200, "", "processor_invalid_response", id="empty-200"),
    pytest.param(200, "[1, 2, 3]", "processor_invalid_response", id="json-list"),
    pytest.param(200, '{"status": "succeeded"}', "processor_invalid_response", id="no-id"),
    pytest.param(200, '{"id": 17, "status": "succeeded"}', "processor_invalid_response", id="numeric-id"),
    pytest.param(200, '{"id": "pi_x", "status": "processing"}', "processor_invalid_response", id="unknown-status"),
    pytest.param(200, '{"id": "pi_x", "status": ["succeeded"]}', "processor_invalid_response", id="status-list"),
    pytest.param(200, '{"id": "pi_x", "status": "requires_action"}', "processor_invalid_response",
                 id="action-without-url"),
    pytest.param(200, '{"id": "pi_x", "status": "succeeded"', "processor_invalid_response", id="truncated-json"),
    pytest.param(200, b"\xff\xfe\x00garbage", "processor_invalid_response", id="binary"),
    pytest.param(402, '{"error": "nope"}', "processor_invalid_response", id="402-without-card-error"),
    pytest.param(402, "not json", "processor_invalid_response", id="402-not-json"),
    pytest.param(404, '{"error": {"message": "No such payment_method"}}', "processor_invalid_request", id="404"),
    pytest.param(401, '{"error": {"message": "Invalid API key"}}', "processor_authentication_failed", id="401"),
    pytest.param(302, "", "processor_invalid_response", id="redirect"),
    pytest.param(200, json.dumps({"id": "pi_" + "x" * 300, "status": "succeeded"}), "processor_invalid_response",
                 id="overlong-id"),
    pytest.param(200, json.dumps({"id": "pi_x", "status": "requires_action",
                                  "next_action": {"redirect_to_url": {"url": "https://p.test/" + "a" * 3000}}}),
                 "processor_invalid_response", id="overlong-action-url"),
    pytest.param(200, json.dumps({"id": "pi_x", "status": "requires_action",
                                  "next_action": {"redirect_to_url": {"url": "javascript:alert(1)"}}}),
                 "processor_invalid_response", id="non-http-action-url"),
]


@pytest.mark.parametrize(("status", "body", "code"), GARBAGE)
def test_live_processor_garbage(live: Live, rsps: responses.RequestsMock, status: int, body: str | bytes,
                                code: str) -> None:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, status=status, body=body, content_type="application/json")
    response = live.post(f"/v1/invoices/{inv['id']}/pay")
    assert response.status_code == 200, response.get_json()
    _assert_open_with(live, response.get_json(), code)
    assert len(_intent_calls(rsps)) == 1  # an answer, however bad, is not retried


def test_live_overlong_decline_fields_are_an_outcome_not_a_500(live: Live, rsps: responses.RequestsMock) -> None:
    """A decline whose code, decline code or message do not fit still fails cleanly."""
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, status=402, json={"error": {
        "type": "card_error", "code": "card_declined_" + "c" * 200, "decline_code": "d" * 200,
        "message": "m" * 5000, "payment_intent": {"id": "pi_" + "i" * 300}}})
    response = live.post(f"/v1/invoices/{inv['id']}/pay")
    assert response.status_code == 200, response.get_json()
    declined = response.get_json()
    assert declined["status"] == "open" and declined["attempt_count"] == 1
    error = declined["last_payment_error"]
    assert len(error["code"]) <= 64 and (error["decline_code"] is None or len(error["decline_code"]) <= 64)
    assert 0 < len(error["message"]) <= 500
    assert live.ok("GET", f"/v1/payments/{error['payment']}")["status"] == "failed"
    assert live.collecting(inv["id"]) is None


def test_live_500_then_success_collects_exactly_once(live: Live, rsps: responses.RequestsMock,
                                                     sleeps: list[float]) -> None:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, status=500, json={"error": {"message": "internal"}})
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_9", "status": "succeeded"})
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert paid["status"] == "paid" and paid["attempt_count"] == 1 and paid["amount_paid"] == AMOUNT
    calls = _intent_calls(rsps)
    assert len(calls) == 2 and len(sleeps) == 1
    assert calls[0].request.headers["Idempotency-Key"] == calls[1].request.headers["Idempotency-Key"]
    assert [p["status"] for p in live.payments(inv["id"])] == ["completed"]
    assert len(live.events("payment.completed")) == 1 and len(live.events("invoice.paid")) == 1


def test_live_lost_response_is_resent_with_the_same_key(live: Live, rsps: responses.RequestsMock) -> None:
    """The processor charged but the answer was lost: the resend carries the same key, so it
    replays that charge instead of making a second one."""
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, body=requests.exceptions.ConnectionError("connection reset by peer"))
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_10", "status": "succeeded"})
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert paid["status"] == "paid"
    keys = [c.request.headers["Idempotency-Key"] for c in _intent_calls(rsps)]
    assert len(keys) == 2 and len(set(keys)) == 1
    assert [p["status"] for p in live.payments(inv["id"])] == ["completed"]


def test_live_tokenize_refuses_what_cannot_be_stored(sleeps: list[float], rsps: responses.RequestsMock) -> None:
    """A saved live card (hosted page) whose processor id or fingerprint would not fit is garbage."""
    processor = HttpProcessor(PROCESSOR_URL, PROCESSOR_KEY, sleep=sleeps.append)
    card = CardDetails(number="4242424242424242", exp_month=12, exp_year=2040, cvc="987")
    good = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2040, "fingerprint": "fp_1"}
    for body in ({"id": "pm_" + "x" * 200, "card": good}, {"id": "pm_1", "card": {**good, "fingerprint": "f" * 65}},
                 {"id": "pm 1; drop", "card": good}):
        rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json=body)
        with pytest.raises(ProcessorError) as caught:
            processor.tokenize(card, idempotency_key="vinr_pm_1")
        assert caught.value.code == "processor_invalid_response"
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json={"id": "pm_1", "card": good})
    assert processor.tokenize(card, idempotency_key="vinr_pm_1").processor_ref == "pm_1"


def _second_card(api: Live) -> str:
    pm = PaymentMethod(id=new_id("pm"), account_id=_account_of(api), livemode=True, created=clock.now(),
                       customer_id=api.customer_id, processor="http", processor_ref="pm_live_other",
                       brand="mastercard", last4="4444", exp_month=12, exp_year=2040,
                       fingerprint="fp_live_other", metadata_={})
    api.session.add(pm)
    api.session.flush()
    return pm.id


def _account_of(api: Live) -> str:
    return api.session.get(PaymentMethod, api.pm_id).account_id  # type: ignore[no-any-return]


def _lost_charge(api: Live, rsps: responses.RequestsMock) -> tuple[dict[str, Any], dict[str, Any]]:
    """An attempt whose every send got no answer: the card may have been charged."""
    inv = api.open_invoice()
    rsps.add(responses.POST, INTENTS, body=requests.exceptions.ReadTimeout("read timed out"))
    lost = api.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert lost["last_payment_error"]["code"] == "processor_unavailable"
    return inv, api.ok("GET", f"/v1/payments/{lost['last_payment_error']['payment']}")


@pytest.mark.parametrize("other_card", [False, True], ids=["same-card", "another-card"])
def test_a_charge_with_no_answer_is_asked_about_before_any_new_charge(live: Live, rsps: responses.RequestsMock,
                                                                      other_card: bool) -> None:
    """The first charge got no answer, and it did happen. The next /pay (even with another
    card, which a new key would charge for real) asks about that charge again first, with
    the same request, and records it: one charge, never a second one beside it."""
    inv, lost = _lost_charge(live, rsps)
    first = _intent_calls(rsps)[0].request
    rsps.replace(responses.POST, INTENTS, json={"id": "pi_live_20", "status": "succeeded"})
    body = {"payment_method": _second_card(live)} if other_card else {}
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", body)
    assert paid["status"] == "paid" and paid["amount_paid"] == AMOUNT and paid["last_payment_error"] is None
    completed = live.ok("GET", f"/v1/payments/{lost['id']}")
    assert (completed["failure_code"], completed["failure_message"]) == (None, None)
    asked = _intent_calls(rsps)[-1].request
    assert asked.headers["Idempotency-Key"] == first.headers["Idempotency-Key"] and asked.body == first.body
    assert b"pm_live_other" not in b"".join(c.request.body or b"" for c in _intent_calls(rsps))
    assert [(p["id"], p["status"]) for p in live.payments(inv["id"])] == [(lost["id"], "completed")]


def test_still_no_answer_means_no_new_charge(live: Live, rsps: responses.RequestsMock) -> None:
    inv, lost = _lost_charge(live, rsps)
    sent = len(_intent_calls(rsps))
    again = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert again["status"] == "open" and again["last_payment_error"]["code"] == "processor_unavailable"
    bodies = [c.request.body for c in _intent_calls(rsps)[sent:]]
    assert bodies and all(b"pm_live_other" not in body for body in bodies)  # only the first charge, asked again
    assert [p["id"] for p in live.payments(inv["id"])] == [lost["id"]]
    assert live.collecting(inv["id"]) is None


def test_a_clear_answer_about_the_lost_charge_lets_a_new_one_go_ahead(live: Live,
                                                                      rsps: responses.RequestsMock) -> None:
    inv, lost = _lost_charge(live, rsps)
    rsps.replace(responses.POST, INTENTS, status=402, json={"error": {
        "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.", "payment_intent": {"id": "pi_live_21"}}})
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_22", "status": "succeeded"})
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert paid["status"] == "paid"
    assert b"pm_live_other" in _intent_calls(rsps)[-1].request.body
    statuses = {p["id"]: p["status"] for p in live.payments(inv["id"])}
    assert statuses.pop(lost["id"]) == "failed" and list(statuses.values()) == ["completed"]
    # The lost attempt is announced twice: failed without an answer, then clearly declined.
    assert live.ok("GET", f"/v1/payments/{lost['id']}")["failure_code"] == "card_declined"
    assert len(live.events("payment.failed")) == 2 and paid["attempt_count"] == 2


def test_a_reask_that_gets_no_clear_answer_keeps_the_attempt_unknown(live: Live,
                                                                     rsps: responses.RequestsMock) -> None:
    """The processor answers the question with an error of its own (here: the first request
    with that key is still running): no clear answer, so nothing new is charged, the
    attempt is asked about again next time, and it is not counted or announced twice."""
    inv, lost = _lost_charge(live, rsps)
    rsps.replace(responses.POST, INTENTS, status=409, json={"error": {
        "type": "idempotency_error", "message": "A request with this key is in progress."}})
    other = _second_card(live)
    again = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": other})
    assert again["status"] == "open" and again["attempt_count"] == 1
    assert again["last_payment_error"]["code"] == "processor_unavailable"
    assert "still not said" in again["last_payment_error"]["message"]
    assert all(b"pm_live_other" not in (c.request.body or b"") for c in _intent_calls(rsps))
    assert len(live.events("payment.failed")) == 1 and len(live.events("invoice.payment_failed")) == 1
    rsps.replace(responses.POST, INTENTS, json={"id": "pi_live_23", "status": "succeeded"})
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": other})
    assert paid["status"] == "paid" and [p["id"] for p in live.payments(inv["id"])] == [lost["id"]]


def test_an_attempt_too_old_to_ask_about_needs_a_person(live: Live, rsps: responses.RequestsMock,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A day later the processor has forgotten the key: asking again would be a new charge
    on the old card. /pay charges nothing, counts no attempt and says what to do (200 with
    the invoice, as /pay always answers); the merchant can record the payment out of band."""
    inv, lost = _lost_charge(live, rsps)
    sent = len(rsps.calls)
    monkeypatch.setattr(clock, "now", lambda real=clock.now: real() + 24 * 3600)
    refused = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert (refused["status"], refused["attempt_count"]) == ("open", 1)
    error = refused["last_payment_error"]
    assert error["code"] == "payment_outcome_unknown" and error["payment"] == lost["id"]
    assert lost["id"] in error["message"] and "paid out of band" in error["message"] and len(rsps.calls) == sent
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True})
    assert paid["status"] == "paid"


def test_a_lost_charge_that_now_wants_3ds_does_not_stop_a_new_charge(live: Live,
                                                                     rsps: responses.RequestsMock) -> None:
    """Asked again, the processor says the lost off-session charge wants 3DS: that charge
    moves no money unless we confirm it (we confirm only while the invoice is payable), so
    the merchant's /pay with another card goes ahead, and is the only charge."""
    inv, lost = _lost_charge(live, rsps)
    rsps.replace(responses.POST, INTENTS, json={
        "id": "pi_live_24", "status": "requires_action",
        "next_action": {"redirect_to_url": {"url": "https://bank.example/3ds"}}})
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_25", "status": "succeeded"})
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert paid["status"] == "paid" and b"pm_live_other" in _intent_calls(rsps)[-1].request.body
    statuses = {p["id"]: p["status"] for p in live.payments(inv["id"])}
    assert statuses.pop(lost["id"]) == "requires_action" and list(statuses.values()) == ["completed"]


def test_a_timeout_then_a_refusal_on_the_first_charge_is_no_clear_answer(live: Live,
                                                                         rsps: responses.RequestsMock) -> None:
    """The first send timed out (it may have charged); the resend was refused (409: the first
    is still running). That is no answer about the charge: the next /pay, even with another
    card, asks about it first, and it did go through."""
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.add(responses.POST, INTENTS, status=409, json={"error": {"type": "idempotency_error", "message": "busy"}})
    first = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert first["last_payment_error"]["code"] == "processor_unavailable"
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_30", "status": "succeeded"})
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert paid["status"] == "paid" and paid["payment"] == first["last_payment_error"]["payment"]
    assert all(b"pm_live_other" not in (c.request.body or b"") for c in _intent_calls(rsps))


def test_a_reask_whose_process_died_is_finished_as_the_same_attempt(live: Live,
                                                                    rsps: responses.RequestsMock) -> None:
    """The process asking again (flow.ask_about_unknown) died while it held the invoice; the next /pay
    finishes that question (a stale claim): not a new attempt, no new failure events, and a
    refusal is still no answer, so the other card is not charged next."""
    inv, lost = _lost_charge(live, rsps)
    live.session.execute(sa.update(Payment).where(Payment.id == lost["id"]).values(
        updated=clock.now() - 600))  # still unknown: the question was under way
    live.session.execute(sa.update(Invoice).where(Invoice.id == inv["id"]).values(
        collecting_payment_id=lost["id"], version=Invoice.version + 1))
    live.session.flush()
    rsps.replace(responses.POST, INTENTS, status=400, json={"error": {
        "type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same "
                                               "parameters"}})
    after = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert after["attempt_count"] == 1 and after["last_payment_error"]["code"] == "processor_unavailable"
    assert len(live.events("payment.failed")) == 1 and len(live.events("invoice.payment_failed")) == 1
    again = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert again["status"] == "open"
    assert all(b"pm_live_other" not in (c.request.body or b"") for c in _intent_calls(rsps))


def test_asking_again_and_finding_3ds_announces_only_that(live: Live, rsps: responses.RequestsMock) -> None:
    inv, lost = _lost_charge(live, rsps)
    rsps.replace(responses.POST, INTENTS, json={
        "id": "pi_live_31", "status": "requires_action",
        "next_action": {"redirect_to_url": {"url": "https://bank.example/3ds"}}})
    rsps.add(responses.POST, INTENTS, status=402, json={"error": {
        "type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "no"}})
    out = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert out["attempt_count"] == 2  # the lost one, and the declined new one
    counts = {t: len(live.events(t)) for t in ("payment.failed", "invoice.payment_failed",
                                               "invoice.payment_action_required")}
    assert counts == {"payment.failed": 2, "invoice.payment_failed": 2, "invoice.payment_action_required": 1}


def test_an_attempt_is_asked_about_for_23_hours_and_then_announced_once(live: Live, rsps: responses.RequestsMock,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    inv, lost = _lost_charge(live, rsps)
    sent = len(_intent_calls(rsps))
    monkeypatch.setattr(clock, "now", lambda real=clock.now: real() + 22 * 3600)
    live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert len(_intent_calls(rsps)) > sent  # still asked
    monkeypatch.setattr(clock, "now", lambda real=clock.now: real() + 24 * 3600)
    sent, updates = len(_intent_calls(rsps)), len(live.events("invoice.updated"))
    for _ in range(2):
        out = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
        assert out["last_payment_error"]["code"] == "payment_outcome_unknown"
    assert len(_intent_calls(rsps)) == sent and len(live.events("invoice.updated")) == updates + 1


def test_a_lasting_refusal_after_a_timeout_is_a_clear_failure(live: Live, rsps: responses.RequestsMock) -> None:
    """A processor replays its first answer to a key: a refusal of the resend (the card was
    removed at the processor) is the answer about the charge, so another card may be
    charged next, and is."""
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, status=503, body="busy")
    rsps.add(responses.POST, INTENTS, status=400, json={"error": {
        "type": "invalid_request_error", "message": "No such PaymentMethod: 'pm_live_123'"}})
    first = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert first["last_payment_error"]["code"] == "processor_invalid_request"
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_32", "status": "succeeded"})
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert paid["status"] == "paid" and b"pm_live_other" in _intent_calls(rsps)[-1].request.body


def test_a_rate_limited_question_about_a_lost_charge_is_no_answer(live: Live, rsps: responses.RequestsMock) -> None:
    """Asked again, the processor says "too many requests": it did not look at the question,
    so the lost charge is still unknown and the other card is not charged."""
    inv, lost = _lost_charge(live, rsps)
    rsps.replace(responses.POST, INTENTS, status=429, json={"error": {"type": "rate_limit_error", "message": "slow"}})
    out = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert out["status"] == "open" and out["last_payment_error"]["code"] == "processor_unavailable"
    assert all(b"pm_live_other" not in (c.request.body or b"") for c in _intent_calls(rsps))
    assert [p["id"] for p in live.payments(inv["id"])] == [lost["id"]]


def _answers(rsps: responses.RequestsMock, url: str, outcomes: list[Any]) -> list[Any]:
    """Answer each POST to ``url`` with the next outcome: an exception (raised), or (status, body)."""
    sent: list[Any] = []

    def answer(request: Any) -> Any:
        sent.append(request)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome[0], {}, json.dumps(outcome[1])

    rsps.add_callback(responses.POST, url, callback=answer, content_type="application/json")
    return sent


NO_ANSWER = [requests.exceptions.ReadTimeout("read timed out")] * 4  # a send and its three resends
DECLINE = (402, {"error": {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                           "message": "Your card was declined."}})


def test_an_attempt_without_an_answer_made_meanwhile_stops_this_charge(
        live: Live, rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> None:
    """This /pay asked about the lost attempt (declined) and is about to charge; meanwhile
    another /pay made an attempt that got no answer either. This charge must not go ahead
    beside it: 409 payment_in_progress, and the other card is never sent."""
    sent = _answers(rsps, INTENTS, [*NO_ANSWER, DECLINE, *NO_ANSWER])
    inv = live.open_invoice()
    live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    real = flow.ask_about_unknown
    meanwhile: list[dict[str, Any]] = []

    def settle_then_another_pay(session: Any, invoice: Any, processor: Any) -> Any:
        answer = real(session, invoice, processor)
        if not meanwhile:
            meanwhile.append({})  # the other /pay goes through here too: once only
            meanwhile[0] = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
        return answer

    monkeypatch.setattr(flow, "ask_about_unknown", settle_then_another_pay)
    refused = live.post(f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "payment_in_progress"
    assert meanwhile[0]["last_payment_error"]["code"] == "processor_unavailable"
    assert all(b"pm_live_other" not in (request.body or b"") for request in sent)


@pytest.mark.parametrize("body", [
    pytest.param("[" * 100_000 + "]" * 100_000, id="nested-too-deep"),
    pytest.param(json.dumps({"id": "pi_x", "status": "requires_action",
                             "next_action": {"redirect_to_url": {"url": "http://[bad"}}}), id="unparsable-url"),
    pytest.param('{"id": "pi_x", "status": "succeeded", "n": 1' + "0" * 5000 + "}", id="integer-too-long"),
])
def test_garbage_the_json_parser_chokes_on_is_an_invalid_response(live: Live, rsps: responses.RequestsMock,
                                                                  body: str) -> None:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, status=200, body=body, content_type="application/json")
    response = live.post(f"/v1/invoices/{inv['id']}/pay")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    _assert_open_with(live, response.get_json(), "processor_invalid_response")


@pytest.mark.parametrize("text", ["\\ud800", "\\u0000"], ids=["half-surrogate", "nul"])
def test_a_decline_message_no_database_can_store_is_cleaned(live: Live, rsps: responses.RequestsMock,
                                                            text: str) -> None:
    """A processor's decline message with half a surrogate pair (or a NUL, which PostgreSQL
    refuses) failed the outcome's write: a 500, and the invoice held for good."""
    inv = live.open_invoice()
    body = '{"error": {"type": "card_error", "code": "card_declined", "message": "Declined ' + text + ' here"}}'
    rsps.add(responses.POST, INTENTS, status=402, body=body, content_type="application/json")
    response = live.post(f"/v1/invoices/{inv['id']}/pay")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    _assert_open_with(live, response.get_json(), "card_declined")
    assert response.get_json()["last_payment_error"]["message"].startswith("Declined")


def test_two_unanswered_attempts_are_each_asked_about(live: Live, rsps: responses.RequestsMock) -> None:
    """Two attempts without an answer (only older data can hold two): asking about one is not
    held up by the other, and each is asked in turn; the second was charged."""
    inv, first = _lost_charge(live, rsps)
    second_id = new_id("pay")
    live.session.add(Payment(
        id=second_id, account_id=_account_of(live), livemode=True, created=clock.now(), updated=clock.now(),
        invoice_id=inv["id"], customer_id=live.customer_id, payment_method_id=live.pm_id, amount=AMOUNT,
        currency="eur", status="unknown", off_session=True, processor="http", failure_code="processor_unavailable"))
    live.session.flush()
    rsps.remove(responses.POST, INTENTS)  # the lost charge's timeouts: the processor answers now
    sent = _answers(rsps, INTENTS, [DECLINE, (200, {"id": "pi_live_40", "status": "succeeded"})])
    paid = live.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": _second_card(live)})
    assert paid["status"] == "paid" and paid["payment"] == second_id
    assert [r.headers["Idempotency-Key"] for r in sent] == [f"vinr_{first['id']}", f"vinr_{second_id}"]


def _calls(session: Any, invoice_id: str) -> list[tuple[CallKind, str, CallOutcome]]:
    rows = session.scalars(sa.select(ProcessorCall).where(ProcessorCall.invoice_id == invoice_id)
                           .order_by(ProcessorCall.id))
    return [(row.kind, row.idempotency_key, row.outcome) for row in rows]


def test_a_charge_without_an_answer_is_unknown_inside_and_failed_outside(live: Live,
                                                                        rsps: responses.RequestsMock) -> None:
    inv, lost = _lost_charge(live, rsps)
    assert lost["status"] == "failed" and lost["failure_code"] == "processor_unavailable"
    assert live.session.get(Payment, lost["id"]).status is PaymentStatus.UNKNOWN
    assert _calls(live.session, inv["id"]) == [(CallKind.CHARGE, f"vinr_{lost['id']}", CallOutcome.NO_ANSWER)]
    assert not states.was_charged(live.session, inv["id"])
    assert [p.id for p in states.unknown_attempts(live.session, inv["id"])] == [lost["id"]]
