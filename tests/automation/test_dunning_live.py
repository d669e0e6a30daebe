"""Dunning in live mode against a mocked stripe-like processor: a try never moves money
beside an earlier attempt whose outcome is unknown (docs/payments.md)."""

from __future__ import annotations

import time
from typing import Any

import requests
import responses
import sqlalchemy as sa
from flask import Flask

from app.automation.plans import REASK, RETRY_PAYMENT
from app.jobs.models import Job, JobStatus
from app.worker.runner import Worker
from tests.payments import test_live_collection
from tests.payments.test_live_collection import INTENTS, Live

# The live merchant, its mocked processor and its recorded backoff: that module's fixtures.
live, rsps, sleeps = test_live_collection.live, test_live_collection.rsps, test_live_collection.sleeps


def make_due(api: Live, invoice_id: str, kind: str) -> None:
    """Live mode has no test clock: the planned job is made due by hand."""
    api.session.execute(sa.update(Job).where(Job.subject == invoice_id, Job.kind == kind,
                                             Job.status == JobStatus.QUEUED).values(due_at=time.time() - 1))


def jobs_of(api: Live, invoice_id: str, kind: str) -> list[Job]:
    return list(api.session.execute(sa.select(Job).where(Job.subject == invoice_id, Job.kind == kind)
                                    .order_by(Job.id).execution_options(populate_existing=True)).scalars())


DECLINE = {"error": {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                     "message": "declined"}}


def finalized_without_an_answer(live: Live, rsps: responses.RequestsMock) -> dict[str, Any]:
    invoice = live.ok("POST", "/v1/invoices", {"customer": live.customer_id})
    live.ok("POST", f"/v1/invoices/{invoice['id']}/lines", {"description": "Work", "unit_amount": 4200})
    rsps.add(responses.POST, INTENTS, body=requests.exceptions.ConnectionError("connection reset by peer"))
    return live.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")  # type: ignore[no-any-return]


def test_an_unclear_answer_is_asked_about_again_before_the_schedule_moves_on(
        live: Live, live_app: Flask, rsps: responses.RequestsMock) -> None:
    invoice = finalized_without_an_answer(live, rsps)
    # It may have charged: no try is planned until the processor says.
    assert invoice["status"] == "open" and invoice["next_payment_attempt"] is None
    assert jobs_of(live, invoice["id"], RETRY_PAYMENT) == [] and len(jobs_of(live, invoice["id"], REASK)) == 1
    charges = len(rsps.calls)
    run: Any = Worker(live_app, worker_id="test-worker").run_due
    make_due(live, invoice["id"], REASK)
    run()  # asked again, still no answer: asked again later, nothing new charged
    [reask] = jobs_of(live, invoice["id"], REASK)
    assert reask.status is JobStatus.QUEUED and reask.attempts == 1 and "still not said" in (reask.last_error or "")
    assert len(live.payments(invoice["id"])) == 1
    assert {call.request.headers["Idempotency-Key"] for call in rsps.calls[charges:]} == \
        {rsps.calls[0].request.headers["Idempotency-Key"]}  # only the same charge, asked again
    rsps.replace(responses.POST, INTENTS, status=402, json=DECLINE)
    make_due(live, invoice["id"], REASK)
    run()  # now clear: declined, a failed try; the next is planned from here
    found = live.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert [p["status"] for p in live.payments(invoice["id"])] == ["failed"]
    assert found["next_payment_attempt"] is not None and found["last_payment_error"]["code"] == "card_declined"
    [retry] = jobs_of(live, invoice["id"], RETRY_PAYMENT)
    assert retry.payload == {"attempt": 2} and jobs_of(live, invoice["id"], REASK)[0].status is JobStatus.DONE
    make_due(live, invoice["id"], RETRY_PAYMENT)
    run()
    assert [p["status"] for p in live.payments(invoice["id"])] == ["failed", "failed"]


def test_the_last_try_without_an_answer_does_not_give_up_on_money_that_may_have_moved(
        live: Live, live_app: Flask, rsps: responses.RequestsMock) -> None:
    live.ok("POST", "/v1/account/settings", {"dunning_retry_days": []})
    invoice = finalized_without_an_answer(live, rsps)
    assert invoice["status"] == "open"  # not uncollectible: it may be paid
    rsps.replace(responses.POST, INTENTS, json={"id": "pi_live_7", "status": "succeeded"})
    make_due(live, invoice["id"], REASK)
    Worker(live_app, worker_id="test-worker").run_due()
    assert live.ok("GET", f"/v1/invoices/{invoice['id']}")["status"] == "paid"  # it had charged


def test_a_try_waits_while_an_earlier_attempt_of_the_merchant_is_unknown(
        live: Live, live_app: Flask, rsps: responses.RequestsMock) -> None:
    invoice = live.ok("POST", "/v1/invoices", {"customer": live.customer_id})
    live.ok("POST", f"/v1/invoices/{invoice['id']}/lines", {"description": "Work", "unit_amount": 4200})
    rsps.add(responses.POST, INTENTS, status=402, json=DECLINE)
    live.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")  # declined: try 2 planned
    rsps.replace(responses.POST, INTENTS, body=requests.exceptions.ConnectionError("connection reset by peer"))
    live.ok("POST", f"/v1/invoices/{invoice['id']}/pay")  # the merchant's own, unanswered
    make_due(live, invoice["id"], RETRY_PAYMENT)
    Worker(live_app, worker_id="test-worker").run_due()
    [retry] = jobs_of(live, invoice["id"], RETRY_PAYMENT)
    assert retry.status is JobStatus.QUEUED and "unknown" in (retry.last_error or "")
    assert len(live.payments(invoice["id"])) == 2  # nothing charged beside the unanswered one
