"""Card validation that runs before anything reaches a processor (SPEC §3, §6).

A number failing Luhn, a past expiry or a malformed CVC is a form error the
customer can fix; it never costs a processor round trip. Every error raised
here is a :class:`~app.errors.CardError` (402 ``card_error``) whose message is
plain English and never contains the card number or the CVC, because error
messages end up in logs, JSON bodies and rendered pages.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re

from app.errors import CardError, InvalidRequest
from app.payments.processor.base import CardDetails

# ASCII only: str.isdigit() accepts e.g. Arabic-Indic digits, which no
# processor does.
_DIGITS = re.compile(r"[0-9]+")
_SEPARATORS = re.compile(r"[ \-]")

PAN_MIN_LENGTH = 12
PAN_MAX_LENGTH = 19
# Networks issue cards valid for at most ~10 years; 20 leaves room without
# accepting typos such as 2205 for 2025.
MAX_YEARS_AHEAD = 20

# The networks' own names, for "Visa ending in 4242" on the page and in emails (SPEC §7).
BRAND_NAMES = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express", "discover": "Discover",
               "diners": "Diners Club", "jcb": "JCB", "unionpay": "UnionPay"}

# (brand, inclusive low, inclusive high) over a prefix of the given width.
# Checked in order: the first matching row wins.
_BRAND_RANGES: tuple[tuple[str, int, int, int], ...] = (
    ("amex", 2, 34, 34),
    ("amex", 2, 37, 37),
    ("mastercard", 2, 51, 55),
    ("mastercard", 4, 2221, 2720),
    ("discover", 4, 6011, 6011),
    ("discover", 3, 644, 649),
    ("discover", 2, 65, 65),
    ("diners", 3, 300, 305),
    ("diners", 4, 3095, 3095),
    ("diners", 2, 36, 36),
    ("diners", 2, 38, 39),
    ("jcb", 4, 3528, 3589),
    ("unionpay", 2, 62, 62),
    ("visa", 1, 4, 4),
)


def normalize_number(number: str) -> str:
    """Return ``number`` without the spaces and dashes people type between groups."""
    return _SEPARATORS.sub("", number)


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (ASCII digits only, no separators) passes the Luhn check.

    An empty string or any non-digit character is simply not valid.
    """
    if not _DIGITS.fullmatch(digits):
        return False
    total = 0
    # Double every second digit counting from the rightmost (the check digit).
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def detect_brand(number: str) -> str:
    """The card network from the number's prefix (IIN), spaces and dashes allowed.

    Returns one of ``visa``, ``mastercard``, ``amex``, ``discover``, ``diners``,
    ``jcb``, ``unionpay`` or ``unknown``. Only the prefix is inspected, so a
    number that fails validation can still have a brand.
    """
    digits = normalize_number(number)
    if not _DIGITS.fullmatch(digits):
        return "unknown"
    for brand, width, low, high in _BRAND_RANGES:
        if len(digits) >= width and low <= int(digits[:width]) <= high:
            return brand
    return "unknown"


def card_fingerprint(number: str, key: bytes) -> str:
    """A keyed, irreversible identifier of a card number: 32 hex characters.

    The same number (separators ignored) under the same key always gives the
    same value, so a saved card can be recognised without storing it. Keyed
    with HMAC-SHA256 because a bare hash of a PAN is reversible by enumerating
    the small space of numbers behind a known prefix and last four.

    Raises ValueError for an empty key (that would be the bare hash).
    """
    if not key:
        raise ValueError("card_fingerprint needs a non-empty key")
    digits = normalize_number(number)
    return hmac.new(key, digits.encode("ascii", "replace"), hashlib.sha256).hexdigest()[:32]


