"""The test-mode sandbox processor and its magic cards (SPEC §6)."""

from __future__ import annotations

import re

import pytest

from app.errors import CardError
from app.payments.cards import card_fingerprint, validate_card
from app.payments.processor import (
    TEST_CARDS,
    CardDetails,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    ConfirmRequest,
    Processor,
    ProcessorError,
    SandboxProcessor,
)
from app.payments.processor import sandbox as sandbox_module

FINGERPRINT_KEY = b"test-fingerprint-key"

FAILED = ChargeStatus.FAILED
SUCCEEDED = ChargeStatus.SUCCEEDED
REQUIRES_ACTION = ChargeStatus.REQUIRES_ACTION

# SPEC §6, row by row: card, brand, on-session and off-session outcome as
# (status, failure_code, decline_code, retryable).
SPEC_CARDS = [
    ("4242 4242 4242 4242", "visa", (SUCCEEDED, None, None, False), (SUCCEEDED, None, None, False)),
    ("5555 5555 5555 4444", "mastercard", (SUCCEEDED, None, None, False), (SUCCEEDED, None, None, False)),
    ("3782 822463 10005", "amex", (SUCCEEDED, None, None, False), (SUCCEEDED, None, None, False)),
    (
        "4000 0000 0000 0002",
        "visa",
        (FAILED, "card_declined", "generic_decline", False),
        (FAILED, "card_declined", "generic_decline", False),
    ),
    (
        "4000 0000 0000 9995",
        "visa",
        (FAILED, "card_declined", "insufficient_funds", False),
        (FAILED, "card_declined", "insufficient_funds", False),
    ),
    (
        "4000 0000 0000 0069",
        "visa",
        (FAILED, "expired_card", "expired_card", False),
        (FAILED, "expired_card", "expired_card", False),
    ),
    (
        "4000 0000 0000 0127",
        "visa",
        (FAILED, "incorrect_cvc", "incorrect_cvc", False),
        (FAILED, "incorrect_cvc", "incorrect_cvc", False),
    ),
    (
        "4000 0000 0000 0119",
        "visa",
        (FAILED, "processing_error", None, True),
        (FAILED, "processing_error", None, True),
    ),
    (
        "4000 0000 0000 3220",
        "visa",
        (REQUIRES_ACTION, None, None, False),
        (FAILED, "authentication_required", "authentication_required", False),
    ),
    (
        "4000 0000 0000 5126",
        "visa",
        (SUCCEEDED, None, None, False),
        (SUCCEEDED, None, None, False),
    ),
]

MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
}


def _card(number: str) -> CardDetails:
    cvc = "1234" if number.startswith("37") else "123"
    return validate_card(number, 12, 2030, cvc)


def _charge(processor_ref: str, *, off_session: bool, key: str = "attempt-1") -> ChargeRequest:
    return ChargeRequest(
        amount=1999,
        currency="eur",
        processor_ref=processor_ref,
        idempotency_key=key,
        off_session=off_session,
        return_url="https://vinr.test/i/in_1/token",
    )


def _outcome(result: ChargeResult) -> tuple[ChargeStatus, str | None, str | None, bool]:
    return result.status, result.failure_code, result.decline_code, result.retryable


def test_table_covers_exactly_the_spec_cards() -> None:
    assert set(TEST_CARDS) == {number.replace(" ", "") for number, *_ in SPEC_CARDS}


def test_module_docstring_lists_every_test_card() -> None:
    doc = sandbox_module.__doc__ or ""
    listed = {m.replace(" ", "") for m in re.findall(r"^(\d[\d ]{10,}\d)\s{2,}", doc, re.MULTILINE)}

    assert listed == set(TEST_CARDS)
    for _brand, scenario in TEST_CARDS.values():
        assert scenario.value in doc


def test_sandbox_is_a_processor(sandbox: SandboxProcessor) -> None:
    assert isinstance(sandbox, Processor)
    assert sandbox.name == "sandbox"


@pytest.mark.parametrize(("number", "brand", "on_session", "off_session"), SPEC_CARDS)
def test_every_spec_card(
    sandbox: SandboxProcessor,
    number: str,
    brand: str,
    on_session: tuple[ChargeStatus, str | None, str | None, bool],
    off_session: tuple[ChargeStatus, str | None, str | None, bool],
) -> None:
    digits = number.replace(" ", "")

    # Saving charges nothing: decline and 3DS cards tokenize too.
    token = sandbox.tokenize(_card(number), idempotency_key="save-1")
    assert (token.brand, token.last4, token.exp_month, token.exp_year) == (brand, digits[-4:], 12, 2030)
    assert token.fingerprint == card_fingerprint(digits, FINGERPRINT_KEY)
    assert token.processor_ref.startswith(f"sbx_card_{TEST_CARDS[digits][1].value}_")
    assert digits not in token.processor_ref

    on = sandbox.charge(_charge(token.processor_ref, off_session=False, key="on"))
    off = sandbox.charge(_charge(token.processor_ref, off_session=True, key="off"))

    assert _outcome(on) == on_session
    assert _outcome(off) == off_session
    for result in (on, off):
        assert result.processor_id is not None
        assert result.processor_id.startswith("sbx_pi_")
        assert (result.failure_message is None) == (result.status is not FAILED)
        assert digits not in repr(result)
        if result.decline_code in MESSAGES:
            assert result.failure_message == MESSAGES[result.decline_code]
    if on.status is REQUIRES_ACTION:
        assert on.action_url == f"https://vinr.test/challenge/{on.processor_id}"
    else:
        assert on.action_url is None


