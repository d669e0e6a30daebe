"""Who is calling: the account and the mode its key selects (app/accounts/service.py
``authenticate``), and every service's first argument after the session."""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts.models import Account


@dataclass(frozen=True)
class Caller:
    """Who is calling: the account and the mode its key selects, and how far that
    mode's clock is ahead of real time (a test clock, SPEC §5; 0 in live mode) when it
    was read with the key (None: not read, app/accounts/clocks.caller_now reads it)."""

    account: Account
    livemode: bool
    clock_offset: int | None = None
