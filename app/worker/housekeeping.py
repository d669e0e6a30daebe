"""The worker's own upkeep, on a timer (app/worker/kinds.py PERIODIC)."""

from __future__ import annotations

import time

from flask import current_app
from sqlalchemy.orm import Session

from app.events import service as events
from app.idempotency import service as idempotency
from app.jobs import claims
from app.jobs.claims import ClaimedJob
from app.jobs.models import JobKind, Lane
from app.jobs.queue import NewJob, enqueue_many
from app.payments import flow

PRUNE = JobKind("housekeeping.prune", Lane.HOUSEKEEPING)
SWEEP_DEAD_CLAIMS = JobKind("payments.sweep_dead_claims", Lane.HOUSEKEEPING)
FINISH_DEAD_CLAIM = JobKind("payments.finish_dead_claim", Lane.COLLECTION)
DONE_JOBS_KEPT_SECONDS = 7 * 86400


def prune(session: Session, _job: ClaimedJob) -> None:
    """Events after 30 days (with their deliveries), idempotency keys after 24 hours,
    done jobs after a week."""
    events.prune(session, current_app.config["EVENT_RETENTION"])
    idempotency.prune(session, current_app.config["IDEMPOTENCY_TTL"])
    claims.prune_done(session, time.time() - DONE_JOBS_KEPT_SECONDS)


def sweep_dead_claims(session: Session, _job: ClaimedJob) -> None:
    """One job per collection slot a dead process left, so each invoice is finished on
    its own (a processor call each) and once."""
    enqueue_many(session, [NewJob(FINISH_DEAD_CLAIM, invoice_id, unique_key=f"{FINISH_DEAD_CLAIM}:{payment_id}")
                           for invoice_id, payment_id in flow.dead_slots(session)])


def finish_dead_claim(session: Session, job: ClaimedJob) -> None:
    flow.finish_dead_slot(session, job.subject, flow.money_flow_of(current_app))
