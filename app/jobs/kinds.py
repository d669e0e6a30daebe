"""Every kind of background work, in one table: what runs a job of each kind, and what
the worker queues on a timer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.jobs import housekeeping
from app.jobs.claims import ClaimedJob
from app.webhooks.delivery import deliver
from app.webhooks.outbox import DELIVER

Handler = Callable[[Session, ClaimedJob], None]

HANDLERS: dict[str, Handler] = {
    DELIVER: deliver,
    housekeeping.PRUNE: housekeeping.prune,
    housekeeping.SWEEP_DEAD_CLAIMS: housekeeping.sweep_dead_claims,
    housekeeping.FINISH_DEAD_CLAIM: housekeeping.finish_dead_claim,
}


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: float  # seconds


PERIODIC = (
    Periodic(housekeeping.PRUNE, 3600),
    Periodic(housekeeping.SWEEP_DEAD_CLAIMS, 60),
)


class UnknownJobKind(Exception):
    pass


def handler_for(kind: str) -> Handler:
    """Raises UnknownJobKind (the job is retried, and fails in the end) for a kind this
    version does not know, e.g. one queued by a newer version during a rolling deploy."""
    try:
        return HANDLERS[kind]
    except KeyError:
        raise UnknownJobKind(f"no handler for job kind {kind!r}") from None
