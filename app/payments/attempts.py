"""The card-testing defence of the hosted page, counted in the database (SPEC §7, §8).

Failed tries with a card are counted per client address and per invoice over the
configured windows (``CARD_ATTEMPTS_PER_ADDRESS``, ``CARD_ATTEMPTS_PER_INVOICE``, e.g.
"5 per hour"); once a limit is full the next try is refused before anything reaches the
processor. A try fails when the processor refused the card or its authentication, or when
the card failed its own checks (number, expiry); a form that misses a field or has a
malformed security code never reaches the processor and is no failure (the caller says
which, in ``finish``). The rows live in the database every process and host shares, so the count
is the same whichever of them answers.

A try is recorded before it runs (``begin``) and then kept as failed or deleted
(``finish``): a burst of parallel tries counts in full, not only those that finished
before the next one was checked. ``begin`` checks and records under a lock (SQLite's
write lock, which a POST holds from its first statement; on PostgreSQL, transaction
advisory locks on the address and on the invoice).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from limits import RateLimitItem, parse_many
from sqlalchemy.orm import InstrumentedAttribute, Session

from app import clock
from app.errors import RateLimited
from app.payments.models import CardAttempt, CardAttemptStatus

ADDRESS_LENGTH = 64  # the column's; an address is an IP, or what a trusted proxy says it is
PRUNE_BATCH = 500  # expired rows deleted per try at most

Scope = Literal["address", "invoice"]


class CardAttemptsExceeded(RateLimited):
    """A card-testing limit is full. ``scope`` says which: the client address's ("from this
    network") or the invoice's ("on this invoice"), so the page can say the truth."""

    def __init__(self, scope: Scope, *, retry_after: int) -> None:
        super().__init__("Too many failed card attempts; try again later.", code="card_attempts_exceeded",
                         retry_after=retry_after)
        self.scope: Scope = scope


@dataclass(frozen=True)
class Limits:
    per_address: tuple[RateLimitItem, ...]
    per_invoice: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, per_address: str, per_invoice: str) -> Limits:
        """From the config's rate strings ("5 per hour", "5/hour;20/day")."""
        return cls(tuple(parse_many(per_address)), tuple(parse_many(per_invoice)))

    @property
    def longest_window(self) -> int:
        """Seconds after which no limit counts a try any more."""
        return max(item.get_expiry() for item in (*self.per_address, *self.per_invoice))


def begin(session: Session, limits: Limits, *, client_address: str, invoice_id: str) -> CardAttempt:
    """Record a try as under way, unless the failed and unfinished tries from this address
    or on this invoice already fill a limit. Flushes; the caller commits at once, so that
    other processes count it.

    Raises CardAttemptsExceeded (``retry_after``: seconds until the oldest counted try leaves
    the window; ``scope``: the limit that is full) and records nothing when a limit is full.
    """
    now = clock.now()
    client_address = client_address[:ADDRESS_LENGTH]
    _lock(session, f"card-attempts:address:{client_address}", f"card-attempts:invoice:{invoice_id}")
    _forget_expired(session, now - limits.longest_window)
    scopes: tuple[tuple[Scope, InstrumentedAttribute[str], str, Sequence[RateLimitItem]], ...] = (
        ("address", CardAttempt.client_address, client_address, limits.per_address),
        ("invoice", CardAttempt.invoice_id, invoice_id, limits.per_invoice))
    for scope, column, value, items in scopes:
        wait = _wait(session, column, value, items, now)
        if wait is not None:
            raise CardAttemptsExceeded(scope, retry_after=wait)
    attempt = CardAttempt(created=now, client_address=client_address, invoice_id=invoice_id,
                          status=CardAttemptStatus.UNDER_WAY)
    session.add(attempt)
    session.flush()
    return attempt


def finish(session: Session, attempt_id: int, *, failed: bool) -> None:
    """Keep the try as failed, or forget it (it succeeded, or was no card try at all). Flushes."""
    statement = (sa.update(CardAttempt).values(status=CardAttemptStatus.FAILED) if failed
                 else sa.delete(CardAttempt))
    session.execute(statement.where(CardAttempt.id == attempt_id))


def _wait(session: Session, column: InstrumentedAttribute[str], value: str, items: Sequence[RateLimitItem],
          now: int) -> int | None:
    """Seconds until a try fits every one of ``items`` again, or None when it fits now."""
    waits = []
    for item in items:
        window = item.get_expiry()
        count, oldest = session.execute(
            sa.select(sa.func.count(), sa.func.min(CardAttempt.created))
            .where(column == value, CardAttempt.created > now - window)).one()
        if count >= item.amount:
            waits.append(max(1, oldest + window - now))
    return max(waits) if waits else None


def _forget_expired(session: Session, cutoff: int) -> None:
    """Delete tries no window counts any more, a bounded batch at a time. Rows another
    transaction is deleting are skipped rather than waited for (PostgreSQL): two tries
    never wait on each other here, whatever order they meet the rows in."""
    expired = (sa.select(CardAttempt.id).where(CardAttempt.created <= cutoff).limit(PRUNE_BATCH)
               .with_for_update(skip_locked=True))
    session.execute(sa.delete(CardAttempt).where(CardAttempt.id.in_(expired)))


def _lock(session: Session, *names: str) -> None:
    """Serialize check-and-record per address and per invoice across processes."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: a POST's transaction began IMMEDIATE and holds the one write lock
    for name in sorted(names):  # one order everywhere, so two tries never wait on each other's lock
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(zlib.crc32(name.encode()))))  # held to commit
