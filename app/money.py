"""Currencies, money limits and money display. Amounts are integers of minor units
(STYLE: never float); they are shown with Babel (``display``), on the hosted page,
the PDF and the emails alike.

Currency exponents come from Babel's CLDR data (JPY 0, EUR 2, KWD 3), and so
does the list of currencies an invoice may be in: those that are legal tender
in some territory today (SPEC §2), which leaves out the codes ISO 4217 keeps
for testing (XTS), "no currency" (XXX), metals (XAU), funds (USN, CHW, XDR)
and withdrawn currencies, without a table of our own.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.core import get_global
from babel.numbers import format_currency, get_currency_precision, get_territory_currencies

from app.errors import InvalidRequest

# Largest amount accepted for any single money field (minor units). Totals are
# sums of at most MAX_LINES lines of at most MAX_QUANTITY units of this, and
# stay far below 2**63 - 1.
MAX_AMOUNT = 99_999_999_999  # 999,999,999.99 in a 2-decimal currency
MAX_QUANTITY = 1_000_000
MAX_LINES = 250


@lru_cache(maxsize=1)
def _tender_currencies() -> frozenset[str]:
    return frozenset(
        code.lower()
        for territory in get_global("territory_currencies")
        for code in get_territory_currencies(territory, tender=True, non_tender=False))


def normalize_currency(value: str, *, param: str = "currency") -> str:
    """Return the lower-case ISO 4217 code, or raise naming ``param``."""
    code = value.strip().lower()
    if len(code) != 3 or code not in _tender_currencies():
        raise InvalidRequest(f"Invalid currency: {value!r} is not an ISO 4217 currency that money is invoiced in.",
                             param=param)
    return code


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit."""
    return int(get_currency_precision(currency.upper()))


@lru_cache(maxsize=4096)
def display(amount: int, currency: str, locale: str) -> str:
    """``amount`` (minor units) of ``currency`` as ``locale`` writes money: "€1,200.00", "1.200,00 €"."""
    # A page formats ~25 amounts, most of them repeats, and Babel costs ~30 µs
    # a call: the output is a pure function of the inputs.
    value = Decimal(amount).scaleb(-exponent(currency))
    return str(format_currency(value, currency.upper(), locale=locale))
