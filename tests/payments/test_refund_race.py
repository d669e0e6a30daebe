"""Refunds of one payment never add up to more than it, however many requests race
(SPEC §11). Real threads, each request on its own connection, committing for real (on
PostgreSQL the payment's row lock decides; on SQLite its single writer). The sandbox's
refund is slowed down, so the others arrive while the first is with the processor, and the
processor counts what reached it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
from flask import Flask, current_app

from app.extensions import db
from app.payments import states
from app.payments.flow import money_flow_of
from app.payments.processor import RefundRequest, RefundResult
from tests.payments.test_pay_race import AMOUNT, open_invoice, race

REFUND_SECONDS = 0.2


@dataclass
class Sent:
    key: str
    amount: int
    in_transaction: bool


@pytest.fixture()
def refunds_sent(committed_app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """The cached sandbox's refunds, slowed down; every refund that reaches it is recorded."""
    with committed_app.app_context():
        sandbox = money_flow_of(current_app).processor(False)
    sent: list[Sent] = []
    real = sandbox.refund

    def slow_refund(request: RefundRequest) -> RefundResult:
        sent.append(Sent(request.idempotency_key, request.amount, db.session.in_transaction()))
        time.sleep(REFUND_SECONDS)
        return real(request)

    monkeypatch.setattr(sandbox, "refund", slow_refund)
    return sent


@pytest.fixture()
def slow_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the gap between reading what is left of the payment and claiming the refund:
    without the payment's row lock, many claims would read the same sum."""
    real = states.refunded_or_pending

    def slow(*args: object, **kw: object) -> int:
        total = real(*args, **kw)  # type: ignore[arg-type]
        time.sleep(0.05)
        return total

    monkeypatch.setattr(states, "refunded_or_pending", slow)


def paid(committed_app: Flask, name: str) -> tuple[dict[str, str], str]:
    inv = open_invoice(committed_app, name)
    response = committed_app.test_client().post(f"/v1/invoices/{inv.id}/pay", json={}, headers=inv.headers)
    assert response.get_json()["status"] == "paid"
    return inv.headers, response.get_json()["payment"]


def test_ten_concurrent_partial_refunds_never_exceed_the_payment(committed_app: Flask, refunds_sent: list[Sent],
                                                                  slow_sums: None) -> None:
    headers, payment_id = paid(committed_app, "Race Refund Partial")
    amount = 1500  # three fit into 5000, a fourth does not
    results = race(committed_app, [("/v1/refunds", {"payment": payment_id, "amount": amount})] * 10, headers)
    ok = [body for _, status, body in results if status == 200]
    refused = [body for _, status, body in results if status != 200]
    assert len(ok) == AMOUNT // amount and all(r["status"] == "succeeded" for r in ok), results
    assert {(status, body["error"]["code"]) for _, status, body in results if status != 200} == {
        (400, "amount_too_large")}, refused
    assert sorted(s.key for s in refunds_sent) == sorted(f"vinr_{r['id']}" for r in ok)
    assert not any(s.in_transaction for s in refunds_sent)  # no transaction held across the processor call
    client = committed_app.test_client()
    payment = client.get(f"/v1/payments/{payment_id}", headers=headers).get_json()
    assert payment["amount_refunded"] == len(ok) * amount <= AMOUNT
    listed = client.get("/v1/refunds", query_string={"payment": payment_id, "limit": 100}, headers=headers)
    assert sorted(r["id"] for r in listed.get_json()["data"]) == sorted(r["id"] for r in ok)


def test_eight_concurrent_full_refunds_refund_once(committed_app: Flask, refunds_sent: list[Sent],
                                                   slow_sums: None) -> None:
    headers, payment_id = paid(committed_app, "Race Refund Full")
    results = race(committed_app, [("/v1/refunds", {"payment": payment_id})] * 8, headers)
    statuses = sorted(status for _, status, _ in results)
    assert statuses == [200] + [400] * 7, results
    assert {body["error"]["code"] for _, status, body in results if status == 400} == {"payment_already_refunded"}
    assert [s.amount for s in refunds_sent] == [AMOUNT]
    payment = committed_app.test_client().get(f"/v1/payments/{payment_id}", headers=headers).get_json()
    assert payment["amount_refunded"] == AMOUNT


def test_refunds_arriving_while_one_is_with_the_processor_are_refused(committed_app: Flask,
                                                                      refunds_sent: list[Sent]) -> None:
    """Late comers read the payment after the first claim committed: the claim itself stops them."""
    headers, payment_id = paid(committed_app, "Race Refund Late")
    first: list[tuple[str, int, object]] = []
    leader = threading.Thread(target=lambda: first.extend(
        race(committed_app, [("/v1/refunds", {"payment": payment_id})], headers)))
    leader.start()
    deadline = time.monotonic() + 10
    while not refunds_sent and time.monotonic() < deadline:
        time.sleep(0.01)
    late = race(committed_app, [("/v1/refunds", {"payment": payment_id, "amount": 1})] * 8, headers)
    leader.join()
    assert [status for _, status, _ in first] == [200]
    assert {(status, body["error"]["code"]) for _, status, body in late} == {(400, "amount_too_large")}  # type: ignore[index]
    assert len(refunds_sent) == 1
