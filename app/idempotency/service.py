"""Idempotency-Key on POST (SPEC §2).

1. Claim the key in its own committed transaction, so a concurrent request
   with the same key sees it in flight (409) instead of running twice.
2. Run the request; store its response in the same transaction as its
   changes, so a crash can never leave a change without its stored answer.
3. A replay within 24 h returns the stored bytes; a different body with the
   same key is refused (400).

A request that failed with a client error is stored and replayed too, like
any other answer; a conflict (409), rate limit or server error releases the
key so that a retry can run for real. A claim abandoned by a crashed process
can be taken over after ``IDEMPOTENCY_LOCK_TIMEOUT`` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import sqlalchemy as sa
from flask import Response, current_app, request
from sqlalchemy.orm import Session

from app import clock
from app.accounts.service import Caller
from app.errors import DomainError, IdempotencyError, IdempotencyInFlight, InvalidRequest
from app.idempotency.models import IdempotencyKey

RELEASE_ON = frozenset({409, 429})


def _request_hash() -> str:
    # Keyed: a body may hold a card number (payment methods), and a plain hash
    # of a 16-digit number is cheap to reverse by brute force.
    digest = hmac.new(("idempotency:" + current_app.config["SECRET_KEY"]).encode(), digestmod=hashlib.sha256)
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(row: IdempotencyKey) -> Response:
    assert row.response_status is not None and row.response_body is not None
    response = Response(row.response_body, status=row.response_status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _claim(session: Session, caller: Caller, key: str, request_hash: str) -> IdempotencyKey | Response:
    """Insert the in-flight row and commit, or answer from an existing row."""
    now = clock.now()
    ttl = current_app.config["IDEMPOTENCY_TTL"]
    where = (IdempotencyKey.account_id == caller.account.id, IdempotencyKey.livemode == caller.livemode,
             IdempotencyKey.key == key)
    row = session.scalar(sa.select(IdempotencyKey).where(*where))
    if row is not None and row.created < now - ttl:
        session.delete(row)
        session.flush()
        row = None
    if row is None:
        row = IdempotencyKey(account_id=caller.account.id, livemode=caller.livemode, key=key,
                             request_hash=request_hash, created=now, locked_at=now)
        try:
            with session.begin_nested():
                session.add(row)
        except sa.exc.IntegrityError:
            # Another request inserted the same key first and has not finished.
            session.rollback()
            raise IdempotencyInFlight(
                "A request with this Idempotency-Key is still being processed; retry later.") from None
        session.commit()
        return row
    if row.request_hash != request_hash:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used with the same parameters they were first used "
            "with. Use a new Idempotency-Key for a different request.")
    if row.response_status is not None:
        return _replay(row)
    if row.locked_at is not None and row.locked_at > now - current_app.config["IDEMPOTENCY_LOCK_TIMEOUT"]:
        raise IdempotencyInFlight("A request with this Idempotency-Key is still being processed; retry later.")
    row.locked_at = now  # the first holder is gone: take the claim over
    session.commit()
    return row


def _release(session: Session, row: IdempotencyKey) -> None:
    session.rollback()
    session.execute(sa.delete(IdempotencyKey).where(
        IdempotencyKey.account_id == row.account_id, IdempotencyKey.livemode == row.livemode,
        IdempotencyKey.key == row.key))
    session.commit()


def _store(session: Session, row: IdempotencyKey, status: int, body: bytes) -> None:
    session.execute(sa.update(IdempotencyKey).where(
        IdempotencyKey.account_id == row.account_id, IdempotencyKey.livemode == row.livemode,
        IdempotencyKey.key == row.key).values(response_status=status, response_body=body, locked_at=None))


def handle(session: Session, caller: Caller, key: str, run: Callable[[], tuple[int, bytes]]) -> Response:
    """Run ``run`` at most once for this key; see the module docstring."""
    if not key or len(key) > 255 or not key.isprintable():
        raise InvalidRequest("Idempotency-Key must be 1 to 255 printable characters.",
                             param="Idempotency-Key")
    claimed = _claim(session, caller, key, _request_hash())
    if isinstance(claimed, Response):
        return claimed
    row = claimed
    try:
        status, body = run()
    except DomainError as error:
        if error.status >= 500 or error.status in RELEASE_ON:
            _release(session, row)
            raise
        session.rollback()
        body = current_app.json.dumps(error.to_dict()).encode()
        _store(session, row, error.status, body)
        session.commit()
        raise
    except BaseException:
        _release(session, row)
        raise
    _store(session, row, status, body)
    session.commit()
    return Response(body, status=status, mimetype="application/json")
