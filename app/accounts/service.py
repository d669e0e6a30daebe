"""Merchants, their keys and their invoice counters (SPEC §1)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Account, ApiKey, InvoiceCounter
from app.db import loaded, run_on_driver
from app.errors import AuthenticationFailed, InvalidRequest
from app.ids import new_id
from app.money import normalize_currency
from app.validation import refuse_bad_text

_PREFIX_RE = re.compile(r"^[A-Z0-9]{1,12}$")


@dataclass(frozen=True)
class NewMerchant:
    account: Account
    test_secret_key: str
    live_secret_key: str


@dataclass(frozen=True)
class Caller:
    """Who is calling: the account and the mode its key selects."""

    account: Account
    livemode: bool


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _default_prefix(name: str) -> str:
    letters = re.sub(r"[^A-Za-z0-9]", "", name).upper()
    return (letters[:4] or "INV")


def create_merchant(session: Session, name: str, prefix: str | None = None, currency: str = "eur") -> NewMerchant:
    """Create an account with one test and one live key; keys are returned once."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidRequest("name must be 1 to 200 characters.", param="name")
    refuse_bad_text(name, ("name",))
    prefix = (prefix or _default_prefix(name)).upper()
    if not _PREFIX_RE.match(prefix):
        raise InvalidRequest("prefix must be 1 to 12 letters or digits.", param="prefix")
    account = Account(
        id=new_id("acct"),
        name=name,
        invoice_prefix=prefix,
        default_currency=normalize_currency(currency),
        created=clock.now(),
    )
    session.add(account)
    keys = {}
    for livemode in (False, True):
        secret = f"sk_{'live' if livemode else 'test'}_{secrets.token_urlsafe(24)}"
        keys[livemode] = secret
        session.add(ApiKey(key_hash=hash_key(secret), account_id=account.id, livemode=livemode,
                           last4=secret[-4:], created=clock.now()))
        session.add(InvoiceCounter(account_id=account.id, livemode=livemode, last_number=0))
    session.flush()
    return NewMerchant(account, keys[False], keys[True])


_accounts, _keys = Account.__table__, ApiKey.__table__
_ACCOUNT_COLUMNS = tuple(column.key for column in _accounts.c)
_KEY_LOOKUP = (
    sa.select(_keys.c.livemode, *_accounts.c)
    .join_from(_keys, _accounts, _accounts.c.id == _keys.c.account_id)
    .where(_keys.c.key_hash == sa.bindparam("key_hash"))
)


def authenticate(session: Session, secret: str | None) -> Caller:
    """Resolve a secret key to its account and mode, or raise AuthenticationFailed."""
    if not secret:
        raise AuthenticationFailed(
            "No API key provided. Send it in the X-Api-Key header or as 'Authorization: Bearer <key>'."
        )
    if not secret.startswith(("sk_test_", "sk_live_")):
        raise AuthenticationFailed("Invalid API key: keys start with sk_test_ or sk_live_.")
    # Every API request runs this, so it is one prebuilt query run on the
    # driver and a detached Account built from its row: loading two ORM
    # entities cost about 0.25 ms per request (docs/performance.md). Still in
    # the request's transaction: a key is checked every time, nothing cached.
    row = run_on_driver(session, _KEY_LOOKUP, {"key_hash": hash_key(secret)}).row
    if row is None:
        raise AuthenticationFailed(f"Invalid API key provided: {secret[:8]}…{secret[-4:]}")
    livemode, *fields = row
    account = loaded(Account, zip(_ACCOUNT_COLUMNS, fields, strict=True))  # if ever added: never INSERTed
    return Caller(account=account, livemode=bool(livemode))  # sqlite3 answers 0 or 1


_counters = cast(sa.Table, InvoiceCounter.__table__)
# Core, run on the driver in the session's transaction: no ORM object holds
# the counter, and it runs on every finalize. It does not autoflush.
_NEXT_NUMBER = (
    sa.update(_counters)
    .where(_counters.c.account_id == sa.bindparam("for_account"), _counters.c.livemode == sa.bindparam("for_mode"))
    .values(last_number=_counters.c.last_number + 1)
    .returning(_counters.c.last_number)
)


def next_invoice_number(session: Session, account: Account, livemode: bool) -> str:
    """Take the next number. The UPDATE holds the counter row (PostgreSQL row
    lock, SQLite write lock) until commit, so concurrent finalizes queue here
    and a rollback returns the number: no gaps, no duplicates."""
    params = {"for_account": account.id, "for_mode": livemode}
    (number,) = run_on_driver(session, _NEXT_NUMBER, params).row
    return f"{account.invoice_prefix}-{number:04d}"
