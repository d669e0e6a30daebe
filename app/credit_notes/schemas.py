"""Request shapes of ``/v1/credit_notes`` (SPEC §11)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from app.invoices.schemas import TaxRates, UnitCode
from app.legal.unit_codes import DEFAULT_UNIT
from app.validation import Amount, LongText, Metadata, ObjectRef, Params, Quantity, QueryParams

Reason = Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"]
MAX_CREDIT_LINES = 250


class InvoiceLineCredit(Params):
    """Part of one of the invoice's lines: ``quantity`` of its units, or ``amount`` of it (minor
    units, after its discounts and without exclusive tax); all that is left of it when neither."""

    type: Literal["invoice_line_item"]
    invoice_line_item: ObjectRef
    quantity: Quantity | None = None
    amount: Amount | None = None


class CustomLineCredit(Params):
    """A line the invoice does not have, taxed at ``tax_rates`` among the invoice's own."""

    type: Literal["custom_line_item"]
    description: Annotated[str, Field(min_length=1, max_length=5000)]
    unit_amount: Amount
    quantity: Quantity = 1
    unit: UnitCode = DEFAULT_UNIT
    tax_rates: TaxRates = Field(default=[], description="Tax rate ids (txr_…) among those of the invoice")


CreditLine = Annotated[InvoiceLineCredit | CustomLineCredit, Field(discriminator="type")]


class CreditNoteParams(Params):
    invoice: ObjectRef
    lines: Annotated[list[CreditLine], Field(min_length=1, max_length=MAX_CREDIT_LINES)] | None = None
    amount: Annotated[int, Field(ge=1, le=99_999_999_999)] | None = Field(default=None, description=(
        "A share of the whole invoice, tax included (minor units), split over its VAT rates as the "
        "invoice is; instead of lines"))
    reason: Reason | None = None
    memo: LongText | None = None
    refund_amount: Amount | None = Field(default=None, description=(
        "Of the post-payment part: refunded to the card that paid the invoice"))
    out_of_band_amount: Amount | None = Field(default=None, description=(
        "Of the post-payment part: given back outside VINR"))
    credit_amount: Amount | None = Field(default=None, description=(
        "Of the post-payment part: credited to the customer's balance, taken off their next invoice"))
    metadata: Metadata = {}


class CreditNoteCreate(CreditNoteParams):
    """The body of ``POST /v1/credit_notes``: its own name in the OpenAPI document."""


_BRACKETS = re.compile(r"\[([^\]]*)\]")


def unflatten(args: dict[str, Any]) -> dict[str, Any]:
    """``lines[0][quantity]=2`` query keys as the nested JSON a POST body would carry."""
    nested: dict[str, Any] = {}
    for key, value in args.items():
        head = key.split("[", 1)[0]
        parts: list[Any] = [head, *_BRACKETS.findall(key[len(head):])]
        node: Any = nested
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if parts[i + 1].isdigit() else {})
            else:  # a list, indexed by a number
                index = int(part) if str(part).isdigit() else -1
                if index < 0 or index > 1000:
                    raise ValueError(f"{key}: a list index must be a number")
                while len(node) <= index:
                    node.append(None)
                if last:
                    node[index] = value
                else:
                    if node[index] is None:
                        node[index] = [] if parts[i + 1].isdigit() else {}
                    node = node[index]
    return nested


class CreditNotePreview(QueryParams):
    """The parameters of a credit note, in the query string (``lines[0][type]=…``)."""

    invoice: ObjectRef
    lines: list[dict[str, Any]] | None = Field(default=None, json_schema_extra={"style": "deepObject"})
    amount: int | None = None
    reason: Reason | None = None
    memo: LongText | None = None
    refund_amount: int | None = None
    out_of_band_amount: int | None = None
    credit_amount: int | None = None
    metadata: dict[str, str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _nested(cls, data: Any) -> Any:
        return unflatten(data) if isinstance(data, dict) else data


class CreditNoteUpdate(Params):
    memo: LongText | None = None
    metadata: Metadata | None = None


class CreditNoteList(QueryParams):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None
    invoice: str | None = None
    customer: str | None = None
