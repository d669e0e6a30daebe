"""The hosted page in live mode, against the stripe-like processor mocked with
`responses`: 3DS through the processor's own page, and a processor that fails."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
import responses

from app import clock
from app.payments import flow
from tests.conftest import PROCESSOR_URL
from tests.payments.test_live_collection import DECLINE, NO_ANSWER, _answers
from tests.portal.conftest import Hosted

CARD = {"id": "pm_live_9", "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2040,
                                    "fingerprint": "fp_live_9"}}
BANK = "https://bank.example/3ds/abc"


@pytest.fixture()
def rsps() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match
    return match[1]


def test_live_3ds_goes_through_the_processors_page_and_finishes_here(live_hosted: Hosted,
                                                                      rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json=CARD)
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_intents", json={
        "id": "pi_live_1", "status": "requires_action", "next_action": {"redirect_to_url": {"url": BANK}}})
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_intents/pi_live_1/confirm",
             json={"id": "pi_live_1", "status": "succeeded"})
    response = live_hosted.pay()
    # Our own page first (a redirect to another origin after a POST would break
    # CSP form-action), with the processor's page as a link and the way back.
    assert response.status_code == 303 and response.headers["Location"].startswith(live_hosted.path)
    intent = rsps.calls[1].request
    assert b"/authenticate/pay_" in intent.body  # the return_url brings the customer back here
    page = live_hosted.client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert f'href="{BANK}"' in html and "Continue to your bank" in html and "Finish" in html
    assert live_hosted.refreshed()["attempt_count"] == 0  # waiting for the customer is not a failure
    done = live_hosted.client.post(response.headers["Location"], data={"csrf_token": csrf_of(html), "complete": "1"})
    assert done.status_code == 303
    inv = live_hosted.refreshed()
    assert inv["status"] == "paid" and inv["attempt_count"] == 1


def test_live_card_update_with_3ds(live_hosted: Hosted, rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json=CARD)
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/setup_intents", json={
        "id": "seti_live_1", "status": "requires_action", "next_action": {"redirect_to_url": {"url": BANK}}})
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/setup_intents/seti_live_1/confirm",
             json={"id": "seti_live_1", "status": "succeeded"})
    form = live_hosted.page("/payment-method").get_data(as_text=True)
    response = live_hosted.client.post(live_hosted.path + "/payment-method", data={
        "csrf_token": csrf_of(form), "card_number": "4242424242424242", "expiry": "12/40", "cvc": "123",
        "name": "Buyer"})
    assert response.status_code == 303 and "/payment-method/authenticate/" in response.headers["Location"]
    html = live_hosted.client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'href="{BANK}"' in html
    done = live_hosted.client.post(response.headers["Location"], data={"csrf_token": csrf_of(html), "complete": "1"})
    assert done.status_code == 303
    customer = live_hosted.api.ok("GET", f"/v1/customers/{live_hosted.invoice['customer']}")
    assert customer["invoice_settings"]["default_payment_method"] is not None


@pytest.mark.parametrize("path", ["/pay", "/payment-method"])
def test_a_processor_that_is_down_is_a_message_not_a_500(live_hosted: Hosted, rsps: responses.RequestsMock,
                                                         path: str) -> None:
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", status=503, body="down")
    form_path = "" if path == "/pay" else "/payment-method"
    csrf = csrf_of(live_hosted.page(form_path).get_data(as_text=True))
    response = live_hosted.client.post(live_hosted.path + path, data={
        "csrf_token": csrf, "method": "new", "card_number": "4242424242424242", "expiry": "12/40", "cvc": "123",
        "name": "Buyer"})
    html = live_hosted.landed(response).get_data(as_text=True)
    assert "could not process your card" in html and 'role="alert"' in html
    assert live_hosted.refreshed()["status"] == "open"


def test_a_lost_confirmation_is_asked_about_again_before_another_card_is_charged(
        live_hosted: Hosted, rsps: responses.RequestsMock) -> None:
    """The customer passed 3DS, but the processor's answer to our confirmation was lost: the
    page says so without claiming nothing was charged, and when the customer then pays with
    another card, the confirmation is asked about again (same key) first: it went through,
    so the invoice is paid and the other card is never charged."""
    confirm = f"{PROCESSOR_URL}/v1/payment_intents/pi_live_5/confirm"
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json=CARD)
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_intents", json={
        "id": "pi_live_5", "status": "requires_action", "next_action": {"redirect_to_url": {"url": BANK}}})
    rsps.add(responses.POST, confirm, body=requests.exceptions.ReadTimeout("read timed out"))
    challenge = live_hosted.pay().headers["Location"]
    html = live_hosted.client.get(challenge).get_data(as_text=True)
    lost = live_hosted.client.post(challenge, data={"csrf_token": csrf_of(html), "complete": "1"})
    alert = live_hosted.landed(lost).get_data(as_text=True).split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert "did not get an answer" in alert and "Nothing was charged" not in alert
    first_confirm = [c.request for c in rsps.calls if c.request.url == confirm][0]

    rsps.replace(responses.POST, confirm, json={"id": "pi_live_5", "status": "succeeded"})
    rsps.replace(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json={**CARD, "id": "pm_live_other"})
    paid = live_hosted.pay("5555555555554444")
    assert paid.status_code == 303 and live_hosted.refreshed()["status"] == "paid"
    asked = [c.request for c in rsps.calls if c.request.url == confirm][-1]
    assert asked.headers["Idempotency-Key"] == first_confirm.headers["Idempotency-Key"]
    intents = [c.request for c in rsps.calls if c.request.url == f"{PROCESSOR_URL}/v1/payment_intents"]
    assert len(intents) == 1 and b"pm_live_other" not in intents[0].body
    payments = live_hosted.api.ok("GET", "/v1/payments", query_string={"invoice": live_hosted.invoice["id"]})
    assert [p["status"] for p in payments["data"]] == ["completed"]


def test_an_earlier_payment_nobody_can_confirm_is_explained_not_charged_beside(
        live_hosted: Hosted, rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> None:
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json=CARD)
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_intents", body=requests.exceptions.ReadTimeout("timed out"))
    lost = live_hosted.pay()
    assert "did not get an answer" in live_hosted.landed(lost).get_data(as_text=True)
    sent = len([c for c in rsps.calls if c.request.url.endswith("/v1/payment_intents")])
    monkeypatch.setattr(clock, "now", lambda real=clock.now: real() + 24 * 3600)
    refused = live_hosted.pay()
    html = live_hosted.landed(refused).get_data(as_text=True)
    alert = html.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert "an earlier payment has not been confirmed" in alert
    assert len([c for c in rsps.calls if c.request.url.endswith("/v1/payment_intents")]) == sent
    assert live_hosted.refreshed()["status"] == "open"


INTENTS = f"{PROCESSOR_URL}/v1/payment_intents"


def _waiting_for_3ds(hosted: Hosted, rsps: responses.RequestsMock) -> tuple[str, str]:
    """The customer's payment waits for 3DS; returns its challenge page and the saved card."""
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json=CARD)
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_1", "status": "requires_action",
                                            "next_action": {"redirect_to_url": {"url": BANK}}})
    challenge = hosted.pay().headers["Location"]
    cards = hosted.api.ok("GET", f"/v1/customers/{hosted.invoice['customer']}/payment_methods")["data"]
    return challenge, cards[0]["id"]


