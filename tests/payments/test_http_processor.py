"""The live-mode HTTP processor against a mocked stripe-like API (SPEC §6).

``responses`` answers every request; a test fails if a registered answer was
not used (the ``rsps`` fixture) or a request had no answer.
"""

from __future__ import annotations

import json

import pytest
import requests
import responses
from responses import matchers

from app.errors import CardError
from app.payments.processor import (
    CardDetails,
    ChargeRequest,
    ChargeStatus,
    ConfirmRequest,
    HttpProcessor,
    Processor,
    ProcessorError,
    RefundRequest,
    RefundResultStatus,
)

BASE = "https://processor.test"
KEY = "sk_live_fake_0123456789"
METHODS = f"{BASE}/v1/payment_methods"
INTENTS = f"{BASE}/v1/payment_intents"
PAN = "4242424242424242"
CVC = "987"

CARD = CardDetails(number=PAN, exp_month=12, exp_year=2030, cvc=CVC)
CHARGE = ChargeRequest(
    amount=1999,
    currency="eur",
    processor_ref="pm_123",
    idempotency_key="inv_1:attempt:1",
    off_session=True,
)
SUCCEEDED = {"id": "pi_1", "object": "payment_intent", "status": "succeeded"}
DECLINE_402 = {
    "error": {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
        "payment_intent": {"id": "pi_2", "status": "requires_payment_method"},
    }
}


def _body(call: responses.Call) -> dict[str, object]:
    return json.loads(call.request.body or b"{}")


def test_is_a_processor(http_processor: HttpProcessor) -> None:
    assert isinstance(http_processor, Processor)
    assert http_processor.name == "http"


def test_tokenize(rsps: responses.RequestsMock, http_processor: HttpProcessor) -> None:
    rsps.post(
        METHODS,
        json={
            "id": "pm_123",
            "card": {
                "brand": "Visa",
                "last4": "4242",
                "exp_month": 12,
                "exp_year": 2030,
                "fingerprint": "fp_1",
            },
        },
        match=[matchers.request_kwargs_matcher({"timeout": 10.0})],
    )

    token = http_processor.tokenize(CARD, idempotency_key="pm-save-1")

    assert (token.processor_ref, token.brand, token.last4) == ("pm_123", "visa", "4242")
    assert (token.exp_month, token.exp_year, token.fingerprint) == (12, 2030, "fp_1")
    request = rsps.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Idempotency-Key"] == "pm-save-1"
    assert _body(rsps.calls[0]) == {
        "type": "card",
        "card": {"number": PAN, "exp_month": 12, "exp_year": 2030, "cvc": CVC},
    }


def test_tokenize_unknown_brand(rsps: responses.RequestsMock, http_processor: HttpProcessor) -> None:
    card = {"brand": "maestro", "last4": "4242", "exp_month": 12, "exp_year": 2030, "fingerprint": "f"}
    rsps.post(METHODS, json={"id": "pm_1", "card": card})

    assert http_processor.tokenize(CARD, idempotency_key="k").brand == "unknown"


def test_tokenize_refused_card_scrubs_card_data(
    rsps: responses.RequestsMock, http_processor: HttpProcessor
) -> None:
    # A careless processor echoing the card back must not leak it to us.
    message = f"Card 4242 4242 4242 4242 with cvc {CVC} was declined."
    rsps.post(
        METHODS,
        status=402,
        json={"error": {"type": "card_error", "code": "incorrect_cvc", "param": "cvc", "message": message}},
    )

    with pytest.raises(CardError) as caught:
        http_processor.tokenize(CARD, idempotency_key="k")

    error = caught.value
    assert (error.code, error.param) == ("incorrect_cvc", "card[cvc]")
    assert "4242 4242" not in error.message
    assert CVC not in error.message
    assert "declined" in error.message


