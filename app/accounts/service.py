"""Merchants, their keys and their invoice counters (SPEC §1)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.caller import Caller as Caller  # defined apart so that clocks.py can take one; imported from here
from app.accounts.clocks import offset_of
from app.accounts.models import Account, ApiKey, InvoiceCounter
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


# The clock comes with the key: most writes date what they change on it.
_BY_KEY = (sa.select(Account, ApiKey.livemode, offset_of(Account.id, ApiKey.livemode))
           .join(ApiKey, ApiKey.account_id == Account.id)
           .where(ApiKey.key_hash == sa.bindparam("key_hash")))


def authenticate(session: Session, secret: str | None) -> Caller:
    """Resolve a secret key to its account and mode, or raise AuthenticationFailed."""
    if not secret:
        raise AuthenticationFailed(
            "No API key provided. Send it in the X-Api-Key header or as 'Authorization: Bearer <key>'."
        )
    if not secret.startswith(("sk_test_", "sk_live_")):
        raise AuthenticationFailed("Invalid API key: keys start with sk_test_ or sk_live_.")
    # Checked on every request, nothing cached: a revoked key stops working at once.
    row = session.execute(_BY_KEY, {"key_hash": hash_key(secret)}).first()
    if row is None:
        raise AuthenticationFailed(f"Invalid API key provided: {secret[:8]}…{secret[-4:]}")
    return Caller(account=row[0], livemode=row[1], clock_offset=row[2])




_NEXT_NUMBER = (
    sa.update(InvoiceCounter)
    .where(InvoiceCounter.account_id == sa.bindparam("counter_account"),
           InvoiceCounter.livemode == sa.bindparam("counter_mode"))
    .values(last_number=InvoiceCounter.last_number + 1)
    .returning(InvoiceCounter.last_number)
)


def next_invoice_number(session: Session, account: Account, livemode: bool) -> str:
    """Take the next number. The UPDATE holds the counter row (PostgreSQL row
    lock, SQLite write lock) until commit, so concurrent finalizes queue here
    and a rollback returns the number: no gaps, no duplicates."""
    number = session.execute(_NEXT_NUMBER, {"counter_account": account.id, "counter_mode": livemode}).scalar_one()
    return f"{account.invoice_prefix}-{number:04d}"
