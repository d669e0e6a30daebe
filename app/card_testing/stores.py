"""The two stores of the card-testing limit (app/card_testing/service.py): the database,
and Redis. Each checks every limit and records a try in one atomic step, so parallel tries
from one address or on one invoice are counted one at a time."""

from __future__ import annotations

import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.card_testing.models import CardTry, CardTryStatus
from app.card_testing.rule import SCOPES, CardTestingLimited, Limits, Scope, StoreUnavailable, Subject

PRUNE_BATCH = 500  # expired rows deleted per try at most
REDIS_TIMEOUT = 0.5  # seconds to connect or answer: a card try waits no longer for a dead Redis
REDIS_RETRY_AFTER = 30  # seconds: after Redis failed, this process counts in the database that long

_T = TypeVar("_T")


class DatabaseStore:
    """Tries as rows (``card_attempts``), in the session's transaction: the caller commits.
    Check-and-record runs under a lock: SQLite's write lock, which a POST holds from its
    first statement; on PostgreSQL, transaction advisory locks on the address and the invoice."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def begin(self, limits: Limits, subject: Subject, now: int) -> str:
        self._lock(f"card-attempts:address:{subject.address}", f"card-attempts:invoice:{subject.invoice_id}")
        self._forget_expired(now - limits.longest_window)
        columns: dict[Scope, InstrumentedAttribute[str]] = {"address": CardTry.client_address,
                                                            "invoice": CardTry.invoice_id}
        for scope in SCOPES:
            wait = self._wait(columns[scope], subject.key(scope), limits, scope, now)
            if wait is not None:
                raise CardTestingLimited(scope, retry_after=wait)
        counted = CardTry(created=now, client_address=subject.address, invoice_id=subject.invoice_id,
                          status=CardTryStatus.UNDER_WAY)
        self.session.add(counted)
        self.session.flush()
        return str(counted.id)

    def finish(self, try_id: str, subject: Subject, *, failed: bool) -> None:
        statement = sa.update(CardTry).values(status=CardTryStatus.FAILED) if failed else sa.delete(CardTry)
        self.session.execute(statement.where(CardTry.id == int(try_id)))

    def _wait(self, column: InstrumentedAttribute[str], value: str, limits: Limits, scope: Scope,
              now: int) -> int | None:
        """Seconds until a try fits every limit of ``scope`` again, or None when it fits now."""
        waits = []
        for item in limits.of(scope):
            window = item.get_expiry()
            count, oldest = self.session.execute(
                sa.select(sa.func.count(), sa.func.min(CardTry.created))
                .where(column == value, CardTry.created > now - window)).one()
            if count >= item.amount:
                waits.append(max(1, oldest + window - now))
        return max(waits) if waits else None

    def _forget_expired(self, cutoff: int) -> None:
        """Delete tries no window counts any more, a bounded batch at a time. Rows another
        transaction is deleting are skipped rather than waited for (PostgreSQL): two tries
        never wait on each other here, whatever order they meet the rows in."""
        expired = (sa.select(CardTry.id).where(CardTry.created <= cutoff).limit(PRUNE_BATCH)
                   .with_for_update(skip_locked=True))
        self.session.execute(sa.delete(CardTry).where(CardTry.id.in_(expired)))

    def _lock(self, *names: str) -> None:
        if self.session.get_bind().dialect.name != "postgresql":
            return  # SQLite: a POST's transaction began IMMEDIATE and holds the one write lock
        for name in sorted(names):  # one order everywhere, so two tries never wait on each other's lock
            self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(zlib.crc32(name.encode()))))


# KEYS: the address's and the invoice's sorted set, in SCOPES order; members are tries,
# scores their start. ARGV: now, the longest window, the try's id, then per key the number
# of its limits and each limit's amount and window. Returns {0, 0} when the try was
# recorded in both sets, else {the full key's position, seconds to wait}.
_BEGIN = """
local now, longest, id = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local arg = 4
for position, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest)
  local wait = 0
  for _ = 1, tonumber(ARGV[arg]) do
    local amount, window = tonumber(ARGV[arg + 1]), tonumber(ARGV[arg + 2])
    arg = arg + 2
    local since = '(' .. (now - window)
    if redis.call('ZCOUNT', key, since, '+inf') >= amount then
      local oldest = redis.call('ZRANGEBYSCORE', key, since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      wait = math.max(wait, 1, tonumber(oldest[2]) + window - now)
    end
  end
  arg = arg + 1
  if wait > 0 then return {position, wait} end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, id)
  redis.call('EXPIRE', key, longest)
end
return {0, 0}
"""


class RedisStore:
    """Tries as members of one sorted set per address and per invoice, checked and recorded
    by one Lua script (atomic in Redis). One per process: it holds the connection pool.

    A Redis error raises StoreUnavailable, and for REDIS_RETRY_AFTER seconds after it this
    store does not try again (it raises at once), so a Redis that is down or unreachable
    costs one timeout per process in that time, not one per card try."""

    PREFIX = "vinr:card-testing"

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._begin = client.register_script(_BEGIN)
        self._down_until = 0.0  # time.monotonic()

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        return cls(redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT))

    def begin(self, limits: Limits, subject: Subject, now: int) -> str:
        try_id = uuid.uuid4().hex
        args: list[int | str] = [now, limits.longest_window, try_id]
        for scope in SCOPES:
            items = limits.of(scope)
            args.append(len(items))
            for item in items:
                args += [item.amount, item.get_expiry()]
        position, wait = self._call(lambda: self._begin(keys=self._keys(subject), args=args))
        if position:
            raise CardTestingLimited(SCOPES[int(position) - 1], retry_after=int(wait))
        return try_id

    def finish(self, try_id: str, subject: Subject, *, failed: bool) -> None:
        if failed:
            return  # it stays in both sets, counted until its windows pass

        def forget() -> list[Any]:
            with self.client.pipeline(transaction=False) as pipe:
                for key in self._keys(subject):
                    pipe.zrem(key, try_id)
                return pipe.execute()
        self._call(forget)

    def _keys(self, subject: Subject) -> list[str]:
        return [f"{self.PREFIX}:{scope}:{subject.key(scope)}" for scope in SCOPES]

    def _call(self, run: Callable[[], _T]) -> _T:
        if time.monotonic() < self._down_until:
            raise StoreUnavailable(f"Redis failed less than {REDIS_RETRY_AFTER} s ago")
        try:
            return run()
        except redis.RedisError as error:
            self._down_until = time.monotonic() + REDIS_RETRY_AFTER
            raise StoreUnavailable(f"Redis: {error}") from error