def test_charge_succeeds(rsps: responses.RequestsMock, http_processor: HttpProcessor) -> None:
    rsps.post(INTENTS, json=SUCCEEDED)
    request = ChargeRequest(
        amount=1999,
        currency="eur",
        processor_ref="pm_123",
        idempotency_key="inv_1:attempt:1",
        off_session=False,
        return_url="https://vinr.test/i/in_1/tok",
        description="Invoice INV-0001",
    )

    result = http_processor.charge(request)

    assert result.status is ChargeStatus.SUCCEEDED
    assert result.processor_id == "pi_1"
    assert _body(rsps.calls[0]) == {
        "amount": 1999,
        "currency": "eur",
        "payment_method": "pm_123",
        "confirm": True,
        "off_session": False,
        "return_url": "https://vinr.test/i/in_1/tok",
        "description": "Invoice INV-0001",
    }
    headers = rsps.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Idempotency-Key"] == "inv_1:attempt:1"


def test_decline_402_is_a_failed_result(rsps: responses.RequestsMock, http_processor: HttpProcessor) -> None:
    rsps.post(INTENTS, status=402, json=DECLINE_402)

    result = http_processor.charge(CHARGE)

    assert result.status is ChargeStatus.FAILED
    assert (result.processor_id, result.failure_code, result.decline_code) == (
        "pi_2",
        "card_declined",
        "insufficient_funds",
    )
    assert result.failure_message == "Your card has insufficient funds."
    assert result.retryable is False
    assert len(rsps.calls) == 1  # a decline is an answer: never retried


def test_processing_error_is_retryable(rsps: responses.RequestsMock, http_processor: HttpProcessor) -> None:
    error = {"type": "card_error", "code": "processing_error", "message": "Try again."}
    rsps.post(INTENTS, status=402, json={"error": error})

    result = http_processor.charge(CHARGE)

    assert (result.status, result.failure_code, result.retryable) == (
        ChargeStatus.FAILED,
        "processing_error",
        True,
    )
    assert result.processor_id is None


def test_requires_payment_method_is_a_failed_result(
    rsps: responses.RequestsMock, http_processor: HttpProcessor
) -> None:
    rsps.post(
        INTENTS,
        json={
            "id": "pi_3",
            "status": "requires_payment_method",
            "last_payment_error": {
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "No.",
            },
        },
    )

    result = http_processor.charge(CHARGE)

    assert (result.status, result.processor_id) == (ChargeStatus.FAILED, "pi_3")
    assert (result.failure_code, result.decline_code, result.failure_message) == (
        "card_declined",
        "generic_decline",
        "No.",
    )


def test_threeds_redirect_then_confirm(rsps: responses.RequestsMock, http_processor: HttpProcessor) -> None:
    redirect = "https://processor.test/3ds/pi_4"
    rsps.post(
        INTENTS,
        json={
            "id": "pi_4",
            "status": "requires_action",
            "next_action": {"redirect_to_url": {"url": redirect}},
        },
    )
    rsps.post(
        f"{INTENTS}/pi_4/confirm",
        json={"id": "pi_4", "status": "succeeded"},
        match=[
            matchers.header_matcher({"Idempotency-Key": "inv_1:confirm:1", "Authorization": f"Bearer {KEY}"})
        ],
    )

    pending = http_processor.charge(CHARGE)
    assert (pending.status, pending.processor_id, pending.action_url) == (
        ChargeStatus.REQUIRES_ACTION,
        "pi_4",
        redirect,
    )
    result = http_processor.confirm(ConfirmRequest(processor_id="pi_4", idempotency_key="inv_1:confirm:1"))

    assert (result.status, result.processor_id) == (ChargeStatus.SUCCEEDED, "pi_4")


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("connection refused"),
    ],
)
def test_transient_failure_then_success(
    rsps: responses.RequestsMock,
    http_processor: HttpProcessor,
    sleeps: list[float],
    failure: Exception,
) -> None:
    rsps.post(INTENTS, body=failure)
    rsps.post(INTENTS, json=SUCCEEDED)

    result = http_processor.charge(CHARGE)

    assert result.status is ChargeStatus.SUCCEEDED
    assert len(rsps.calls) == 2
    assert {call.request.headers["Idempotency-Key"] for call in rsps.calls} == {CHARGE.idempotency_key}
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_then_success(
    rsps: responses.RequestsMock, http_processor: HttpProcessor, sleeps: list[float], status: int
) -> None:
    rsps.post(INTENTS, status=status, body="<html>Bad gateway</html>")
    rsps.post(INTENTS, json=SUCCEEDED)

    assert http_processor.charge(CHARGE).status is ChargeStatus.SUCCEEDED
    assert len(rsps.calls) == 2
    assert len(sleeps) == 1


