"""The worker's own upkeep, on a timer (app/worker/kinds.py PERIODIC). Like the domains'
job bodies, these are handed what they need by the registry (app/worker/kinds.py)."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from app.events import service as events
from app.idempotency import service as idempotency
from app.jobs import claims
from app.jobs.claims import ClaimedJob
from app.jobs.models import JobKind, Lane
from app.jobs.queue import NewJob, enqueue_many
from app.payments import flow

PRUNE = JobKind("housekeeping.prune", Lane.HOUSEKEEPING)
# The kinds' names are stored in the job rows, so they keep the words of the version that
# queued them first: "claim" there means an invoice's collection slot.
SWEEP_DEAD_COLLECTION_SLOTS = JobKind("payments.sweep_dead_claims", Lane.HOUSEKEEPING)
FINISH_DEAD_COLLECTION_SLOT = JobKind("payments.finish_dead_claim", Lane.COLLECTION)
SWEEP_PENDING_REFUNDS = JobKind("refunds.sweep_pending", Lane.HOUSEKEEPING)
REASK_REFUND = JobKind("refunds.reask", Lane.COLLECTION)
DONE_JOBS_KEPT_SECONDS = 7 * 86400


def prune(session: Session, _job: ClaimedJob, *, event_retention: int, idempotency_ttl: int) -> None:
    """Events after ``event_retention`` seconds (30 days; with their deliveries), idempotency
    keys after ``idempotency_ttl`` (24 hours), done jobs after a week."""
    events.prune(session, event_retention)
    idempotency.prune(session, idempotency_ttl)
    claims.prune_done(session, time.time() - DONE_JOBS_KEPT_SECONDS)


def sweep_dead_collection_slots(session: Session, _job: ClaimedJob) -> None:
    """One job per collection slot a dead process left, so each invoice is finished on
    its own (a processor call each) and once."""
    enqueue_many(session, [NewJob(FINISH_DEAD_COLLECTION_SLOT, invoice_id,
                                  unique_key=f"{FINISH_DEAD_COLLECTION_SLOT}:{payment_id}")
                           for invoice_id, payment_id in flow.dead_slots(session)])


def finish_dead_collection_slot(session: Session, job: ClaimedJob, money: flow.MoneyFlow) -> None:
    flow.finish_dead_slot(session, job.subject, money)


def sweep_pending_refunds(session: Session, _job: ClaimedJob) -> None:
    """One job per pending refund left without an answer (lost, unclear, or its process
    died), so each is sent again on its own (a processor call each), once per time it was
    left: a refund asked again and still unclear is found by a later sweep."""
    enqueue_many(session, [NewJob(REASK_REFUND, refund_id, unique_key=f"{REASK_REFUND}:{refund_id}:{updated}")
                           for refund_id, updated in flow.stale_refunds(session)])


def reask_refund(session: Session, job: ClaimedJob, money: flow.MoneyFlow) -> None:
    flow.reask_refund(session, money, job.subject)
