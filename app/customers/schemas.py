from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.validation import Country, EmailAddress, LocaleTag, Metadata, ObjectRef, Params, QueryParams, ShortText


class Address(Params):
    line1: ShortText | None = None
    line2: ShortText | None = None
    city: ShortText | None = None
    postal_code: Annotated[str, Field(max_length=20)] | None = None
    state: Annotated[str, Field(max_length=100)] | None = None
    country: Country | None = None


class InvoiceSettings(Params):
    default_payment_method: ObjectRef | None = None


class CustomerCreate(Params):
    email: EmailAddress | None = None
    name: Annotated[str, Field(max_length=256)] | None = None
    address: Address | None = None
    preferred_locales: Annotated[list[LocaleTag], Field(max_length=10)] = []
    tax_exempt: Literal["none", "exempt", "reverse"] = "none"
    coupon: ObjectRef | None = None
    invoice_settings: InvoiceSettings | None = None
    metadata: Metadata = {}


class CustomerUpdate(CustomerCreate):
    """Any creation field; only the fields sent change (metadata merges)."""


class CustomerList(QueryParams):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None
    email: str | None = None