def test_lost_response_is_retried_with_the_same_key(fake_api, http_processor: HttpProcessor) -> None:
    token = http_processor.tokenize(CARD, idempotency_key="save-1")
    fake_api.lose_responses = 1  # processed, then the connection drops

    result = http_processor.charge(
        ChargeRequest(
            amount=500,
            currency="eur",
            processor_ref=token.processor_ref,
            idempotency_key="inv_9:attempt:1",
            off_session=True,
        )
    )

    assert result.status is ChargeStatus.SUCCEEDED
    charges = [r for r in fake_api.requests if r.path_url == "/v1/payment_intents"]
    assert len(charges) == 2
    assert [r.headers["Idempotency-Key"] for r in charges] == ["inv_9:attempt:1", "inv_9:attempt:1"]
    assert fake_api.processed == 2  # the card and ONE charge: the retry was a replay


def test_retries_exhausted(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    processor = HttpProcessor(BASE, KEY, max_retries=3, backoff=0.2, sleep=sleeps.append)
    for _ in range(4):
        rsps.post(INTENTS, status=503, json={"error": {"message": "overloaded"}})

    with pytest.raises(ProcessorError) as caught:
        processor.charge(CHARGE)

    assert caught.value.code == "processor_unavailable"
    assert "503" in str(caught.value)
    assert len(rsps.calls) == 4  # the first attempt and max_retries resends
    # Exponential, jittered between half and all of backoff * 2**n.
    assert len(sleeps) == 3
    for n, delay in enumerate(sleeps):
        assert 0.1 * 2**n <= delay <= 0.2 * 2**n


def test_no_retries_when_max_retries_is_zero(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    processor = HttpProcessor(BASE, KEY, max_retries=0, sleep=sleeps.append)
    rsps.post(INTENTS, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(ProcessorError, match="ReadTimeout"):
        processor.charge(CHARGE)

    assert (len(rsps.calls), sleeps) == (1, [])


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "processor_invalid_request"),
        (404, "processor_invalid_request"),
        (429, "processor_rate_limited"),
        (401, "processor_authentication_failed"),
        (403, "processor_authentication_failed"),
    ],
)
def test_4xx_is_not_retried(
    rsps: responses.RequestsMock, http_processor: HttpProcessor, sleeps: list[float], status: int, code: str
) -> None:
    rsps.post(
        INTENTS,
        status=status,
        json={"error": {"type": "invalid_request_error", "message": "No such payment_method: 'pm_123'"}},
    )

    with pytest.raises(ProcessorError) as caught:
        http_processor.charge(CHARGE)

    assert caught.value.code == code
    assert "No such payment_method" in str(caught.value)
    assert (len(rsps.calls), sleeps) == (1, [])