def validate_card(
    number: str,
    exp_month: int,
    exp_year: int,
    cvc: str,
    *,
    today: datetime.date | None = None,
) -> CardDetails:
    """Check a card a customer typed and return it normalized.

    The returned :class:`CardDetails` has the number without separators and a
    four-digit ``exp_year`` (two-digit years mean 20YY). A card is valid
    through the last day of its expiry month. ``today`` defaults to the
    current UTC date.

    Raises :class:`CardError` (checked in this order, first failure wins; ``card_problems``
    lists them all):

    - ``incorrect_number`` (``card[number]``): non-digits, not 12–19 digits,
      or a failed Luhn check;
    - ``invalid_expiry_month`` (``card[exp_month]``): not 1–12;
    - ``invalid_expiry_year`` (``card[exp_year]``): not a plausible year, or
      more than 20 years ahead;
    - ``expired_card`` (``card[exp_year]``): the expiry month is over;
    - ``invalid_cvc`` (``card[cvc]``): not exactly 3 digits (4 for Amex).

    Raises :class:`InvalidRequest` when a field has the wrong type (a caller
    bug or a malformed JSON body, not something the customer typed).
    """
    if not isinstance(number, str):
        raise InvalidRequest("The card number must be a string.", param="card[number]")
    for value, param in ((exp_month, "card[exp_month]"), (exp_year, "card[exp_year]")):
        # bool is an int subclass; True is not a month.
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidRequest("The card's expiry month and year must be integers.", param=param)
    if not isinstance(cvc, str):
        raise InvalidRequest("The card's security code must be a string.", param="card[cvc]")

    problems = card_problems(number, exp_month, exp_year, cvc, today=today)
    if problems:
        raise problems[0]
    year = _four_digit_year(exp_year)
    assert year is not None  # card_problems refused any other
    return CardDetails(number=normalize_number(number.strip()), exp_month=exp_month, exp_year=year, cvc=cvc.strip())


def card_problems(
    number: str | None,
    exp_month: int | None,
    exp_year: int | None,
    cvc: str | None,
    *,
    today: datetime.date | None = None,
) -> list[CardError]:
    """Every problem of the card's fields at once, in the order ``validate_card`` checks
    them (its first is the one it raises); a field given as None is not checked. A form
    shows each next to its field. The security code's length follows the number's brand
    (4 digits for Amex); without a usable number, 3 or 4 digits pass."""
    problems: list[CardError] = []
    digits = normalize_number(number.strip()) if number is not None else None
    number_ok = digits is not None and bool(
        _DIGITS.fullmatch(digits) and PAN_MIN_LENGTH <= len(digits) <= PAN_MAX_LENGTH and luhn_valid(digits))
    if digits is not None and not number_ok:
        problems.append(CardError("Your card number is incorrect.", code="incorrect_number", param="card[number]"))

    if exp_month is not None and exp_year is not None:
        year = _four_digit_year(exp_year)
        if today is None:
            today = datetime.datetime.now(datetime.UTC).date()
        if not 1 <= exp_month <= 12:
            problems.append(CardError("Your card's expiration month is invalid.", code="invalid_expiry_month",
                                      param="card[exp_month]"))
        elif year is None or year > today.year + MAX_YEARS_AHEAD:
            problems.append(CardError("Your card's expiration year is invalid.", code="invalid_expiry_year",
                                      param="card[exp_year]"))
        # Valid through the last day of the expiry month: only a month strictly
        # before the current one is expired.
        elif (year, exp_month) < (today.year, today.month):
            problems.append(CardError("Your card has expired.", code="expired_card", param="card[exp_year]"))

    if cvc is not None:
        lengths = ((4,) if detect_brand(digits) == "amex" else (3,)) if number_ok and digits else (3, 4)
        cvc = cvc.strip()
        if len(cvc) not in lengths or not _DIGITS.fullmatch(cvc):
            problems.append(CardError(
                f"Your card's security code is invalid: it must be {lengths[0]} digits.",
                code="invalid_cvc",
                param="card[cvc]",
            ))
    return problems


def _four_digit_year(exp_year: int) -> int | None:
    """20YY for a two-digit year, the year itself for four digits, else None."""
    if 0 <= exp_year <= 99:
        return 2000 + exp_year
    if 1000 <= exp_year <= 9999:
        return exp_year
    return None
