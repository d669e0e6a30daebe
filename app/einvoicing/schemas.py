from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.validation import QueryParams


class EInvoiceQuery(QueryParams):
    format: Literal["facturx", "xrechnung_cii", "xrechnung_ubl", "ubl"] | None = Field(
        default=None, description="The syntax; default: the customer's einvoice.format, else facturx")