@pytest.mark.parametrize(("after_timeout", "status", "kind", "code"), [
    (False, 409, "invalid_request_error", "processor_unavailable"),
    (False, 400, "idempotency_error", "processor_unavailable"),
    (True, 429, "rate_limit_error", "processor_unavailable"),
    (True, 401, "authentication_error", "processor_unavailable"),
    (False, 401, "authentication_error", "processor_authentication_failed"),
    (False, 429, "rate_limit_error", "processor_rate_limited"),
    (True, 400, "invalid_request_error", "processor_invalid_request"),
    (True, 404, "invalid_request_error", "processor_invalid_request"),
])
def test_only_a_refusal_that_says_nothing_about_the_charge_is_an_unknown_outcome(
    rsps: responses.RequestsMock, http_processor: HttpProcessor, sleeps: list[float], after_timeout: bool,
    status: int, kind: str, code: str,
) -> None:
    """A processor replays its first answer to a key, so a refusal is about the charge, even
    after a timed-out send. Except: 409 (the key's first request still running), an
    idempotency error, and a rate limit that met a resend (the first send may have got
    through). Those leave the outcome unknown; the others are a clear failure."""
    if after_timeout:
        rsps.post(INTENTS, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.post(INTENTS, status=status, json={"error": {"type": kind, "message": "no"}})

    with pytest.raises(ProcessorError) as caught:
        http_processor.charge(CHARGE)

    assert caught.value.code == code


def test_4xx_message_never_echoes_card_data(
    rsps: responses.RequestsMock, http_processor: HttpProcessor
) -> None:
    message = f"Invalid card {PAN} (cvc {CVC})"
    rsps.post(METHODS, status=400, json={"error": {"type": "invalid_request_error", "message": message}})

    with pytest.raises(ProcessorError) as caught:
        http_processor.tokenize(CARD, idempotency_key="k")

    assert PAN not in str(caught.value)
    assert CVC not in str(caught.value)
    assert "Invalid card" in str(caught.value)


def test_4xx_without_json(rsps: responses.RequestsMock, http_processor: HttpProcessor) -> None:
    rsps.post(INTENTS, status=404, body="Not Found", content_type="text/plain")

    with pytest.raises(ProcessorError, match="HTTP 404") as caught:
        http_processor.charge(CHARGE)

    assert caught.value.code == "processor_invalid_request"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, "this is not json"),
        (200, "[1, 2, 3]"),
        (200, "{}"),
        (200, '{"id": "pi_1"}'),
        (200, '{"id": "pi_1", "status": "processing"}'),
        (200, '{"id": "pi_1", "status": "requires_action"}'),
        (200, '{"id": "pi_1", "status": "requires_action", "next_action": {"redirect_to_url": {}}}'),
        (200, '{"id": 12, "status": "succeeded"}'),
        (402, "{}"),
        (402, '{"error": {"type": "api_error"}}'),
        (402, "<html>"),
    ],
)
def test_garbage_is_an_invalid_response(
    rsps: responses.RequestsMock, http_processor: HttpProcessor, status: int, body: str
) -> None:
    rsps.post(INTENTS, status=status, body=body)

    with pytest.raises(ProcessorError) as caught:
        http_processor.charge(CHARGE)

    assert caught.value.code == "processor_invalid_response"
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    "card",
    [
        {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},  # no fingerprint
        {"brand": "visa", "last4": PAN, "exp_month": 12, "exp_year": 2030, "fingerprint": "f"},
        {"brand": "visa", "last4": "4242", "exp_month": "12", "exp_year": 2030, "fingerprint": "f"},
        None,
    ],
)
def test_tokenize_garbage_is_an_invalid_response(
    rsps: responses.RequestsMock, http_processor: HttpProcessor, card: object
) -> None:
    rsps.post(METHODS, json={"id": "pm_1", "card": card})

    with pytest.raises(ProcessorError) as caught:
        http_processor.tokenize(CARD, idempotency_key="k")

    assert caught.value.code == "processor_invalid_response"
    assert PAN not in str(caught.value)


