"""An account's schedule for collection over time (SPEC §5 ``/v1/account/settings``),
one per mode: when ``auto_advance`` drafts finalize, when dunning tries again, when
reminders go out. Read by what plans that work (app/invoices/schedule.py, app/automation/plans.py) at the
moment it plans it, so a change applies to what is planned after it; tries and
reminders already planned keep their time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import CollectionSettings
from app.accounts.schemas import SettingsUpdate
from app.accounts.service import Caller
from app.errors import InvalidRequest

MAX_AUTO_ADVANCE_DELAY = 30 * 86400  # seconds
MAX_DAYS = 60  # any one entry of a schedule
MAX_DUNNING_RETRIES = 8
MAX_REMINDERS = 5


@dataclass(frozen=True)
class Schedule:
    auto_advance_delay: int = 3600
    dunning_retry_days: tuple[int, ...] = (3, 5, 7)
    reminder_days_before_due: tuple[int, ...] = (3,)
    reminder_days_after_due: tuple[int, ...] = (1, 7)
    attach_pdf: bool = True  # the invoice email and the receipt attach the invoice's PDF (SPEC §10)


DEFAULTS = Schedule()


def schedule_for(session: Session, account_id: str, livemode: bool) -> Schedule:
    row = session.get(CollectionSettings, (account_id, livemode))
    if row is None:
        return DEFAULTS
    return Schedule(row.auto_advance_delay, tuple(row.dunning_retry_days), tuple(row.reminder_days_before_due),
                    tuple(row.reminder_days_after_due), row.attach_pdf)


def update(session: Session, caller: Caller, params: SettingsUpdate) -> Schedule:
    """Change the fields given; raises InvalidRequest naming the first bad one (nothing changes then)."""
    for name in sorted(params.model_fields_set):
        if getattr(params, name) is None:
            raise InvalidRequest(f"{name} cannot be null: leave it out to keep its value.",
                                 param=name, code="parameter_invalid")
    current = schedule_for(session, caller.account.id, caller.livemode)
    delay = current.auto_advance_delay
    if params.auto_advance_delay is not None:
        delay = params.auto_advance_delay
        if not 0 <= delay <= MAX_AUTO_ADVANCE_DELAY:
            raise InvalidRequest(f"auto_advance_delay must be from 0 to {MAX_AUTO_ADVANCE_DELAY} seconds (30 days).",
                                 param="auto_advance_delay", code="parameter_invalid")
    dunning = _days(params.dunning_retry_days, current.dunning_retry_days, "dunning_retry_days",
                    lowest=1, most=MAX_DUNNING_RETRIES, increasing=False)
    before = _days(params.reminder_days_before_due, current.reminder_days_before_due, "reminder_days_before_due",
                   lowest=0, most=MAX_REMINDERS, increasing=True)
    after = _days(params.reminder_days_after_due, current.reminder_days_after_due, "reminder_days_after_due",
                  lowest=1, most=MAX_REMINDERS, increasing=True)
    attach_pdf = current.attach_pdf if params.attach_pdf is None else params.attach_pdf
    row = session.get(CollectionSettings, (caller.account.id, caller.livemode))
    if row is None:
        row = CollectionSettings(account_id=caller.account.id, livemode=caller.livemode)
        session.add(row)
    row.auto_advance_delay, row.dunning_retry_days = delay, list(dunning)
    row.reminder_days_before_due, row.reminder_days_after_due = list(before), list(after)
    row.attach_pdf = attach_pdf
    row.updated = clock.now()
    session.flush()
    return Schedule(delay, dunning, before, after, attach_pdf)


def _days(given: list[int] | None, current: tuple[int, ...], param: str, *, lowest: int, most: int,
          increasing: bool) -> tuple[int, ...]:
    if given is None:
        return current
    if len(given) > most:
        raise InvalidRequest(f"{param} takes at most {most} entries.", param=param, code="parameter_invalid")
    for days in given:
        if not lowest <= days <= MAX_DAYS:
            raise InvalidRequest(f"{param}: each entry is a number of days from {lowest} to {MAX_DAYS}; "
                                 f"{days} is not.", param=param, code="parameter_invalid")
    if increasing and len(set(given)) != len(given):
        raise InvalidRequest(f"{param} lists a day twice.", param=param, code="parameter_invalid")
    # Reminders are each their own day; dunning waits are intervals, in the order tried.
    return tuple(sorted(given)) if increasing else tuple(given)


def serialize(caller: Caller, schedule: Schedule) -> dict[str, Any]:
    return {"object": "account_settings", "livemode": caller.livemode,
            "auto_advance_delay": schedule.auto_advance_delay,
            "dunning_retry_days": list(schedule.dunning_retry_days),
            "reminder_days_before_due": list(schedule.reminder_days_before_due),
            "reminder_days_after_due": list(schedule.reminder_days_after_due),
            "attach_pdf": schedule.attach_pdf}
