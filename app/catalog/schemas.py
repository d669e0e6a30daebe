from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from app.validation import (
    Amount,
    Country,
    Currency,
    Metadata,
    Params,
    decimal_places,
)


def _percent(places: int) -> AfterValidator:
    def check(value: float) -> float:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        decimal_places(value, places, Decimal(0), Decimal(100))
        return value

    return AfterValidator(check)


# float, not int | float: a union would name the parameter "percentage[int]" in errors.
# Strict mode still refuses strings and booleans; Decimal(str(x)) recovers the exact value.
# The bounds are documented (json_schema_extra) but checked by _percent, for one message;
# the decimal places are described only: JSON Schema's float multipleOf misjudges 0.07.
Percent2 = Annotated[float, Field(allow_inf_nan=False, description="A percentage with at most 2 decimal places.",
                                  json_schema_extra={"exclusiveMinimum": 0, "maximum": 100}), _percent(2)]
Percent4 = Annotated[float, Field(allow_inf_nan=False, description="A percentage with at most 4 decimal places.",
                                  json_schema_extra={"exclusiveMinimum": 0, "maximum": 100}), _percent(4)]


class PriceCreate(Params):
    unit_amount: Amount
    currency: Currency
    nickname: Annotated[str, Field(max_length=256)] | None = None
    metadata: Metadata = {}


class CouponCreate(Params):
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] | None = None
    name: Annotated[str, Field(max_length=256)] | None = None
    percent_off: Percent2 | None = None
    amount_off: Annotated[Amount, Field(gt=0)] | None = None
    currency: Currency | None = None
    duration: Literal["once", "forever"] = "once"
    metadata: Metadata = {}

    def percent_off_e2(self) -> int | None:
        if self.percent_off is None:
            return None
        return int(Decimal(str(self.percent_off)) * 100)


class TaxRateCreate(Params):
    display_name: Annotated[str, Field(min_length=1, max_length=100)]
    percentage: Percent4
    inclusive: bool = False
    country: Country | None = None
    state: Annotated[str, Field(min_length=1, max_length=10)] | None = None
    active: bool = True
    metadata: Metadata = {}

    def percentage_e4(self) -> int:
        return int(Decimal(str(self.percentage)) * 10_000)


class TaxRateUpdate(Params):
    active: bool | None = None
    display_name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    metadata: Metadata | None = None
