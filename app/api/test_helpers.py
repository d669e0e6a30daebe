from __future__ import annotations

from typing import Any

from app.accounts import clocks
from app.accounts.schemas import AdvanceClock
from app.accounts.service import Caller
from app.api import bp, objects
from app.api.routing import endpoint
from app.extensions import db


@endpoint(bp, "POST", "/test_helpers/advance_clock", body=AdvanceClock, response=objects.TestClockObject,
          summary="Move the account's test-mode clock forward (what is scheduled follows it)")
def advance_clock(caller: Caller, body: AdvanceClock) -> dict[str, Any]:
    now = clocks.advance(db.session, caller, body.seconds)
    return {"object": "test_clock", "livemode": False, "now": now}
