"""Dunning in live mode against a mocked stripe-like processor: a try never moves money
beside an earlier attempt whose outcome is unknown (docs/payments.md)."""

from __future__ import annotations

import time
from typing import Any

import requests
import responses
import sqlalchemy as sa
from flask import Flask

from app.automation.plans import RETRY_PAYMENT
from app.jobs.models import Job, JobStatus
from app.jobs.worker import Worker
from tests.payments import test_live_collection
from tests.payments.test_live_collection import INTENTS, Live

# The live merchant, its mocked processor and its recorded backoff: that module's fixtures.
live, rsps, sleeps = test_live_collection.live, test_live_collection.rsps, test_live_collection.sleeps


def make_due(api: Live, invoice_id: str) -> None:
    """Live mode has no test clock: the planned try is made due by hand."""
    api.session.execute(sa.update(Job).where(Job.subject == invoice_id, Job.kind == RETRY_PAYMENT,
                                             Job.status == JobStatus.QUEUED).values(due_at=time.time() - 1))


def retry_job(api: Live, invoice_id: str) -> Job:
    return api.session.execute(sa.select(Job).where(Job.subject == invoice_id, Job.kind == RETRY_PAYMENT)
                               .execution_options(populate_existing=True)).scalar_one()


def test_a_try_waits_while_an_earlier_outcome_is_unknown(live: Live, live_app: Flask,
                                                          rsps: responses.RequestsMock) -> None:
    invoice = live.ok("POST", "/v1/invoices", {"customer": live.customer_id})
    live.ok("POST", f"/v1/invoices/{invoice['id']}/lines", {"description": "Work", "unit_amount": 4200})
    rsps.add(responses.POST, INTENTS, body=requests.exceptions.ConnectionError("connection reset by peer"))
    finalized = live.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")
    assert finalized["status"] == "open" and finalized["next_payment_attempt"] is not None
    charges = len(rsps.calls)
    make_due(live, invoice["id"])
    run: Any = Worker(live_app, worker_id="test-worker").run_due
    run()  # asked again, still no answer: no second charge beside it
    job = retry_job(live, invoice["id"])
    assert job.status is JobStatus.QUEUED and job.attempts == 1 and "unknown" in (job.last_error or "")
    assert len(live.payments(invoice["id"])) == 1
    assert {call.request.headers["Idempotency-Key"] for call in rsps.calls[charges:]} == \
        {rsps.calls[0].request.headers["Idempotency-Key"]}  # only the same charge, asked again
    # The processor answers again: the earlier charge was declined, so this try charges anew.
    rsps.replace(responses.POST, INTENTS, status=402, json={"error": {
        "type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "declined"}})
    make_due(live, invoice["id"])
    live.session.execute(sa.update(Job).where(Job.id == job.id).values(due_at=time.time() - 1))
    run()
    assert [p["status"] for p in live.payments(invoice["id"])] == ["failed", "failed"]
    found = live.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert found["attempt_count"] == 2 and found["next_payment_attempt"] > finalized["next_payment_attempt"]
