# ruff: noqa: F811 - the live fixtures come from test_live_collection, and tests name them as parameters
"""Live-mode refunds through the API against a mocked stripe-like processor (SPEC §11, §6):
a refund carries the refund's idempotency key; a lost answer leaves the refund pending
(its amount still taken), and it is asked again with the same key, never refunded twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
import responses
import sqlalchemy as sa
from flask import Flask, current_app

from app.jobs.queue import enqueue
from app.payments import flow
from app.payments.flow import money_flow_of
from app.payments.models import CallKind, CallOutcome, ProcessorCall, Refund
from app.worker.housekeeping import SWEEP_PENDING_REFUNDS
from app.worker.runner import Worker
from tests.conftest import PROCESSOR_URL
from tests.payments.test_live_collection import (  # noqa: F401 - fixtures
    AMOUNT,
    INTENTS,
    Live,
    live,
    rsps,
    sleeps,
)

REFUNDS = f"{PROCESSOR_URL}/v1/refunds"


class FakeRefunds:
    """The processor's ``POST /v1/refunds``: one refund per idempotency key, its first answer
    replayed for the key (as a real processor does). ``lose`` answers are lost on the way
    back (the refund is made, the caller hears a timeout); ``answer`` is what a new key gets."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.made: dict[str, dict[str, Any]] = {}  # key -> refund
        self.keys: list[str] = []  # every request's key, in order
        self.bodies: list[dict[str, Any]] = []
        self.lose = 0
        self.answer: Callable[[int], dict[str, Any]] = lambda n: {"status": "succeeded"}
        mock.add_callback(responses.POST, REFUNDS, callback=self._post, content_type="application/json")

    def _post(self, request: requests.PreparedRequest) -> Any:
        key = request.headers["Idempotency-Key"]
        self.keys.append(key)
        self.bodies.append(json.loads(request.body or b"{}"))
        if key not in self.made:
            self.made[key] = {"id": f"re_p{len(self.made) + 1}", "object": "refund", **self.answer(len(self.made))}
        if self.lose:
            self.lose -= 1
            return requests.exceptions.ReadTimeout("read timed out")
        return 200, {}, json.dumps(self.made[key])


def paid(live: Live, rsps: responses.RequestsMock) -> dict[str, Any]:
    inv = live.open_invoice()
    rsps.add(responses.POST, INTENTS, json={"id": "pi_live_r1", "object": "payment_intent", "status": "succeeded"})
    paid_invoice = live.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert paid_invoice["status"] == "paid"
    return live.ok("GET", f"/v1/payments/{paid_invoice['payment']}")


def refund_calls(live: Live, refund_id: str) -> list[tuple[CallKind, CallOutcome, str | None]]:
    rows = live.session.scalars(sa.select(ProcessorCall).where(ProcessorCall.refund_id == refund_id)
                                .order_by(ProcessorCall.id)).all()
    return [(row.kind, row.outcome, row.failure_code) for row in rows]


def test_a_live_refund_goes_through_the_processor(live: Live, rsps: responses.RequestsMock) -> None:
    fake = FakeRefunds(rsps)
    payment = paid(live, rsps)
    refund = live.ok("POST", "/v1/refunds", {"payment": payment["id"], "amount": 1000, "reason": "duplicate"})
    assert (refund["status"], refund["livemode"], refund["amount"]) == ("succeeded", True, 1000)
    assert fake.keys == [f"vinr_{refund['id']}"]
    assert fake.bodies == [{"payment_intent": "pi_live_r1", "amount": 1000, "reason": "duplicate"}]
    call = rsps.calls[-1]
    assert call.request.headers["Authorization"].startswith("Bearer ")
    assert 0 < call.request.req_kwargs["timeout"] <= 30
    assert refund_calls(live, refund["id"]) == [(CallKind.REFUND, CallOutcome.SUCCEEDED, None)]
    assert live.session.scalar(sa.select(Refund.processor_id).where(Refund.id == refund["id"])) == "re_p1"
    assert live.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == 1000
    assert len(live.events("payment.refunded")) == 1


def test_a_live_refund_the_processor_refuses_fails(live: Live, rsps: responses.RequestsMock) -> None:
    fake = FakeRefunds(rsps)
    fake.answer = lambda n: {"status": "failed", "failure_reason": "lost_or_stolen_card"}
    payment = paid(live, rsps)
    refund = live.ok("POST", "/v1/refunds", {"payment": payment["id"]})
    assert (refund["status"], refund["failure_reason"], refund["amount"]) == ("failed", "lost_or_stolen_card", AMOUNT)
    assert refund_calls(live, refund["id"]) == [(CallKind.REFUND, CallOutcome.DECLINED, "lost_or_stolen_card")]
    assert live.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == 0
    assert len(live.events("refund.failed")) == 1 and live.events("payment.refunded") == []


def test_a_refund_request_the_processor_refuses_fails_with_its_code(live: Live,
                                                                    rsps: responses.RequestsMock) -> None:
    payment = paid(live, rsps)
    rsps.add(responses.POST, REFUNDS, status=400, json={"error": {
        "type": "invalid_request_error", "code": "charge_already_refunded", "message": "Already refunded."}})
    refund = live.ok("POST", "/v1/refunds", {"payment": payment["id"]})
    assert (refund["status"], refund["failure_reason"]) == ("failed", "processor_invalid_request")
    assert live.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == 0


