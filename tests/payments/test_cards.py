"""Card validation before any processor call (SPEC §3, §6)."""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import CardError, InvalidRequest
from app.payments.cards import card_fingerprint, detect_brand, luhn_valid, validate_card

TODAY = datetime.date(2025, 3, 15)
VISA = "4242424242424242"
AMEX = "378282246310005"


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4242424242424242", True),
        ("4242424242424241", False),
        ("5555555555554444", True),
        ("378282246310005", True),
        ("378282246310006", False),
        ("4000000000003220", True),
        ("79927398713", True),  # the textbook example
        ("79927398710", False),
        ("0", True),
        ("", False),
        ("4242 4242 4242 4242", False),  # separators are the caller's to strip
        ("42424242424242a2", False),
        ("٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", False),  # Arabic-Indic digits pass str.isdigit()
    ],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("4242 4242-4242 4242", "visa"),
        ("5555555555554444", "mastercard"),
        ("5105105105105100", "mastercard"),
        ("2221000000000009", "mastercard"),
        ("2720990000000005", "mastercard"),
        ("2220990000000000", "unknown"),
        ("2721000000000000", "unknown"),
        ("378282246310005", "amex"),
        ("341111111111111", "amex"),
        ("6011111111111117", "discover"),
        ("6445644564456445", "discover"),
        ("6500000000000002", "discover"),
        ("30569309025904", "diners"),
        ("36227206271667", "diners"),
        ("3566002020360505", "jcb"),
        ("6200000000000005", "unionpay"),
        ("1234567890123452", "unknown"),
        ("", "unknown"),
        ("card", "unknown"),
    ],
)
def test_detect_brand(number: str, brand: str) -> None:
    assert detect_brand(number) == brand


def test_valid_card_is_normalized() -> None:
    card = validate_card("4242 4242-4242 4242", 3, 25, "123", today=TODAY)

    assert (card.number, card.exp_month, card.exp_year, card.cvc) == (VISA, 3, 2025, "123")


def test_amex_takes_a_four_digit_cvc() -> None:
    card = validate_card("3782 822463 10005", 12, 2030, "1234", today=TODAY)

    assert card.number == AMEX
    assert card.cvc == "1234"


@pytest.mark.parametrize(
    ("exp_month", "exp_year", "today", "valid"),
    [
        # Valid through the last day of the expiry month.
        (3, 2025, datetime.date(2025, 3, 1), True),
        (3, 2025, datetime.date(2025, 3, 31), True),
        (3, 2025, datetime.date(2025, 4, 1), False),
        (2, 2024, datetime.date(2024, 2, 29), True),
        (2, 2024, datetime.date(2024, 3, 1), False),
        (12, 2024, datetime.date(2024, 12, 31), True),
        (12, 2024, datetime.date(2025, 1, 1), False),
        (1, 2025, datetime.date(2024, 12, 31), True),
        (12, 24, datetime.date(2024, 12, 31), True),  # 2-digit year
        (11, 24, datetime.date(2024, 12, 31), False),
        (1, 2000, datetime.date(2024, 12, 31), False),
    ],
)
def test_expiry_boundary(exp_month: int, exp_year: int, today: datetime.date, valid: bool) -> None:
    if valid:
        assert validate_card(VISA, exp_month, exp_year, "123", today=today).exp_month == exp_month
    else:
        with pytest.raises(CardError) as caught:
            validate_card(VISA, exp_month, exp_year, "123", today=today)
        assert (caught.value.code, caught.value.param) == ("expired_card", "card[exp_year]")
        assert caught.value.status == 402


def test_expiry_year_at_most_twenty_years_ahead() -> None:
    assert validate_card(VISA, 12, TODAY.year + 20, "123", today=TODAY).exp_year == 2045
    with pytest.raises(CardError) as caught:
        validate_card(VISA, 1, TODAY.year + 21, "123", today=TODAY)
    assert (caught.value.code, caught.value.param) == ("invalid_expiry_year", "card[exp_year]")


def test_default_today_is_now() -> None:
    with pytest.raises(CardError, match="expired"):
        validate_card(VISA, 1, 2001, "123")
    assert validate_card(VISA, 12, datetime.date.today().year + 1, "123").exp_year > 2001


