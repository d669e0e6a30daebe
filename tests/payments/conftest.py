"""Fixtures for the processor tests: the sandbox, and a fake stripe-like API.

The fake mirrors the sandbox's test-card table (by payment_method id), so the
contract test can hold both processors to the same expectations. No test
reaches the network: ``responses`` intercepts every ``requests`` call.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses

from app.payments.processor import TEST_CARDS, HttpProcessor, SandboxProcessor

FINGERPRINT_KEY = b"test-fingerprint-key"
API_BASE = "https://processor.test"
API_KEY = "sk_live_fake_0123456789"

Reply = tuple[int, dict[str, Any]]

# failure code, decline code, message: what the fake answers with HTTP 402.
_DECLINES = {
    "generic_decline": ("card_declined", "generic_decline", "Your card was declined."),
    "insufficient_funds": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "expired_card": ("expired_card", "expired_card", "Your card has expired."),
    "incorrect_cvc": ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    "processing_error": ("processing_error", None, "An error occurred while processing your card."),
}


def challenge_url(processor_id: str) -> str:
    return f"https://vinr.test/challenge/{processor_id}"


@pytest.fixture
def sandbox() -> SandboxProcessor:
    return SandboxProcessor(FINGERPRINT_KEY, action_url_builder=challenge_url)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A ``responses`` mock; every registered response must be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    """Delays the HTTP processor asked for: recorded, never slept."""
    return []


@pytest.fixture
def http_processor(sleeps: list[float]) -> HttpProcessor:
    return HttpProcessor(API_BASE, API_KEY, sleep=sleeps.append)


class FakeProcessorAPI:
    """A small stripe-like API behind ``responses`` callbacks.

    It checks the bearer key, requires an Idempotency-Key and replays the
    stored answer for a key it has seen (as the real API does), which is what
    makes a retry after a lost response safe. ``lose_responses`` makes the
    next N requests be processed and then fail with a connection error, as
    if the answer were lost on the way back.
    """

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.requests: list[requests.PreparedRequest] = []
        self.processed = 0  # requests that changed state (not replays)
        self.lose_responses = 0
        self._replies: dict[tuple[str, str], Reply] = {}
        self._methods: dict[str, str] = {}  # pm id -> scenario
        self._intents: dict[str, str] = {}  # pi id -> scenario
        self._ids = itertools.count(1)
        routes: list[tuple[str, Callable[[dict[str, Any], re.Match[str]], Reply]]] = [
            (r"/v1/payment_methods", self._create_method),
            (r"/v1/payment_intents", self._create_intent),
            (r"/v1/payment_intents/(?P<id>[^/]+)/confirm", self._confirm_intent),
            (r"/v1/refunds", self._create_refund),
        ]
        for path, handler in routes:
            mock.add_callback(
                responses.POST,
                re.compile(re.escape(API_BASE) + path + "$"),
                callback=self._endpoint(handler, re.compile(path + "$")),
                content_type="application/json",
            )

    def _endpoint(
        self, handler: Callable[[dict[str, Any], re.Match[str]], Reply], path: re.Pattern[str]
    ) -> Callable[[requests.PreparedRequest], Any]:
        def callback(request: requests.PreparedRequest) -> Any:
            self.requests.append(request)
            if request.headers.get("Authorization") != f"Bearer {API_KEY}":
                return _reply(
                    401, {"error": {"type": "invalid_request_error", "message": "Invalid API key."}}
                )
            key = request.headers.get("Idempotency-Key")
            if not key:
                return _reply(400, {"error": {"type": "invalid_request_error", "message": "No key."}})
            url_path = request.path_url
            seen = (url_path, key)
            if seen not in self._replies:
                match = path.search(url_path)
                assert match is not None
                self._replies[seen] = handler(json.loads(request.body or b"{}"), match)
                self.processed += 1
            if self.lose_responses:
                self.lose_responses -= 1
                return requests.exceptions.ConnectionError("connection reset by peer")
            return _reply(*self._replies[seen])

        return callback

    def _create_method(self, body: dict[str, Any], match: re.Match[str]) -> Reply:
        card = body["card"]
        entry = TEST_CARDS.get(card["number"])
        if entry is None:
            return 402, {"error": _card_error("card_declined", "generic_decline", "Your card was declined.")}
        brand, scenario = entry
        pm_id = f"pm_{next(self._ids):04d}"
        self._methods[pm_id] = scenario
        return 200, {
            "id": pm_id,
            "object": "payment_method",
            "card": {
                "brand": brand,
                "last4": card["number"][-4:],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "fingerprint": hashlib.sha256(card["number"].encode()).hexdigest()[:16],
            },
        }

    def _create_intent(self, body: dict[str, Any], match: re.Match[str]) -> Reply:
        scenario = self._methods.get(body["payment_method"])
        if scenario is None:
            return 404, {"error": {"type": "invalid_request_error", "message": "No such payment_method."}}
        pi_id = f"pi_{next(self._ids):04d}"
        self._intents[pi_id] = scenario
        intent = {"id": pi_id, "object": "payment_intent", "amount": body["amount"]}
        if scenario in ("success", "refund_fails"):
            return 200, {**intent, "status": "succeeded"}
        if scenario == "threeds" and body["off_session"]:
            error = _card_error("authentication_required", "authentication_required", "Needs 3DS.")
            return 402, {
                "error": {**error, "payment_intent": {**intent, "status": "requires_payment_method"}}
            }
        if scenario == "threeds":
            url = f"{API_BASE}/3ds/{pi_id}"
            return 200, {
                **intent,
                "status": "requires_action",
                "next_action": {"redirect_to_url": {"url": url}},
            }
        error = _card_error(*_DECLINES[scenario])
        return 402, {"error": {**error, "payment_intent": {**intent, "status": "requires_payment_method"}}}

    def _confirm_intent(self, body: dict[str, Any], match: re.Match[str]) -> Reply:
        pi_id = match["id"]
        if self._intents.get(pi_id) != "threeds":
            return 400, {"error": {"type": "invalid_request_error", "message": "Nothing to confirm."}}
        # The customer passed the challenge on the processor's own page.
        return 200, {"id": pi_id, "object": "payment_intent", "status": "succeeded"}


    def _create_refund(self, body: dict[str, Any], match: re.Match[str]) -> Reply:
        scenario = self._intents.get(body["payment_intent"])
        if scenario is None:
            return 404, {"error": {"type": "invalid_request_error", "message": "No such payment_intent."}}
        refund = {"id": f"re_{next(self._ids):04d}", "object": "refund", "amount": body["amount"]}
        if scenario == "refund_fails":
            return 200, {**refund, "status": "failed", "failure_reason": "expired_or_canceled_card"}
        return 200, {**refund, "status": "succeeded"}


def _card_error(code: str, decline_code: str | None, message: str) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "card_error", "code": code, "message": message}
    if decline_code is not None:
        error["decline_code"] = decline_code
    return error


def _reply(status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    return status, {}, json.dumps(body)


@pytest.fixture
def fake_api() -> Iterator[FakeProcessorAPI]:
    # Not every test uses every route, so unfired routes are fine here.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeProcessorAPI(mock)


@pytest.fixture(params=["sandbox", "http"])
def processor(request: pytest.FixtureRequest) -> SandboxProcessor | HttpProcessor:
    """Each processor implementation in turn, the HTTP one against the fake API."""
    if request.param == "sandbox":
        return SandboxProcessor(FINGERPRINT_KEY, action_url_builder=challenge_url)
    request.getfixturevalue("fake_api")
    return HttpProcessor(API_BASE, API_KEY, sleep=lambda seconds: None)
