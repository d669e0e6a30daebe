"""``/v1/account/settings`` (SPEC §5): the collection schedule of the key's mode."""

from __future__ import annotations

from typing import Any, Literal

from app.accounts import settings
from app.accounts.schemas import SettingsUpdate
from app.accounts.service import Caller
from app.api import bp
from app.api.objects import Obj
from app.api.routing import endpoint
from app.extensions import db


class AccountSettingsObject(Obj):
    object: Literal["account_settings"]
    livemode: bool
    auto_advance_delay: int  # seconds from a draft's creation to its auto-finalization
    dunning_retry_days: list[int]  # waits between automatic tries, each from the previous one
    reminder_days_before_due: list[int]
    reminder_days_after_due: list[int]
    attach_pdf: bool  # the invoice email and the receipt attach the invoice's PDF


@endpoint(bp, "GET", "/account/settings", response=AccountSettingsObject,
          summary="Retrieve the collection schedule (auto-finalization, dunning, reminders)")
def get_settings(caller: Caller) -> dict[str, Any]:
    return settings.serialize(caller, settings.schedule_for(db.session, caller.account.id, caller.livemode))


@endpoint(bp, "POST", "/account/settings", body=SettingsUpdate, response=AccountSettingsObject,
          summary="Update the collection schedule; applies to what is planned from now on")
def update_settings(caller: Caller, body: SettingsUpdate) -> dict[str, Any]:
    return settings.serialize(caller, settings.update(db.session, caller, body))