def test_a_lost_answer_is_asked_again_with_the_same_key_and_refunds_once(
        live: Live, live_app: Flask, rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    fake = FakeRefunds(rsps)
    payment = paid(live, rsps)
    fake.lose = 4  # the first send and its three resends all time out: the refund was made, no one heard
    refund = live.ok("POST", "/v1/refunds", {"payment": payment["id"], "amount": 3000})
    assert (refund["status"], refund["failure_reason"]) == ("pending", None)
    assert len(fake.made) == 1 and fake.keys == [f"vinr_{refund['id']}"] * 4 and len(sleeps) == 3
    assert refund_calls(live, refund["id"]) == [(CallKind.REFUND, CallOutcome.NO_ANSWER, "processor_unavailable")]
    # Pending, its amount still counts: nothing more than what is left can be refunded meanwhile.
    assert live.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == 3000
    too_much = live.post("/v1/refunds", {"payment": payment["id"], "amount": AMOUNT - 3000 + 1})
    assert too_much.status_code == 400 and too_much.get_json()["error"]["code"] == "amount_too_large"
    assert [e["data"]["id"] for e in live.events("refund.created")] == [refund["id"]]
    assert live.events("refund.updated") == []

    # Not stale yet: the worker leaves it to whoever may still be asking.
    worker = Worker(live_app, worker_id="test-worker")
    sweep(live)
    worker.run_due()
    assert len(fake.keys) == 4
    # Two minutes on, the worker sends it again, as it was.
    age(live, refund["id"], flow.STALE_REFUND_SECONDS + 5)
    sweep(live)
    worker.run_due()
    assert fake.keys == [f"vinr_{refund['id']}"] * 5 and len(fake.made) == 1  # the same refund, never a second
    after = live.ok("GET", f"/v1/refunds/{refund['id']}")
    assert (after["status"], after["amount"]) == ("succeeded", 3000)
    assert refund_calls(live, refund["id"]) == [(CallKind.REFUND, CallOutcome.NO_ANSWER, "processor_unavailable"),
                                                (CallKind.REFUND, CallOutcome.SUCCEEDED, None)]
    assert live.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == 3000
    assert [e["data"]["status"] for e in live.events("refund.updated")] == ["succeeded"]
    assert len(live.events("payment.refunded")) == 1
    # Answered: later sweeps leave it alone.
    age(live, refund["id"], flow.STALE_REFUND_SECONDS + 5)
    sweep(live)
    worker.run_due()
    assert len(fake.keys) == 5


def test_a_refund_still_unanswered_when_asked_again_stays_pending(
        live: Live, live_app: Flask, rsps: responses.RequestsMock) -> None:
    """A rate limit met when it is sent again says nothing about the first send: still pending."""
    payment = paid(live, rsps)
    rsps.add(responses.POST, REFUNDS, body=requests.exceptions.ConnectionError("reset"))
    rsps.add(responses.POST, REFUNDS, body=requests.exceptions.ConnectionError("reset"))
    rsps.add(responses.POST, REFUNDS, body=requests.exceptions.ConnectionError("reset"))
    rsps.add(responses.POST, REFUNDS, body=requests.exceptions.ConnectionError("reset"))
    refund = live.ok("POST", "/v1/refunds", {"payment": payment["id"]})
    assert refund["status"] == "pending"
    rsps.add(responses.POST, REFUNDS, status=429, json={"error": {"type": "rate_limit_error", "message": "Slow."}})
    age(live, refund["id"], flow.STALE_REFUND_SECONDS + 5)
    with live_app.app_context():
        flow.reask_refund(live.session, money_flow_of(current_app), refund["id"])
    assert live.ok("GET", f"/v1/refunds/{refund['id']}")["status"] == "pending"
    assert live.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == AMOUNT
    assert refund_calls(live, refund["id"])[-1][:2] == (CallKind.REFUND, CallOutcome.NO_ANSWER)


def test_a_refund_the_processor_answers_pending_is_read_again(
        live: Live, live_app: Flask, rsps: responses.RequestsMock) -> None:
    fake = FakeRefunds(rsps)
    fake.answer = lambda n: {"status": "pending"}
    payment = paid(live, rsps)
    refund = live.ok("POST", "/v1/refunds", {"payment": payment["id"], "amount": 100})
    assert refund["status"] == "pending"
    assert refund_calls(live, refund["id"]) == [(CallKind.REFUND, CallOutcome.PENDING, None)]
    rsps.add(responses.GET, f"{REFUNDS}/re_p1", json={"id": "re_p1", "status": "succeeded"})
    age(live, refund["id"], flow.STALE_REFUND_SECONDS + 5)
    with live_app.app_context():
        flow.reask_refund(live.session, money_flow_of(current_app), refund["id"])
    assert live.ok("GET", f"/v1/refunds/{refund['id']}")["status"] == "succeeded"
    assert len(fake.keys) == 1  # read again with a GET, not sent again
    get = rsps.calls[-1].request
    assert get.method == "GET" and "Idempotency-Key" not in get.headers


def sweep(live: Live) -> None:
    """The sweep runs once a minute; this one runs now."""
    enqueue(live.session, SWEEP_PENDING_REFUNDS, "test")
    live.session.commit()


def age(live: Live, refund_id: str, seconds: int) -> None:
    live.session.execute(sa.update(Refund).where(Refund.id == refund_id).values(updated=Refund.updated - seconds))
    live.session.commit()

