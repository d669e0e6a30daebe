"""Idempotency-Key on POST (SPEC §2): the rules; the API boundary
(app/api/routing.py) runs them, because it owns the transactions.

1. The key is claimed in its own committed transaction, so a concurrent request
   with the same key sees it in flight (409) instead of running twice.
2. The request runs; its response is stored in the same transaction as its
   changes, so a crash can never leave a change without its stored answer.
3. A replay within 24 h returns the stored bytes; a different body with the
   same key is refused (400).

A request that failed with a client error is stored and replayed too, like
any other answer, a refusal of the object's state (409) included: the key names
one request, and its retry learns what that request came to. A refusal because
another request was running at that moment (a payment in progress, a concurrent
change), a rate limit or a server error releases the key instead, so that a
retry runs for real.

A claim names the process holding it (app/processes.py). A process killed in the
middle of a request (a gunicorn timeout, an OOM kill) cannot release its key: a retry
that finds its holder gone takes the claim over at once; one whose holder cannot be
checked (another machine) can be taken over after ``IDEMPOTENCY_LOCK_TIMEOUT``
seconds. Until then the retry answers 409 ``idempotency_key_in_use`` with
``Retry-After``.

The boundary hands in what these rules need, and reads the HTTP request and writes
the HTTP response itself: the request's digest (``request_hash``), the key's
``Limits`` (built from the configuration by the app factory), and the stored answer
(``Stored``) it replays.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import clock, processes
from app.accounts.service import Caller
from app.errors import DomainError, IdempotencyError, IdempotencyInFlight, InvalidRequest
from app.idempotency.models import IdempotencyKey

# 409s that say "another request got there at the same moment", not "this object's state refuses it".
RACES = frozenset({"payment_in_progress", "concurrent_modification"})
IN_FLIGHT_RETRY_AFTER = 1  # seconds: most requests finish within one
IN_FLIGHT_MESSAGE = "A request with this Idempotency-Key is still being processed; retry later."


@dataclass(frozen=True)
class Limits:
    """How long a key lives, and how long a claim whose holder cannot be checked holds it (seconds)."""

    ttl: int  # VINR_IDEMPOTENCY_TTL
    lock_timeout: int  # VINR_IDEMPOTENCY_LOCK_TIMEOUT


@dataclass(frozen=True)
class Stored:
    """The answer a key's first request came to, to replay byte for byte."""

    status: int
    body: bytes


def request_hash(secret_key: str, method: str, path: str, body: bytes) -> str:
    """A keyed digest of a request: a body may hold a card number (payment methods),
    and a plain hash of a 16-digit number is cheap to reverse by brute force."""
    digest = hmac.new(("idempotency:" + secret_key).encode(), digestmod=hashlib.sha256)
    digest.update(method.encode() + b" " + path.encode() + b"\n")
    digest.update(body)
    return digest.hexdigest()


def releases(error: DomainError) -> bool:
    """Whether a request that failed so gives its key back (a retry runs for real)."""
    return error.status >= 500 or error.status == 429 or (error.status == 409 and error.code in RACES)


def _stored(row: IdempotencyKey) -> Stored:
    assert row.response_status is not None and row.response_body is not None
    return Stored(row.response_status, row.response_body)


def _holder() -> str:
    """This claim: this process (app/processes.py), and a nonce telling apart two claims of one process."""
    return f"{processes.identity() or 'unknown'}#{secrets.token_hex(4)}"


def _holder_process(holder: str | None) -> str | None:
    return holder.partition("#")[0] if holder else None


def _where(caller: Caller, key: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (IdempotencyKey.account_id == caller.account.id, IdempotencyKey.livemode == caller.livemode,
            IdempotencyKey.key == key)


def claim(session: Session, caller: Caller, key: str, digest: str, limits: Limits) -> Stored | None:
    """Take the key for the request whose ``request_hash`` is ``digest`` (flushes; the
    boundary commits at once), or the stored answer to replay. Raises IdempotencyInFlight
    while another request holds it, IdempotencyError for a different request under the
    same key."""
    if not key or len(key) > 255 or not key.isprintable():
        raise InvalidRequest("Idempotency-Key must be 1 to 255 printable characters.",
                             param="Idempotency-Key")
    now = clock.now()
    if _insert_new(session, caller, key, digest, now):
        return None  # the common case, a new key: one statement
    row = session.scalar(sa.select(IdempotencyKey).where(*_where(caller, key)))
    if row is not None and row.created < now - limits.ttl:
        session.delete(row)
        session.flush()
        if _insert_new(session, caller, key, digest, now):
            return None
        row = None
    if row is None:
        # Released, or expired and taken, by another request between the two statements.
        raise IdempotencyInFlight(IN_FLIGHT_MESSAGE, retry_after=IN_FLIGHT_RETRY_AFTER)
    if row.request_hash != digest:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used with the same parameters they were first used "
            "with. Use a new Idempotency-Key for a different request.")
    if row.response_status is not None:
        return _stored(row)
    if (row.locked_at is not None and row.locked_at > now - limits.lock_timeout
            and not processes.is_gone(_holder_process(row.holder))):
        raise IdempotencyInFlight(IN_FLIGHT_MESSAGE, retry_after=IN_FLIGHT_RETRY_AFTER)
    # The first holder is gone: take the claim over. Two retries may both find it gone;
    # the update is conditional on the claim as read, so only one of them takes it.
    taken = session.execute(
        sa.update(IdempotencyKey).where(*_where(caller, key), IdempotencyKey.response_status.is_(None),
                                        IdempotencyKey.holder.is_not_distinct_from(row.holder),
                                        IdempotencyKey.locked_at.is_not_distinct_from(row.locked_at))
        .values(locked_at=now, holder=_holder())
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
        raise IdempotencyInFlight(IN_FLIGHT_MESSAGE, retry_after=IN_FLIGHT_RETRY_AFTER)
    return None


def _insert_new(session: Session, caller: Caller, key: str, digest: str, now: int) -> bool:
    """Insert the key held by this request unless it exists (held, answered or expired):
    whether it was inserted. A concurrent insert of the same key waits for the other
    transaction (the claim's own, committed at once) and then inserts nothing."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.scalar(dialect.insert(IdempotencyKey.__table__).values(
        account_id=caller.account.id, livemode=caller.livemode, key=key, request_hash=digest, created=now,
        locked_at=now, holder=_holder()).on_conflict_do_nothing().returning(IdempotencyKey.__table__.c.key))
    return inserted is not None  # (its rowcount reads -1 through the psycopg dialect: RETURNING says)


def release(session: Session, caller: Caller, key: str) -> None:
    """Give the key back; flushes."""
    session.execute(sa.delete(IdempotencyKey).where(*_where(caller, key)))


def store(session: Session, caller: Caller, key: str, status: int, body: bytes) -> None:
    """Keep the answer for replays; flushes (in the transaction of the request's own changes)."""
    session.execute(sa.update(IdempotencyKey).where(*_where(caller, key))
                    .values(response_status=status, response_body=body, locked_at=None))


def prune(session: Session, ttl: int) -> None:
    """Forget keys older than ``ttl`` seconds: past it a key may be used afresh anyway."""
    session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created < clock.now() - ttl)
                    .execution_options(synchronize_session=False))
