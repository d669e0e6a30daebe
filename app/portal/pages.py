"""Rendered hosted pages, kept per worker and keyed by everything they show.

A finalized invoice's page changes only when the invoice row changes (its
``version`` moves on every write: payment, void, an edit), when it falls past
due, or when what surrounds it changes: the customer's languages and default
card (or their deletion), the merchant's branding and name. One SELECT reads all of that
(``page_state``) on every request, and the link is checked against it, so a
cached page is never shown for a link that no longer works nor after the
invoice changed. What the key leaves out (a tax rate's renamed label, a theme
file edited in place) shows within ``TTL`` seconds.

The parts that differ per request, the CSP nonce and the CSRF token, are
rendered as random markers and filled in for each answer (``Page.fill``).
Pages with a notice or an error are rendered afresh and not kept.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from cachetools import TTLCache

from app import clock
from app.accounts.models import Account
from app.branding.models import Branding
from app.customers.models import Customer
from app.errors import NotFound
from app.invoices import hosted
from app.invoices.models import Invoice, InvoiceStatus
from app.payments.models import PaymentMethod
from app.portal.presenter import InvoiceView

TTL = 300  # seconds

# Random per process, so no merchant or customer text can contain them.
NONCE_SLOT = "vinr" + secrets.token_hex(16)
CSRF_SLOT = "vinr" + secrets.token_hex(16)
_NONCE, _CSRF = NONCE_SLOT.encode(), CSRF_SLOT.encode()

_i, _c, _a = Invoice.__table__.c, Customer.__table__.c, Account.__table__.c
_pm, _b = PaymentMethod.__table__.c, Branding.__table__.c
# Core, not ORM: this runs on every page view and is most of the cost of a cached one.
_STATE = (
    sa.select(_i.account_id, _i.hosted_token, _i.version, _i.status, _i.due_date, _c.preferred_locales,
              _pm.id, _c.deleted, _b.revision, _b.updated, _a.name)
    .select_from(Invoice.__table__)
    .join(Customer.__table__, _c.id == _i.customer_id)
    .join(Account.__table__, _a.id == _i.account_id)
    .outerjoin(PaymentMethod.__table__, _pm.id == _c.default_payment_method_id)
    .outerjoin(Branding.__table__, _b.account_id == _i.account_id)
    .where(_i.id == sa.bindparam("invoice_id"))
)


@dataclass(frozen=True)
class PageState:
    """What an invoice's hosted page depends on, read in one statement."""

    invoice_id: str
    version: int
    status: InvoiceStatus
    past_due: bool
    preferred_locales: tuple[str, ...]
    saved_method_id: str | None
    customer_deleted: bool
    branding: tuple[str | None, int | None]
    account_name: str

    def key(self, locale: str) -> tuple[object, ...]:
        return (self.invoice_id, self.version, self.status, self.past_due, locale, self.saved_method_id,
                self.customer_deleted, self.branding, self.account_name)


def rendered_state(view: InvoiceView, saved_method_id: str | None) -> PageState:
    """The same state, as read by the ORM for a full render (on PostgreSQL it may be newer
    than ``page_state``'s read: such a page is shown but not kept)."""
    return PageState(view.invoice.id, view.invoice.version, view.invoice.status, view.past_due,
                     tuple(view.customer.preferred_locales or ()), saved_method_id, view.customer.deleted,
                     view.brand.source,
                     view.account.name)


def page_state(bind: sa.Engine | sa.Connection, invoice_id: str, token: str) -> PageState:
    """The state behind the page the link names; NotFound exactly where ``hosted.load`` raises it.

    ``bind`` is the sessions' bind: the engine, or the connection a test runs in.
    """
    signed_for = hosted.signed_account(invoice_id, token)
    row = _read_state(bind, invoice_id)
    if row is None or not hosted.matches(token, signed_for, row[0], row[1]):
        raise NotFound("Not found.")
    (account_id, hosted_token, version, status_value, due_date, locales, saved_method_id, customer_deleted,
     revision, updated, name) = row
    status = InvoiceStatus(status_value)
    if isinstance(locales, str):  # JSON arrives as text from sqlite3, decoded from psycopg
        locales = json.loads(locales)
    return PageState(invoice_id, version, status, hosted.past_due(status, due_date, clock.now()),
                     tuple(locales or ()), saved_method_id, bool(customer_deleted), (revision, updated), name)


def _read_state(bind: sa.Engine | sa.Connection, invoice_id: str) -> Sequence[Any] | None:
    if isinstance(bind, sa.Connection):  # a test's transaction: the same statement through Core
        return bind.execute(_STATE, {"invoice_id": invoice_id}).first()
    # On the engine, the statement SQLAlchemy compiled for this dialect runs on
    # a pooled DBAPI connection: Core's connection and execution machinery cost
    # about 0.12 ms, as much as the rest of a kept page together
    # (docs/performance.md). One SELECT needs no transaction: on SQLite it is
    # atomic on its own; psycopg's implicit one ends when the pool resets the
    # connection on its return.
    sql, order = _compiled(bind.dialect)
    params: Any = {"invoice_id": invoice_id}
    if order is not None:
        params = tuple(params[name] for name in order)
    connection = bind.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, params)
            row: Sequence[Any] | None = cursor.fetchone()
            return row
        finally:
            cursor.close()
    except Exception:
        # SQLAlchemy's disconnect handling is bypassed here: never hand a
        # connection that failed back to the pool.
        connection.invalidate()
        raise
    finally:
        connection.close()


@lru_cache(maxsize=4)
def _compiled(dialect: sa.Dialect) -> tuple[str, tuple[str, ...] | None]:
    """The SQL of ``_STATE`` for ``dialect``, and its parameter order when the driver's style is positional."""
    compiled = _STATE.compile(dialect=dialect)
    return str(compiled), (tuple(compiled.positiontup or ()) if compiled.positional else None)


@dataclass(frozen=True)
class Page:
    """A rendered page as UTF-8, split around its per-request markers."""

    chunks: tuple[bytes, ...]  # text, slot name, text, slot name, ..., text

    @classmethod
    def parse(cls, html: str) -> Page:
        chunks: list[bytes] = []
        for i, piece in enumerate(html.encode().split(_NONCE)):
            if i:
                chunks.append(b"nonce")
            for j, part in enumerate(piece.split(_CSRF)):
                if j:
                    chunks.append(b"csrf")
                chunks.append(part)
        return cls(tuple(chunks))

    @property
    def size(self) -> int:
        """Its text in bytes: what it costs to keep (UTF-8, not Python's wider str)."""
        return sum(len(chunk) for chunk in self.chunks)

    def fill(self, *, nonce: str, csrf: str) -> bytes:
        values = {b"nonce": nonce.encode(), b"csrf": csrf.encode()}
        return b"".join(values[c] if i % 2 else c for i, c in enumerate(self.chunks))


class PageCache:
    """Rendered pages up to a memory budget, thread-safe (one per worker process)."""

    def __init__(self, megabytes: int) -> None:
        self._pages: TTLCache[tuple[object, ...], Page] | None = None
        if megabytes > 0:
            self._pages = TTLCache(megabytes * 1024 * 1024, TTL, getsizeof=lambda page: page.size)
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Page | None:
        if self._pages is None:
            return None
        with self._lock:
            return self._pages.get(key)

    def put(self, key: tuple[object, ...], page: Page) -> None:
        if self._pages is not None and page.size <= self._pages.maxsize:
            with self._lock:
                self._pages[key] = page
