"""The card-testing rule (SPEC §7): what is counted, against what, and the refusal.
The interface that applies it is app/card_testing/service.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from limits import RateLimitItem, parse_many

from app.errors import RateLimited

Scope = Literal["address", "invoice"]
SCOPES: tuple[Scope, ...] = ("address", "invoice")  # the order limits are checked in


class CardTestingLimited(RateLimited):
    """A card-testing limit is full. ``scope`` says which: the client address's ("from this
    network") or the invoice's ("on this invoice"), so the page can say the truth."""

    def __init__(self, scope: Scope, *, retry_after: int) -> None:
        super().__init__("Too many failed card attempts; try again later.", code="card_attempts_exceeded",
                         retry_after=retry_after)
        self.scope: Scope = scope


class StoreUnavailable(Exception):
    """A store cannot be reached (Redis down); the try is counted in the database instead."""


@dataclass(frozen=True)
class Limits:
    per_address: tuple[RateLimitItem, ...]
    per_invoice: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, per_address: str, per_invoice: str) -> Limits:
        """From the config's rate strings ("5 per hour", "5/hour;20/day"). Raises ValueError."""
        return cls(tuple(parse_many(per_address)), tuple(parse_many(per_invoice)))

    def of(self, scope: Scope) -> Sequence[RateLimitItem]:
        return self.per_address if scope == "address" else self.per_invoice

    @property
    def longest_window(self) -> int:
        """Seconds after which no limit counts a try any more."""
        return max(item.get_expiry() for item in (*self.per_address, *self.per_invoice))


@dataclass(frozen=True)
class Subject:
    """What a try is counted against: the client's address and the invoice the link names."""

    address: str
    invoice_id: str

    def key(self, scope: Scope) -> str:
        return self.address if scope == "address" else self.invoice_id


class Store(Protocol):
    """Where tries are counted. ``begin`` checks every limit and records the try in one
    atomic step, returning the try's id, or raises CardTestingLimited (nothing recorded);
    ``finish`` keeps the try as failed or forgets it. Both raise StoreUnavailable when the
    store cannot be reached. A try's ``now`` is unix seconds (``app.clock``)."""

    def begin(self, limits: Limits, subject: Subject, now: int) -> str: ...

    def finish(self, try_id: str, subject: Subject, *, failed: bool) -> None: ...
