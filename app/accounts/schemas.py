from __future__ import annotations

from app.validation import Params


class AdvanceClock(Params):
    seconds: int  # bounds: app/accounts/clocks.py
