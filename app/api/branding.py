"""``/v1/account/branding`` (SPEC §3 Branding): one object per account, shared by both modes."""

from __future__ import annotations

from typing import Any, Literal

from app.accounts.service import Caller
from app.api import bp
from app.api.objects import Obj
from app.api.routing import endpoint
from app.branding import service
from app.branding.schemas import BrandingUpdate
from app.extensions import db


class EffectiveColors(Obj):
    primary_color: str
    accent_color: str


class BrandingObject(Obj):
    object: Literal["branding"]
    livemode: bool
    theme: str
    display_name: str
    primary_color: str | None
    accent_color: str | None
    logo: str | None
    support_email: str | None
    support_phone: str | None
    support_url: str | None
    effective: EffectiveColors
    themes: list[str]


@endpoint(bp, "GET", "/account/branding", response=BrandingObject, summary="Retrieve the account's branding")
def get_branding(caller: Caller) -> dict[str, Any]:
    return service.serialize(caller, service.get_branding(db.session, caller))


@endpoint(bp, "POST", "/account/branding", body=BrandingUpdate, response=BrandingObject,
          summary="Update the account's branding")
def update_branding(caller: Caller, body: BrandingUpdate) -> dict[str, Any]:
    return service.serialize(caller, service.update_branding(db.session, caller, body))
