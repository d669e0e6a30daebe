"""The card-testing limit (SPEC §7, §8): one rule, one interface, two stores.

The rule: failed tries with a card are counted per client address ("from this network")
and per invoice ("on this invoice") over the configured windows
(``VINR_CARD_ATTEMPTS_PER_ADDRESS``, ``VINR_CARD_ATTEMPTS_PER_INVOICE``, e.g. "5 per hour",
in the rate syntax of the ``limits`` library); once a limit is full the next try is refused
(``CardTestingLimited``, a 429 with ``retry_after``: the seconds until the oldest counted
try leaves its window) before anything reaches the processor. Only failures count: the
processor refused the card or its authentication, or the card failed its own checks; the
caller says which in ``finish``.

The interface, ``CardTestingLimit``: ``begin`` a try before it runs, ``finish`` it once its
outcome is known (kept when it failed, forgotten otherwise). A try counts from ``begin``, so
a burst of parallel tries counts in full, not only those that finished before the next was
checked; and ``begin`` checks and records in one atomic step per store.

The stores (app/card_testing/stores.py): the database, which every process and host shares
(SPEC §8) and which is always there; and Redis, with ``VINR_REDIS_URL``, which keeps an
attack's writes and locks off the database (in the database a try costs two commits and two
advisory locks; the portal does not wait for those commits to reach the disk, as a lost
count is harmless, see app/portal/card_testing.py).
While Redis cannot be reached a try is counted in the database instead (a warning is
logged), so the defence holds through the outage rather than waving tries through, and the
outage never becomes an error page. The two counts are not added up: across the switch a
client may get up to one limit's worth of failures in each.

Why not Flask-Limiter (or the ``limits`` library's storage under it): counting only
failures there means testing the limit before the request and counting after it
(``deduct_when``), so parallel tries are all let through (measured with 12 simultaneous
declined tries from one address and a limit of 5: all 12 reached the processor; counted
from ``begin``, 5 do). Counting from the start and forgetting a try that succeeded needs
the removal of one entry of a moving window, and the check of two keys (address and
invoice) with one record in both, which ``limits``' strategies do not offer; nor has it an
SQL storage. Its rate syntax is still what parses the configuration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app import clock
from app.card_testing.models import ADDRESS_LENGTH
from app.card_testing.rule import Limits, Store, StoreUnavailable, Subject
from app.card_testing.stores import DatabaseStore, RedisStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Begun:
    """A try under way: counted until ``finish``."""

    try_id: str
    subject: Subject
    in_database: bool


class CardTestingLimit:
    """The card-testing limit, counted in ``shared`` (Redis) when given, else, and whenever
    ``shared`` cannot be reached, in the database of the session passed in. One per app."""

    def __init__(self, limits: Limits, *, shared: Store | None = None) -> None:
        self.limits = limits
        self.shared = shared

    def begin(self, session: Session, *, client_address: str, invoice_id: str) -> Begun:
        """Record a try as under way, unless the failed and unfinished tries from this address
        or on this invoice already fill a limit. In the database it flushes, and the caller
        commits at once so that other processes count it.

        Raises CardTestingLimited and records nothing when a limit is full.
        """
        subject = Subject(client_address[:ADDRESS_LENGTH], invoice_id)
        now = clock.now()
        if self.shared is not None:
            try:
                return Begun(self.shared.begin(self.limits, subject, now), subject, in_database=False)
            except StoreUnavailable as down:
                log.warning("card-testing limit: %s; counting this try in the database instead", down)
        return Begun(DatabaseStore(session).begin(self.limits, subject, now), subject, in_database=True)

    def finish(self, session: Session, begun: Begun, *, failed: bool) -> None:
        """Keep the try as failed, or forget it (it succeeded, or was no card try at all). In
        the database it flushes. A try Redis cannot forget stays counted until its window
        passes (a warning is logged): it errs towards the defence."""
        if begun.in_database:
            DatabaseStore(session).finish(begun.try_id, begun.subject, failed=failed)
            return
        assert self.shared is not None  # begun there
        try:
            self.shared.finish(begun.try_id, begun.subject, failed=failed)
        except StoreUnavailable as down:
            log.warning("card-testing limit: %s; a try that %s stays counted until its window passes", down,
                        "failed" if failed else "did not fail")


def from_config(per_address: str, per_invoice: str, redis_url: str | None) -> CardTestingLimit:
    """The limit as configured (``VINR_CARD_ATTEMPTS_PER_*``, ``VINR_REDIS_URL``); no
    connection is opened until the first try."""
    shared = RedisStore.from_url(redis_url) if redis_url is not None else None
    return CardTestingLimit(Limits.parse(per_address, per_invoice), shared=shared)