def test_unreachable_tokenize_keeps_card_data_out_of_the_error(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    processor = HttpProcessor(BASE, KEY, max_retries=1, sleep=sleeps.append)
    for _ in range(2):
        rsps.post(METHODS, body=requests.exceptions.ConnectionError("connection refused"))

    with pytest.raises(ProcessorError) as caught:
        processor.tokenize(CARD, idempotency_key="k")

    error = caught.value
    assert error.code == "processor_unavailable"
    assert PAN not in str(error)
    # The requests exception carries the request body (the card): it must not
    # ride along as the cause or context of ours.
    assert error.__cause__ is None
    assert error.__context__ is None


def test_confirm_refuses_an_id_that_is_not_an_id(http_processor: HttpProcessor) -> None:
    with pytest.raises(ProcessorError) as caught:
        http_processor.confirm(ConfirmRequest(processor_id="../payment_methods", idempotency_key="k"))

    assert caught.value.code == "processor_invalid_request"


def test_repr_hides_the_api_key(http_processor: HttpProcessor) -> None:
    assert KEY not in repr(http_processor)
    assert BASE in repr(http_processor)
    assert KEY not in str(vars(http_processor).get("api_key", ""))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "processor.test", "api_key": KEY}, "http"),
        ({"base_url": BASE, "api_key": ""}, "api_key"),
        ({"base_url": BASE, "api_key": KEY, "max_retries": -1}, "max_retries"),
        ({"base_url": BASE, "api_key": KEY, "timeout": 0}, "timeout"),
    ],
)
def test_constructor_fails_fast(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HttpProcessor(**kwargs)  # type: ignore[arg-type]


def test_trailing_slash_in_base_url(rsps: responses.RequestsMock) -> None:
    rsps.post(INTENTS, json=SUCCEEDED)

    result = HttpProcessor(f"{BASE}/", KEY, sleep=lambda s: None).charge(CHARGE)

    assert result.status is ChargeStatus.SUCCEEDED


# Refunds

REFUNDS = f"{BASE}/v1/refunds"
REFUND = RefundRequest(payment_processor_id="pi_1", amount=500, currency="eur", idempotency_key="vinr_re_1",
                       processor_ref="pm_123", reason="duplicate")


def test_refund_sends_the_intent_amount_and_key(rsps: responses.RequestsMock, http_processor: HttpProcessor) -> None:
    rsps.post(REFUNDS, json={"id": "re_1", "status": "succeeded"}, match=[
        matchers.json_params_matcher({"payment_intent": "pi_1", "amount": 500, "reason": "duplicate"}),
        matchers.header_matcher({"Idempotency-Key": "vinr_re_1", "Authorization": f"Bearer {KEY}"})])

    result = http_processor.refund(REFUND)

    assert (result.status, result.processor_id, result.failure_reason) == (RefundResultStatus.SUCCEEDED, "re_1", None)


@pytest.mark.parametrize(("body", "expected"), [
    ({"id": "re_2", "status": "failed", "failure_reason": "expired_or_canceled_card"},
     (RefundResultStatus.FAILED, "expired_or_canceled_card")),
    ({"id": "re_2", "status": "failed"}, (RefundResultStatus.FAILED, "unknown")),
    ({"id": "re_2", "status": "canceled"}, (RefundResultStatus.CANCELED, None)),
    ({"id": "re_2", "status": "pending"}, (RefundResultStatus.PENDING, None)),
])
def test_refund_outcomes(rsps: responses.RequestsMock, http_processor: HttpProcessor, body: dict[str, str],
                         expected: tuple[RefundResultStatus, str | None]) -> None:
    rsps.post(REFUNDS, json=body)

    result = http_processor.refund(REFUND)

    assert (result.status, result.failure_reason) == expected and result.processor_id == "re_2"


@pytest.mark.parametrize(("status", "body"), [
    (200, {"id": "re_3", "status": "requires_action"}),
    (200, {"status": "succeeded"}),
    (200, {"id": "re 3!", "status": "succeeded"}),
    (402, {"error": {"type": "card_error", "code": "card_declined"}}),
])
def test_a_refund_answer_that_makes_no_sense_is_no_answer(rsps: responses.RequestsMock, http_processor: HttpProcessor,
                                                          status: int, body: dict[str, object]) -> None:
    rsps.post(REFUNDS, status=status, json=body)

    with pytest.raises(ProcessorError) as raised:
        http_processor.refund(REFUND)

    assert raised.value.code == "processor_invalid_response"


def test_a_lost_refund_answer_is_resent_with_the_same_key(rsps: responses.RequestsMock,
                                                          http_processor: HttpProcessor, sleeps: list[float]) -> None:
    rsps.post(REFUNDS, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.post(REFUNDS, json={"id": "re_4", "status": "succeeded"})

    assert http_processor.refund(REFUND).status is RefundResultStatus.SUCCEEDED
    assert [call.request.headers["Idempotency-Key"] for call in rsps.calls] == ["vinr_re_1"] * 2
    assert len(sleeps) == 1


def test_retrieve_refund_reads_it_with_a_get(rsps: responses.RequestsMock, http_processor: HttpProcessor) -> None:
    rsps.get(f"{REFUNDS}/re_5", json={"id": "re_5", "status": "succeeded"})

    result = http_processor.retrieve_refund("re_5")

    assert (result.status, result.processor_id) == (RefundResultStatus.SUCCEEDED, "re_5")
    assert "Idempotency-Key" not in rsps.calls[0].request.headers and rsps.calls[0].request.body is None
    with pytest.raises(ProcessorError) as raised:
        http_processor.retrieve_refund("../pi_1")
    assert raised.value.code == "processor_invalid_request"
