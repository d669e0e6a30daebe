"""Money as integer minor units plus a currency (STYLE: never float).

Currency exponents come from Babel's CLDR data (JPY 0, EUR 2, KWD 3), and so
does the list of currencies an invoice may be in: those that are legal tender
in some territory today (SPEC §2), which leaves out the codes ISO 4217 keeps
for testing (XTS), "no currency" (XXX), metals (XAU), funds (USN, CHW, XDR)
and withdrawn currencies, without a table of our own.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
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


def round_half_away(value: Decimal) -> int:
    """Round to an integer, halves away from zero (finance rounding)."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units
    currency: str

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def format(self, locale: str = "en") -> str:
        return format_currency(self.to_decimal(), self.currency.upper(), locale=locale)
