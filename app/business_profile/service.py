"""The business profile (SPEC §10 ``/v1/account/business_profile``): who the merchant is in law,
as its invoices print it. One per account, shared by both modes, as the branding is.

Every value was checked before it gets here (app/business_profile/schemas.py: VAT id and IBAN by their
check digits), so an update either applies whole or, refused with a 400, not at all.
Finalizing an invoice copies ``legal_fields`` onto it (``Invoice.account_legal``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Account, BusinessProfile
from app.business_profile.schemas import BusinessProfileUpdate
from app.errors import InvalidRequest
from app.events.service import record

# What a complete profile has (SPEC §10 ``complete``), named as the parameters that set it.
REQUIRED = ("legal_name", "address[line1]", "address[city]", "address[postal_code]", "address[country]",
            "email")
TAX_ID = "vat_id_or_tax_number"  # one of the two is required

_SCALARS = ("legal_name", "vat_id", "tax_number", "registration", "contact_name", "email", "phone", "website")


def get_profile(session: Session, account_id: str) -> BusinessProfile | None:
    """The account's profile row, or None when nothing was ever set."""
    return session.get(BusinessProfile, account_id)


def legal_fields(profile: BusinessProfile | None) -> dict[str, Any]:
    """The profile's fields as the API shows them and an invoice copies them (``contact_name``
    falls back to the legal name, as EN 16931 BT-41 wants a contact point)."""
    if profile is None:
        profile = BusinessProfile(small_business=False)  # nothing set: every field empty
    return {
        "legal_name": profile.legal_name,
        "address": dict(profile.address) if profile.address else None,
        "vat_id": profile.vat_id, "tax_number": profile.tax_number, "registration": profile.registration,
        "contact_name": profile.contact_name or profile.legal_name,
        "email": profile.email, "phone": profile.phone, "website": profile.website,
        "bank_account": dict(profile.bank_account) if profile.bank_account else None,
        "small_business": profile.small_business,
    }


def missing(legal: Mapping[str, Any]) -> list[str]:
    """What ``legal`` (``legal_fields``, or an invoice's ``account_legal``) lacks to be complete,
    in the order of REQUIRED, then ``vat_id_or_tax_number``."""
    address = legal.get("address") or {}
    absent = [name for name in REQUIRED
              if not (address.get(name[8:-1]) if name.startswith("address[") else legal.get(name))]
    if not legal.get("vat_id") and not legal.get("tax_number"):
        absent.append(TAX_ID)
    return absent


def serialize(profile: BusinessProfile | None, livemode: bool) -> dict[str, Any]:
    """The ``business_profile`` object (SPEC §10) as seen with a key of ``livemode``."""
    legal = legal_fields(profile)
    gaps = missing(legal)
    return {"object": "business_profile", "livemode": livemode, **legal, "complete": not gaps, "missing": gaps}


def update_profile(session: Session, account: Account, params: BusinessProfileUpdate) -> BusinessProfile:
    """Set the fields given (null clears one; ``address`` and ``bank_account`` are replaced whole),
    creating the row. A change records ``account.business_profile.updated`` in both modes, whose
    invoices both print the profile. Raises InvalidRequest for a null ``small_business``."""
    fields = params.model_fields_set
    if "small_business" in fields and params.small_business is None:
        raise InvalidRequest("small_business cannot be null: send true or false.", param="small_business")
    stored = get_profile(session, account.id)
    profile = stored if stored is not None else BusinessProfile(account_id=account.id, small_business=False)
    before = legal_fields(stored)
    for name in _SCALARS:
        if name in fields:
            setattr(profile, name, getattr(params, name))
    if "address" in fields:
        profile.address = params.address.model_dump() if params.address is not None else None
    if "bank_account" in fields:
        profile.bank_account = params.bank_account.model_dump() if params.bank_account is not None else None
    if params.small_business is not None:
        profile.small_business = params.small_business
    if legal_fields(profile) == before:
        return profile  # nothing changed: no row written, no event
    profile.updated = clock.now()
    if stored is None:
        session.add(profile)
    session.flush()
    for livemode in (False, True):
        record(session, account.id, livemode, "account.business_profile.updated", serialize(profile, livemode))
    return profile