def _answer(hosted: Hosted, challenge: str) -> Any:
    html = hosted.client.get(challenge).get_data(as_text=True)
    return hosted.client.post(challenge, data={"csrf_token": csrf_of(html), "complete": "1"})


@pytest.mark.parametrize("then", ["still-no-answer", "declined"])
def test_a_challenge_is_not_confirmed_beside_a_charge_that_may_have_happened(
        live_hosted: Hosted, rsps: responses.RequestsMock, then: str) -> None:
    """While the customer's payment waits for 3DS, the merchant's /pay on the same card gets
    no answer (it may have charged). Completing the challenge first asks about that charge:
    with still no answer nothing is confirmed; once it is clearly declined, the customer's
    payment goes through."""
    challenge, card = _waiting_for_3ds(live_hosted, rsps)
    rsps.replace(responses.POST, INTENTS, body=requests.exceptions.ReadTimeout("read timed out"))
    live_hosted.api.ok("POST", f"/v1/invoices/{live_hosted.invoice['id']}/pay", {"payment_method": card})
    confirm = f"{INTENTS}/pi_live_1/confirm"
    if then == "declined":
        rsps.replace(responses.POST, INTENTS, status=402, json={"error": {
            "type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "no"}})
        rsps.add(responses.POST, confirm, json={"id": "pi_live_1", "status": "succeeded"})
    done = _answer(live_hosted, challenge)
    confirmed = [c for c in rsps.calls if c.request.url == confirm]
    if then == "declined":
        assert done.status_code == 303 and live_hosted.refreshed()["status"] == "paid" and len(confirmed) == 1
    else:
        assert "did not get an answer" in live_hosted.landed(done).get_data(as_text=True)
        assert confirmed == [] and live_hosted.refreshed()["status"] == "open"


def test_a_lost_confirmation_stops_the_merchants_charge(live_hosted: Hosted, rsps: responses.RequestsMock) -> None:
    """The customer's 3DS confirmation got no answer (it may have gone through). The
    merchant's /pay on the same card asks about the confirmation again first and, with still
    no answer, charges nothing: two attempts without an answer never exist side by side."""
    challenge, card = _waiting_for_3ds(live_hosted, rsps)
    confirm = f"{INTENTS}/pi_live_1/confirm"
    rsps.add(responses.POST, confirm, body=requests.exceptions.ReadTimeout("read timed out"))
    _answer(live_hosted, challenge)
    asked = len([c for c in rsps.calls if c.request.url == confirm])
    out = live_hosted.api.ok("POST", f"/v1/invoices/{live_hosted.invoice['id']}/pay", {"payment_method": card})
    assert out["status"] == "open" and out["last_payment_error"]["code"] == "processor_unavailable"
    assert len([c for c in rsps.calls if c.request.url == confirm]) > asked
    assert len([c for c in rsps.calls if c.request.url == INTENTS]) == 1  # only the customer's own charge
    payments = live_hosted.api.ok("GET", "/v1/payments", query_string={"invoice": live_hosted.invoice["id"]})
    assert [p["status"] for p in payments["data"]] == ["failed"]


def test_a_lost_charge_that_turns_out_to_wait_for_3ds_is_not_counted_as_a_failure(
        live_hosted: Hosted, rsps: responses.RequestsMock) -> None:
    """The customer's charge got no answer; asked again, it waits for 3DS. It is then an
    attempt still open (not a failure, counted once it is confirmed, if ever), and the
    customer's new card is charged."""
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json=CARD)
    rsps.add(responses.POST, INTENTS, body=requests.exceptions.ReadTimeout("read timed out"))
    assert "did not get an answer" in live_hosted.landed(live_hosted.pay()).get_data(as_text=True)
    first = live_hosted.refreshed()["last_payment_error"]["payment"]
    rsps.replace(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json={**CARD, "id": "pm_live_other"})
    rsps.replace(responses.POST, INTENTS, json={"id": "pi_live_7", "status": "requires_action",
                                                "next_action": {"redirect_to_url": {"url": BANK}}})
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_8", "status": "succeeded"})
    assert live_hosted.pay("5555555555554444").status_code == 303
    inv = live_hosted.refreshed()
    assert (inv["status"], inv["attempt_count"]) == ("paid", 1)
    waiting = live_hosted.api.ok("GET", f"/v1/payments/{first}")
    assert (waiting["status"], waiting["failure_code"]) == ("requires_action", None)


def test_a_bank_that_asks_again_sends_the_customer_back_to_the_challenge(
        live_hosted: Hosted, rsps: responses.RequestsMock) -> None:
    challenge, _card = _waiting_for_3ds(live_hosted, rsps)
    rsps.add(responses.POST, f"{INTENTS}/pi_live_1/confirm", json={
        "id": "pi_live_1", "status": "requires_action", "next_action": {"redirect_to_url": {"url": BANK}}})
    again = _answer(live_hosted, challenge)
    assert again.status_code == 303 and again.headers["Location"].endswith(challenge)
    assert "Continue to your bank" in live_hosted.client.get(challenge).get_data(as_text=True)
    assert live_hosted.refreshed()["status"] == "open"


def test_a_confirmation_waits_for_an_attempt_made_while_it_was_cleared(
        live_hosted: Hosted, rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The customer's answer asked about the merchant's lost charge (declined); before it
    confirms, the merchant's next /pay gets no answer either. The confirmation must not go
    through beside that charge: the customer is told a payment is under way."""
    rsps.add(responses.POST, f"{PROCESSOR_URL}/v1/payment_methods", json=CARD)
    _answers(rsps, INTENTS, [(200, {"id": "pi_live_1", "status": "requires_action",
                                    "next_action": {"redirect_to_url": {"url": BANK}}}),
                             *NO_ANSWER, DECLINE, *NO_ANSWER])
    challenge = live_hosted.pay().headers["Location"]
    card = live_hosted.api.ok("GET", f"/v1/customers/{live_hosted.invoice['customer']}/payment_methods")
    pay = f"/v1/invoices/{live_hosted.invoice['id']}/pay"
    live_hosted.api.ok("POST", pay, {"payment_method": card["data"][0]["id"]})
    real = flow.settle
    meanwhile: list[Any] = []

    def clear_then_the_merchant_pays(session: Any, invoice: Any, processor: Any) -> Any:
        stopped = real(session, invoice, processor)
        if not meanwhile:
            meanwhile.append(None)  # once only
            meanwhile[0] = live_hosted.api.ok("POST", pay, {"payment_method": card["data"][0]["id"]})
        return stopped

    monkeypatch.setattr(flow, "settle", clear_then_the_merchant_pays)
    done = _answer(live_hosted, challenge)
    assert done.status_code == 303 and done.headers["Location"].endswith(live_hosted.path)
    assert "already under way" in live_hosted.client.get(done.headers["Location"]).get_data(as_text=True)
    assert not [c for c in rsps.calls if c.request.url.endswith("/confirm")]
    assert live_hosted.refreshed()["status"] == "open"
