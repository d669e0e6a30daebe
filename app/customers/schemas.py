from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from app.legal.identifiers import TAX_ID_CHECKS, TaxIdType
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


MAX_TAX_IDS = 5


class TaxId(Params):
    """One of the customer's tax ids; its value is checked by its type's check digits."""

    type: TaxIdType = Field(description="eu_vat (an EU VAT id, e.g. DE123456788), gb_vat, ch_vat, no_vat, "
                                        "or de_stn (a German Steuernummer)")
    value: Annotated[str, Field(min_length=1, max_length=40)]

    @field_validator("value")
    @classmethod
    def _check_digits(cls, value: str, info: ValidationInfo) -> str:
        check = TAX_ID_CHECKS.get(info.data.get("type", ""))
        return check(value) if check is not None else value  # an unknown type is refused on its own


class EInvoiceSettings(Params):
    buyer_reference: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Leitweg-ID or the buyer's order reference (EN 16931 BT-10); the default "
                                  "of their invoices' buyer_reference")
    format: Literal["none", "facturx", "xrechnung_cii", "xrechnung_ubl", "ubl"] = Field(
        default="none", description="The e-invoice the customer receives (none: the PDF alone)")


class CustomerCreate(Params):
    email: EmailAddress | None = None
    name: Annotated[str, Field(max_length=256)] | None = None
    address: Address | None = None
    preferred_locales: Annotated[list[LocaleTag], Field(max_length=10)] = []
    tax_exempt: Literal["none", "exempt", "reverse"] = "none"
    coupon: ObjectRef | None = None
    invoice_settings: InvoiceSettings | None = None
    tax_ids: Annotated[list[TaxId], Field(max_length=MAX_TAX_IDS)] | None = Field(
        default=None, description="Replaces the customer's tax ids (null or [] removes them)")
    einvoice: EInvoiceSettings | None = Field(
        default=None, description="The fields given change; the others keep their value")
    metadata: Metadata = {}


class CustomerUpdate(CustomerCreate):
    """Any creation field; only the fields sent change (metadata merges)."""


class CustomerList(QueryParams):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None
    email: str | None = None
