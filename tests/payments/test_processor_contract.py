"""One contract, both processors (STYLE "Processor behind a typing.Protocol").

The sandbox and the HTTP processor (against a fake of the stripe-like API
that mirrors the sandbox's card table) must give the same answers, so that
what works in test mode works in live mode.
"""

from __future__ import annotations

import pytest

from app.payments.cards import validate_card
from app.payments.processor import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    ConfirmRequest,
    Processor,
    RefundRequest,
    RefundResultStatus,
    TokenizedCard,
)

FAILED = ChargeStatus.FAILED
SUCCEEDED = ChargeStatus.SUCCEEDED
REQUIRES_ACTION = ChargeStatus.REQUIRES_ACTION


def _save(processor: Processor, number: str) -> TokenizedCard:
    return processor.tokenize(validate_card(number, 12, 2030, "123"), idempotency_key=f"save:{number}")


def _charge(
    processor: Processor, token: TokenizedCard, *, off_session: bool, key: str = "a1"
) -> ChargeResult:
    return processor.charge(
        ChargeRequest(
            amount=2500,
            currency="eur",
            processor_ref=token.processor_ref,
            idempotency_key=key,
            off_session=off_session,
            return_url="https://vinr.test/i/in_1/token",
        )
    )


def test_is_a_processor(processor: Processor) -> None:
    assert isinstance(processor, Processor)


def test_tokenize(processor: Processor) -> None:
    token = _save(processor, "4242 4242 4242 4242")

    assert (token.brand, token.last4, token.exp_month, token.exp_year) == ("visa", "4242", 12, 2030)
    assert token.processor_ref
    assert "4242424242424242" not in token.processor_ref
    assert token.fingerprint
    assert token.fingerprint == _save(processor, "4242-4242-4242-4242").fingerprint


@pytest.mark.parametrize(
    ("number", "off_session", "expected"),
    [
        ("4242 4242 4242 4242", True, (SUCCEEDED, None, None, False)),
        ("4242 4242 4242 4242", False, (SUCCEEDED, None, None, False)),
        ("4000 0000 0000 0002", True, (FAILED, "card_declined", "generic_decline", False)),
        ("4000 0000 0000 9995", True, (FAILED, "card_declined", "insufficient_funds", False)),
        ("4000 0000 0000 0069", True, (FAILED, "expired_card", "expired_card", False)),
        ("4000 0000 0000 0127", False, (FAILED, "incorrect_cvc", "incorrect_cvc", False)),
        ("4000 0000 0000 0119", True, (FAILED, "processing_error", None, True)),
        ("4000 0000 0000 3220", True, (FAILED, "authentication_required", "authentication_required", False)),
        ("4000 0000 0000 5126", True, (SUCCEEDED, None, None, False)),
    ],
)
def test_charge_outcomes(
    processor: Processor,
    number: str,
    off_session: bool,
    expected: tuple[ChargeStatus, str | None, str | None, bool],
) -> None:
    result = _charge(processor, _save(processor, number), off_session=off_session)

    assert (result.status, result.failure_code, result.decline_code, result.retryable) == expected
    assert result.action_url is None
    if result.status is FAILED:
        assert result.failure_message


def test_insufficient_funds_message(processor: Processor) -> None:
    result = _charge(processor, _save(processor, "4000 0000 0000 9995"), off_session=True)

    assert result.failure_message == "Your card has insufficient funds."


def test_threeds_on_session_requires_action_then_confirm_succeeds(processor: Processor) -> None:
    pending = _charge(processor, _save(processor, "4000 0000 0000 3220"), off_session=False)

    assert pending.status is REQUIRES_ACTION
    assert pending.processor_id
    assert pending.action_url and pending.action_url.startswith("https://")

    result = processor.confirm(
        ConfirmRequest(processor_id=pending.processor_id, idempotency_key="c1", challenge_passed=True)
    )

    assert (result.status, result.processor_id) == (SUCCEEDED, pending.processor_id)


def test_same_idempotency_key_same_outcome(processor: Processor) -> None:
    token = _save(processor, "4000 0000 0000 0002")

    first = _charge(processor, token, off_session=True, key="inv_1:attempt:1")
    again = _charge(processor, token, off_session=True, key="inv_1:attempt:1")

    assert again == first
    assert first.processor_id


@pytest.mark.parametrize(("number", "expected"), [
    ("4242 4242 4242 4242", (RefundResultStatus.SUCCEEDED, None)),
    ("5555 5555 5555 4444", (RefundResultStatus.SUCCEEDED, None)),
    ("4000 0000 0000 5126", (RefundResultStatus.FAILED, "expired_or_canceled_card")),
])
def test_refund_outcomes(processor: Processor, number: str,
                         expected: tuple[RefundResultStatus, str | None]) -> None:
    token = _save(processor, number)
    charged = _charge(processor, token, off_session=True, key=f"charge:{number}")
    assert charged.status is SUCCEEDED and charged.processor_id
    request = RefundRequest(payment_processor_id=charged.processor_id, amount=1000, currency="eur",
                            idempotency_key=f"refund:{number}", processor_ref=token.processor_ref)
    result = processor.refund(request)

    assert (result.status, result.failure_reason) == expected
    assert result.processor_id
    assert processor.refund(request) == result  # the same key is the same refund