@pytest.mark.parametrize(
    "number",
    [
        "4111 1111 1111 1111",  # a famous test PAN, but not one of ours
        "4012 8888 8888 1881",
        "5105 1051 0510 5100",
        "3714 496353 98431",
        "6011 1111 1111 1117",
    ],
)
def test_other_real_looking_cards_are_refused(sandbox: SandboxProcessor, number: str) -> None:
    card = _card(number)  # passes validation: it looks real

    with pytest.raises(CardError) as caught:
        sandbox.tokenize(card, idempotency_key="save-1")

    error = caught.value
    assert (error.code, error.param, error.status) == ("test_mode_live_card", "card[number]", 402)
    assert "use a test card" in error.message
    assert card.number not in f"{error.message} {error.to_dict()}"
    assert number not in error.message


def test_same_idempotency_key_same_charge(sandbox: SandboxProcessor) -> None:
    token = sandbox.tokenize(_card("4000 0000 0000 9995"), idempotency_key="save-1")
    other_process = SandboxProcessor(FINGERPRINT_KEY)  # stateless: another worker agrees

    first = sandbox.charge(_charge(token.processor_ref, off_session=True, key="inv_1:attempt:1"))
    again = other_process.charge(_charge(token.processor_ref, off_session=True, key="inv_1:attempt:1"))
    other = sandbox.charge(_charge(token.processor_ref, off_session=True, key="inv_1:attempt:2"))

    assert again == first
    assert other.processor_id != first.processor_id
    assert _outcome(other) == _outcome(first)


def test_same_save_key_same_card_ref(sandbox: SandboxProcessor) -> None:
    card = _card("4242 4242 4242 4242")

    first = sandbox.tokenize(card, idempotency_key="save-1")

    assert sandbox.tokenize(card, idempotency_key="save-1") == first
    assert sandbox.tokenize(card, idempotency_key="save-2").processor_ref != first.processor_ref


def test_charge_id_does_not_reveal_the_scenario(sandbox: SandboxProcessor) -> None:
    token = sandbox.tokenize(_card("4000 0000 0000 3220"), idempotency_key="save-1")

    result = sandbox.charge(_charge(token.processor_ref, off_session=False))

    assert result.processor_id is not None
    assert re.fullmatch(r"sbx_pi_[0-9a-f]{24}", result.processor_id)


@pytest.mark.parametrize(
    ("passed", "expected"),
    [
        (True, (SUCCEEDED, None, None, False)),
        (False, (FAILED, "card_declined", "authentication_failed", False)),
        (None, (FAILED, "card_declined", "authentication_failed", False)),
    ],
)
def test_threeds_confirm(
    sandbox: SandboxProcessor,
    passed: bool | None,
    expected: tuple[ChargeStatus, str | None, str | None, bool],
) -> None:
    token = sandbox.tokenize(_card("4000 0000 0000 3220"), idempotency_key="save-1")
    pending = sandbox.charge(_charge(token.processor_ref, off_session=False))
    assert pending.status is REQUIRES_ACTION and pending.processor_id is not None

    result = sandbox.confirm(
        ConfirmRequest(
            processor_id=pending.processor_id, idempotency_key="confirm-1", challenge_passed=passed
        )
    )

    assert _outcome(result) == expected
    assert result.processor_id == pending.processor_id
    if result.status is FAILED:
        assert result.failure_message == "Authentication failed: your card was declined."


def test_threeds_without_builder_has_no_action_url() -> None:
    processor = SandboxProcessor(FINGERPRINT_KEY)
    token = processor.tokenize(_card("4000 0000 0000 3220"), idempotency_key="save-1")

    result = processor.charge(_charge(token.processor_ref, off_session=False))

    assert result.status is REQUIRES_ACTION
    assert result.action_url is None


@pytest.mark.parametrize(
    "processor_ref",
    ["pm_123", "sbx_card_bogus_0123456789abcdef", "sbx_card_success_xyz", "sbx_card_success_", ""],
)
def test_unknown_card_ref_is_a_processor_error(sandbox: SandboxProcessor, processor_ref: str) -> None:
    with pytest.raises(ProcessorError) as caught:
        sandbox.charge(_charge(processor_ref, off_session=False))

    assert caught.value.code == "processor_invalid_request"


def test_non_positive_amount_is_refused(sandbox: SandboxProcessor) -> None:
    token = sandbox.tokenize(_card("4242 4242 4242 4242"), idempotency_key="save-1")
    request = ChargeRequest(
        amount=0, currency="eur", processor_ref=token.processor_ref, idempotency_key="k", off_session=True
    )

    with pytest.raises(ProcessorError):
        sandbox.charge(request)


@pytest.mark.parametrize("processor_id", ["pi_123", "sbx_pi_short", "sbx_pi_" + "g" * 24])
def test_confirm_unknown_id_is_a_processor_error(sandbox: SandboxProcessor, processor_id: str) -> None:
    with pytest.raises(ProcessorError):
        sandbox.confirm(ConfirmRequest(processor_id=processor_id, idempotency_key="k", challenge_passed=True))


def test_sandbox_needs_a_fingerprint_key() -> None:
    with pytest.raises(ValueError, match="fingerprint_key"):
        SandboxProcessor(b"")


def test_repr_does_not_show_the_key(sandbox: SandboxProcessor) -> None:
    assert FINGERPRINT_KEY.decode() not in repr(sandbox)
