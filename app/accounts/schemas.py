from __future__ import annotations

from pydantic import Field

from app.validation import Params


class AdvanceClock(Params):
    seconds: int = Field(description=(  # bounds: app/accounts/clocks.py
        "How far to move the test clock forward: 1 second to 5 years (157680000) a call, and at most "
        "100 years (3153600000) ahead of real time in all; beyond either, 400 naming seconds."))


class SettingsUpdate(Params):
    """``POST /v1/account/settings``: any of the fields (docs/collection.md gives their bounds)."""

    auto_advance_delay: int | None = None
    dunning_retry_days: list[int] | None = Field(default=None, description=(
        "Days VINR waits before each further try of a failed automatic collection, each from the previous "
        "try: at most 8 entries of 1 to 60 days. [] means no retries: the first decline makes the invoice "
        "uncollectible."))
    reminder_days_before_due: list[int] | None = None
    reminder_days_after_due: list[int] | None = None
    attach_pdf: bool | None = Field(default=None, description=(
        "Whether the invoice email and the receipt attach the invoice's PDF (default true)."))
