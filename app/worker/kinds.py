"""Every kind of background work, in one table: what runs a job of each kind, how many of
its jobs share one unit of work, and what the worker queues on a timer. The registry
sits above the domains, whose job bodies it imports; each kind and its lane are declared
by the domain that queues it (``JobKind``, app/jobs/models.py).

The registry is the worker's side of the boundary to the domains: it hands each body what
it needs (the money flow the app factory built, the settings it reads), from the app the
worker runs (app/worker/runner.py enters its context around each unit of work), as the API
and the hosted page hand them in to the services they call. Read when a job runs, not when
the registry is built: one process may run the jobs of more than one app (the tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session

from app.automation import plans, runs
from app.emails.delivery import send as send_email
from app.emails.service import SEND as SEND_EMAIL
from app.invoices import schedule
from app.jobs import fairness
from app.jobs.claims import ClaimedJob
from app.jobs.models import Lane, lane_of
from app.payments.flow import MoneyFlow, money_flow_of
from app.webhooks.delivery import BATCH_SENDS, deliver
from app.webhooks.outbox import DELIVER
from app.worker import housekeeping

Runner = Callable[[Session, list[ClaimedJob]], None]


def one_by_one(handler: Callable[[Session, ClaimedJob], None]) -> Runner:
    def run(session: Session, jobs: list[ClaimedJob]) -> None:
        for job in jobs:
            handler(session, job)
    return run


def _money() -> MoneyFlow:
    return money_flow_of(current_app)


def _send_email(session: Session, job: ClaimedJob) -> None:
    send_email(session, job, smtp_url=current_app.config["SMTP_URL"], sender=current_app.config["EMAIL_FROM"])


def _auto_finalize(session: Session, job: ClaimedJob) -> None:
    runs.auto_finalize(session, job, _money(), secret_key=current_app.config["SECRET_KEY"])


def _retry_payment(session: Session, job: ClaimedJob) -> None:
    runs.retry_payment(session, job, _money())


def _reask_payment(session: Session, job: ClaimedJob) -> None:
    runs.reask_payment(session, job, _money())


def _finish_dead_collection_slot(session: Session, job: ClaimedJob) -> None:
    housekeeping.finish_dead_collection_slot(session, job, _money())


def _reask_refund(session: Session, job: ClaimedJob) -> None:
    housekeeping.reask_refund(session, job, _money())


def _prune(session: Session, job: ClaimedJob) -> None:
    housekeeping.prune(session, job, event_retention=current_app.config["EVENT_RETENTION"],
                       idempotency_ttl=current_app.config["IDEMPOTENCY_TTL"])


@dataclass(frozen=True)
class Kind:
    run: Runner
    # Jobs of this kind run together in one unit of work (one transaction to record
    # them): webhook tries are sent side by side and recorded at once. A unit holds one
    # account's jobs, and one endpoint's (app/jobs/fairness.py).
    batch: int = 1


# Keyed by JobKind (a str): a claimed job's kind, read back as a plain name, finds its entry.
KINDS: dict[str, Kind] = {
    DELIVER: Kind(deliver, batch=BATCH_SENDS),
    SEND_EMAIL: Kind(one_by_one(_send_email)),
    schedule.AUTO_FINALIZE: Kind(one_by_one(_auto_finalize)),
    plans.RETRY_PAYMENT: Kind(one_by_one(_retry_payment)),
    schedule.REMIND: Kind(one_by_one(runs.remind)),
    plans.REASK: Kind(one_by_one(_reask_payment)),
    housekeeping.FINISH_DEAD_COLLECTION_SLOT: Kind(one_by_one(_finish_dead_collection_slot)),
    housekeeping.PRUNE: Kind(one_by_one(_prune)),
    housekeeping.SWEEP_DEAD_COLLECTION_SLOTS: Kind(one_by_one(housekeeping.sweep_dead_collection_slots)),
    housekeeping.REASK_REFUND: Kind(one_by_one(_reask_refund)),
    housekeeping.SWEEP_PENDING_REFUNDS: Kind(one_by_one(housekeeping.sweep_pending_refunds)),
}
MAX_BATCH = max(kind.batch for kind in KINDS.values())


def batch_of(kind: str) -> int:
    found = KINDS.get(kind)
    return found.batch if found is not None else 1


def lane_batch(lane: Lane) -> int:
    """The most jobs one unit of work of this lane holds."""
    return max((found.batch for kind, found in KINDS.items() if lane_of(kind) is lane), default=1)


BATCHING = fairness.Batching(batch_of, lane_batch)


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: float  # seconds


PERIODIC = (
    Periodic(housekeeping.PRUNE, 3600),
    Periodic(housekeeping.SWEEP_DEAD_COLLECTION_SLOTS, 60),
    Periodic(housekeeping.SWEEP_PENDING_REFUNDS, 60),
)


class UnknownJobKind(Exception):
    pass


def _unknown(kind: str) -> Runner:
    def run(_session: Session, _jobs: list[ClaimedJob]) -> None:
        raise UnknownJobKind(f"no handler for job kind {kind!r}")
    return run


def runner_for(kind: str) -> Runner:
    """A kind this version does not know (one queued by a newer version during a rolling
    deploy, say) raises UnknownJobKind: the job is retried, and fails in the end."""
    found = KINDS.get(kind)
    return found.run if found is not None else _unknown(kind)


def units(jobs: list[ClaimedJob]) -> list[list[ClaimedJob]]:
    """The claimed jobs as units of work: same kind, account and concurrency key, at
    most that kind's batch each."""
    return fairness.units(jobs, batch_of)
