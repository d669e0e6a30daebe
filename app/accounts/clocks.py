"""Per-account time (SPEC §5): live mode runs on real time; test mode on a clock the
merchant can move forward, which everything scheduled in test mode follows (webhook
retries, and collection over time). Signatures always use real time (app/clock.py)."""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.caller import Caller
from app.accounts.models import TestClock
from app.errors import InvalidRequest
from app.jobs.queue import shift_due

YEAR = 365 * 86400  # seconds
MAX_ADVANCE_SECONDS = 5 * YEAR  # one call; a clock can be moved again
# In all (SPEC §5): far enough for any schedule, and every date stays far inside the
# years that dates, pages, PDFs and e-invoices can show (up to 9999).
MAX_OFFSET_SECONDS = 100 * YEAR


def offset_of(account_id: sa.SQLColumnExpression[str], livemode: sa.SQLColumnExpression[bool]) -> sa.ColumnElement[int]:
    """How far the clock of that account and mode is ahead of real time, in seconds, as
    an SQL expression: to read with the rows it dates, in the same statement."""
    ahead = sa.select(TestClock.offset).where(TestClock.account_id == account_id).scalar_subquery()
    return sa.case((livemode.is_(False), sa.func.coalesce(ahead, 0)), else_=0)


_OFFSET = sa.select(offset_of(sa.bindparam("account_id", type_=sa.String), sa.bindparam("livemode", type_=sa.Boolean)))


def now_for(session: Session, account_id: str, livemode: bool) -> int:
    """The account's time in that mode, in unix seconds."""
    if livemode:
        return clock.now()
    return clock.now() + int(session.execute(_OFFSET, {"account_id": account_id, "livemode": livemode}).scalar_one())


def _now_with(session: Session, offset: int | None, account_id: str, livemode: bool) -> int:
    """The account's time from an offset read earlier with something else, or read now."""
    if offset is not None:
        return clock.now() + offset
    return now_for(session, account_id, livemode)


class OnAccountClock(Protocol):
    """A row dated on its account's clock that may carry the clock's offset, read with it
    (an invoice loaded with ``Invoice.clock_offset``)."""

    @property
    def account_id(self) -> str: ...

    @property
    def livemode(self) -> bool: ...

    @property
    def clock_offset(self) -> int | None: ...


def caller_now(session: Session, caller: Caller) -> int:
    """The time of the caller's account in the caller's mode: from the caller when its
    clock was read with its key, else read now."""
    return _now_with(session, caller.clock_offset, caller.account.id, caller.livemode)


def invoice_now(session: Session, invoice: OnAccountClock) -> int:
    """The time of the invoice's account in its mode: from the invoice when it was loaded
    with its clock (``Invoice.clock_offset``), else read now."""
    return _now_with(session, invoice.clock_offset, invoice.account_id, invoice.livemode)


def advance(session: Session, caller: Caller, seconds: int) -> int:
    """Move the caller's test clock forward; returns its new time. Queued work of the
    account falls due accordingly. Raises InvalidRequest in live mode, and naming
    ``seconds`` when it is not from 1 to 5 years or would take the clock more than
    100 years ahead of real time in all (the clock is not moved then)."""
    if caller.livemode:
        raise InvalidRequest("Test clocks exist only in test mode: use a sk_test_ key.",
                             code="livemode_not_supported")
    if not 1 <= seconds <= MAX_ADVANCE_SECONDS:
        raise InvalidRequest(f"seconds must be from 1 to {MAX_ADVANCE_SECONDS} (the clock only moves forward).",
                             param="seconds", code="parameter_invalid")
    row = session.get(TestClock, caller.account.id, with_for_update=True)
    if row is None:
        row = TestClock(account_id=caller.account.id, offset=0)
        session.add(row)
    if row.offset + seconds > MAX_OFFSET_SECONDS:
        left = max(MAX_OFFSET_SECONDS - row.offset, 0)
        raise InvalidRequest(f"A test clock goes at most 100 years ({MAX_OFFSET_SECONDS} seconds) ahead of real "
                             f"time in all: this one can move at most {left} more seconds.",
                             param="seconds", code="parameter_invalid")
    row.offset += seconds
    session.flush()
    shift_due(session, caller.account.id, False, seconds)
    return clock.now() + row.offset