@pytest.mark.parametrize(
    ("number", "exp_month", "exp_year", "cvc", "code", "param"),
    [
        ("4242424242424241", 12, 2030, "987", "incorrect_number", "card[number]"),
        ("4242 4242 4242 424x", 12, 2030, "987", "incorrect_number", "card[number]"),
        ("42424242424242.42", 12, 2030, "987", "incorrect_number", "card[number]"),
        ("٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", 12, 2030, "987", "incorrect_number", "card[number]"),
        ("", 12, 2030, "987", "incorrect_number", "card[number]"),
        ("79927398713", 12, 2030, "987", "incorrect_number", "card[number]"),  # Luhn ok, 11 digits
        ("42424242424242424242", 12, 2030, "987", "incorrect_number", "card[number]"),  # 20 digits
        ("4242424242424242", 0, 2030, "987", "invalid_expiry_month", "card[exp_month]"),
        ("4242424242424242", 13, 2030, "987", "invalid_expiry_month", "card[exp_month]"),
        ("4242424242424242", -1, 2030, "987", "invalid_expiry_month", "card[exp_month]"),
        ("4242424242424242", 1, 2046, "987", "invalid_expiry_year", "card[exp_year]"),
        ("4242424242424242", 12, 202, "987", "invalid_expiry_year", "card[exp_year]"),
        ("4242424242424242", 12, -5, "987", "invalid_expiry_year", "card[exp_year]"),
        ("4242424242424242", 12, 2024, "987", "expired_card", "card[exp_year]"),
        ("4242424242424242", 2, 25, "987", "expired_card", "card[exp_year]"),
        ("4242424242424242", 12, 2030, "98", "invalid_cvc", "card[cvc]"),
        ("4242424242424242", 12, 2030, "9876", "invalid_cvc", "card[cvc]"),  # 4 digits: Amex only
        ("4242424242424242", 12, 2030, "98a", "invalid_cvc", "card[cvc]"),
        ("4242424242424242", 12, 2030, "", "invalid_cvc", "card[cvc]"),
        ("4242424242424242", 12, 2030, "٩٨٧", "invalid_cvc", "card[cvc]"),
        ("378282246310005", 12, 2030, "987", "invalid_cvc", "card[cvc]"),  # Amex needs 4
        ("378282246310005", 12, 2030, "98765", "invalid_cvc", "card[cvc]"),
    ],
)
def test_invalid_cards(number: str, exp_month: int, exp_year: int, cvc: str, code: str, param: str) -> None:
    with pytest.raises(CardError) as caught:
        validate_card(number, exp_month, exp_year, cvc, today=TODAY)

    error = caught.value
    assert (error.code, error.param) == (code, param)
    assert error.to_dict()["error"]["type"] == "card_error"
    # Nothing the customer typed as secret comes back, in any form.
    rendered = f"{error.message} {error!s} {error.to_dict()}"
    digits = number.replace(" ", "")
    if digits:
        assert number not in rendered
        assert digits not in rendered
        assert digits[:12] not in rendered
    if cvc:
        assert cvc not in rendered


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("incorrect_number", "Your card number is incorrect."),
        ("invalid_expiry_month", "Your card's expiration month is invalid."),
        ("expired_card", "Your card has expired."),
    ],
)
def test_messages_are_plain_english(code: str, expected: str) -> None:
    args = {
        "incorrect_number": ("4242424242424241", 12, 2030),
        "invalid_expiry_month": (VISA, 13, 2030),
        "expired_card": (VISA, 1, 2025),
    }[code]

    with pytest.raises(CardError) as caught:
        validate_card(*args, "123", today=TODAY)

    assert caught.value.message == expected


def test_cvc_message_says_how_many_digits() -> None:
    with pytest.raises(CardError, match="4 digits"):
        validate_card(AMEX, 12, 2030, "123", today=TODAY)
    with pytest.raises(CardError, match="3 digits"):
        validate_card(VISA, 12, 2030, "1234", today=TODAY)


@pytest.mark.parametrize(
    ("number", "exp_month", "exp_year", "cvc", "param"),
    [
        (4242424242424242, 12, 2030, "123", "card[number]"),
        (VISA, "12", 2030, "123", "card[exp_month]"),
        (VISA, True, 2030, "123", "card[exp_month]"),
        (VISA, 12, 2030.0, "123", "card[exp_year]"),
        (VISA, 12, 2030, 123, "card[cvc]"),
    ],
)
def test_wrong_types_are_invalid_requests(
    number: object, exp_month: object, exp_year: object, cvc: object, param: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_card(number, exp_month, exp_year, cvc, today=TODAY)  # type: ignore[arg-type]

    assert caught.value.param == param
    assert caught.value.status == 400
    assert "4242424242424242" not in caught.value.message


def test_card_details_repr_hides_number_and_cvc() -> None:
    card = validate_card(VISA, 12, 2030, "987", today=TODAY)

    assert VISA not in repr(card)
    assert "987" not in repr(card)
    assert "4242" in repr(card)


def test_fingerprint_is_keyed_and_stable() -> None:
    fingerprint = card_fingerprint(VISA, b"key-1")

    assert re.fullmatch(r"[0-9a-f]{32}", fingerprint)
    assert card_fingerprint("4242 4242-4242 4242", b"key-1") == fingerprint
    assert card_fingerprint(VISA, b"key-2") != fingerprint
    assert card_fingerprint("5555555555554444", b"key-1") != fingerprint
    assert VISA not in fingerprint


def test_fingerprint_refuses_an_empty_key() -> None:
    with pytest.raises(ValueError, match="non-empty key"):
        card_fingerprint(VISA, b"")


@pytest.mark.parametrize(
    "first",
    ["app.payments.cards", "app.payments.processor", "app.payments.processor.sandbox"],
)
def test_modules_import_in_any_order(first: str) -> None:
    # cards -> processor.base -> processor/__init__ -> sandbox -> cards is a
    # cycle; each entry point must still import cleanly in a fresh process.
    code = f"import {first}; from app.payments.processor import SandboxProcessor, HttpProcessor"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
