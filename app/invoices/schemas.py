from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from app.legal.unit_codes import DEFAULT_UNIT, UNIT_CODES
from app.validation import (
    Amount,
    Currency,
    LongText,
    Metadata,
    ObjectRef,
    Params,
    Quantity,
    QueryParams,
)

Text = Annotated[str, Field(max_length=5000)]
MAX_TIMESTAMP = 253_402_300_799  # unix seconds of 9999-12-31: anything later cannot be a date


Timestamp = Annotated[int, Field(ge=0, le=MAX_TIMESTAMP)]  # unix seconds


def _unit(value: str) -> str:
    code = value.upper()
    if code not in UNIT_CODES:
        raise ValueError(f"{value[:10]!r} is not a UN/ECE Recommendation 20 unit code (e.g. C62 one, HUR hour, "
                         "DAY day, MON month, KGM kilogram, MTR metre)")
    return code


UnitCode = Annotated[str, Field(min_length=1, max_length=20, json_schema_extra={
    "description": "UN/ECE Recommendation 20 (or 21) unit code, as EN 16931 accepts: C62 one (a piece), "
                   "HUR hour, DAY day, MON month, KGM kilogram, …"}), AfterValidator(_unit)]
BuyerReference = Annotated[str, Field(min_length=1, max_length=200)]
TaxRates = Annotated[list[ObjectRef], Field(max_length=10)]
LINE_TAX_RATES = ("Tax rate ids (txr_…) this line pays instead of the invoice's default_tax_rates; "
                  "[] : none; null or left out: the invoice's default_tax_rates, else the rates for the "
                  "customer's location")


class Period(Params):
    """A supply period (EN 16931 BG-14 / BG-26), both ends included."""

    start: Timestamp
    end: Timestamp

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: int, info: ValidationInfo) -> int:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError("must not be before start")
        return end


class DiscountRef(Params):
    coupon: ObjectRef


class LineCreate(Params):
    description: Text | None = None
    quantity: Quantity = 1
    unit: UnitCode = DEFAULT_UNIT
    unit_amount: Amount | None = None
    price: ObjectRef | None = None
    service_period: Period | None = None
    tax_rates: TaxRates | None = Field(default=None, description=LINE_TAX_RATES)
    metadata: Metadata = {}


class LineUpdate(Params):
    description: Text | None = None
    quantity: Quantity | None = None
    unit: UnitCode | None = None
    unit_amount: Amount | None = None
    price: ObjectRef | None = None
    service_period: Period | None = None
    tax_rates: TaxRates | None = Field(default=None, description=LINE_TAX_RATES)
    metadata: Metadata | None = None


class InvoiceFields(Params):
    """Fields a draft accepts, on creation and on update."""

    collection_method: Literal["charge_automatically", "send_invoice"] | None = None
    days_until_due: Annotated[int, Field(ge=0, le=3650)] | None = None
    due_date: Annotated[int, Field(ge=0, le=MAX_TIMESTAMP)] | None = None  # unix seconds
    auto_advance: bool | None = None
    description: LongText | None = None
    footer: LongText | None = None
    metadata: Metadata | None = None
    discounts: Annotated[list[DiscountRef], Field(max_length=20)] | None = None
    default_tax_rates: TaxRates | None = Field(default=None, description=(
        "Tax rate ids (txr_…) every line pays unless it names its own tax_rates; [] : none; null: the "
        "rates for the customer's location"))
    service_period: Period | None = Field(default=None, description=(
        "The supply period (unix seconds); without one the supply date is the finalization date"))
    buyer_reference: BuyerReference | None = Field(default=None, description=(
        "Leitweg-ID or the buyer's order reference (EN 16931 BT-10). A new draft takes the customer's "
        "einvoice.buyer_reference; one left null takes it at finalization"))


class InvoiceCreate(InvoiceFields):
    customer: ObjectRef
    currency: Currency | None = None
    pending_invoice_items_behavior: Literal["include", "exclude"] = "include"


class InvoiceUpdate(InvoiceFields):
    currency: Currency | None = None


class FinalizeParams(Params):
    auto_advance: bool | None = None


class InvoiceList(QueryParams):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None
    customer: str | None = None
    status: Literal["draft", "open", "paid", "void", "uncollectible"] | None = None
    created_gte: Annotated[int | None, Field(alias="created[gte]", ge=0, le=MAX_TIMESTAMP)] = None
    created_lte: Annotated[int | None, Field(alias="created[lte]", ge=0, le=MAX_TIMESTAMP)] = None
    expand: Annotated[list[Literal["customer"]], Field(alias="expand[]")] = []


class InvoiceRetrieve(QueryParams):
    expand: Annotated[list[Literal["customer"]], Field(alias="expand[]")] = []


class InvoiceItemCreate(Params):
    customer: ObjectRef
    currency: Currency | None = None
    description: Text | None = None
    amount: Amount | None = None
    unit_amount: Amount | None = None
    quantity: Quantity | None = None
    unit: UnitCode = DEFAULT_UNIT
    price: ObjectRef | None = None
    service_period: Period | None = None
    tax_rates: TaxRates | None = Field(default=None, description=(
        "Tax rate ids (txr_…) the line made from this item pays; [] : none; null or left out: the "
        "invoice's default_tax_rates, else the rates for the customer's location"))
    metadata: Metadata = {}


class InvoiceItemList(QueryParams):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None
    customer: str | None = None
    pending: bool | None = None
