"""What ``POST /v1/account/business_profile`` takes, checked before the service sees it."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from app.branding.schemas import SupportPhone, SupportUrl
from app.customers.schemas import Address
from app.legal.identifiers import Bic, Iban, VatId
from app.validation import EmailAddress, Params

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(value: str) -> str:
    # Printed in the PDF's header and the e-invoice's party fields: one line each.
    if _CONTROL.search(value):
        raise ValueError("must not contain line breaks or control characters")
    return value


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_one_line)]
TaxNumber = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_one_line)]


class BankAccount(Params):
    """Where customers pay by transfer (EN 16931 BG-17): printed on the invoice, and the SEPA
    credit transfer payment means of its e-invoice."""

    account_holder: Name | None = None
    iban: Iban
    bic: Bic | None = None


class BusinessProfileUpdate(Params):
    """``POST /v1/account/business_profile``: the fields given are set, a field sent
    as null is cleared; ``address`` and ``bank_account`` are replaced whole."""

    legal_name: Name | None = None
    address: Address | None = None
    vat_id: VatId | None = None
    tax_number: TaxNumber | None = Field(default=None, description="National tax number, e.g. a German "
                                         "Steuernummer (143/123/12345)")
    registration: Name | None = Field(default=None, description="Commercial register entry, e.g. "
                                      "Amtsgericht München HRB 12345")
    contact_name: Name | None = Field(default=None, description="The seller's contact point (EN 16931 "
                                      "BT-41); the legal name when unset")
    email: EmailAddress | None = None
    phone: SupportPhone | None = None
    website: SupportUrl | None = None
    bank_account: BankAccount | None = None
    small_business: bool | None = Field(default=None, description="VAT is not charged under a "
                                        "small-business rule (German §19 UStG); the invoice says so")
