"""``/v1/account/business_profile`` (SPEC §10): the merchant's legal identity, one per account,
shared by both modes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.accounts.service import Caller
from app.api import bp
from app.api.objects import LegalObject
from app.api.routing import endpoint
from app.business_profile import service as profile
from app.business_profile.schemas import BusinessProfileUpdate
from app.extensions import db


class BusinessProfileObject(LegalObject):
    """The merchant's legal identity (docs/einvoicing.md), shared by both modes."""

    object: Literal["business_profile"]
    livemode: bool
    complete: bool = Field(description="legal_name, address (line1, city, postal_code, country), email, and "
                                       "vat_id or tax_number are set: invoices can be e-invoices")
    missing: list[str] = Field(description="What a complete profile still lacks, as parameter names "
                                           "(address[city], …; vat_id_or_tax_number)")


@endpoint(bp, "GET", "/account/business_profile", response=BusinessProfileObject,
          summary="Retrieve the account's business profile (the seller on its invoices)")
def get_business_profile(caller: Caller) -> dict[str, Any]:
    return profile.serialize(profile.get_profile(db.session, caller.account.id), caller.livemode)


@endpoint(bp, "POST", "/account/business_profile", body=BusinessProfileUpdate, response=BusinessProfileObject,
          summary="Update the account's business profile; invoices already finalized keep the one they copied")
def update_business_profile(caller: Caller, body: BusinessProfileUpdate) -> dict[str, Any]:
    return profile.serialize(profile.update_profile(db.session, caller.account, body), caller.livemode)
