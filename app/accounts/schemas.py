from __future__ import annotations

from app.validation import Params


class AdvanceClock(Params):
    seconds: int  # bounds: app/accounts/clocks.py


class SettingsUpdate(Params):
    """``POST /v1/account/settings``: any of the fields (docs/collection.md gives their bounds)."""

    auto_advance_delay: int | None = None
    dunning_retry_days: list[int] | None = None
    reminder_days_before_due: list[int] | None = None
    reminder_days_after_due: list[int] | None = None
