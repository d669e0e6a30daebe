"""Refunds through the API in test mode (SPEC §11): the sandbox refunds at once, the
5126 card's refunds fail, refunds never add up to more than their payment, and a
refund's events, webhooks, processor calls and receipt email."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, current_app

from app.jobs.queue import enqueue
from app.payments import flow
from app.payments.flow import money_flow_of
from app.payments.models import CallKind, CallOutcome, Payment, ProcessorCall, Refund
from app.worker.housekeeping import SWEEP_PENDING_REFUNDS
from tests.conftest import Api, Merchant
from tests.emails.smtp import SmtpServer
from tests.receiver import Receiver

FUTURE = {"exp_month": 12, "exp_year": 2040}
AMOUNT = 5000


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def paid_payment(api: Api, customer_id: str, number: str = "4242424242424242", amount: int = AMOUNT) -> dict:
    """A completed card payment of an invoice of ``amount``."""
    api.ok("POST", f"/v1/customers/{customer_id}/payment_methods",
           {"card": {"number": number, "cvc": "123", **FUTURE}, "set_default": True})
    inv = api.ok("POST", "/v1/invoices", {"customer": customer_id})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Work", "unit_amount": amount})
    api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert paid["status"] == "paid"
    payment: dict = api.ok("GET", f"/v1/payments/{paid['payment']}")
    assert payment["amount_refunded"] == 0
    return payment


def event_types(api: Api) -> list[str]:
    return [e["type"] for e in api.ok("GET", "/v1/events", query_string={"limit": 100})["data"]]


def test_a_full_refund_by_default(api: Api, customer: dict, db_session: Any) -> None:
    payment = paid_payment(api, customer["id"])
    refund = api.ok("POST", "/v1/refunds", {"payment": payment["id"], "reason": "requested_by_customer",
                                            "metadata": {"ticket": "T-1"}})
    assert refund["id"].startswith("re_") and refund["object"] == "refund" and refund["livemode"] is False
    assert (refund["status"], refund["amount"], refund["currency"], refund["payment"]) == (
        "succeeded", AMOUNT, "eur", payment["id"])
    assert (refund["reason"], refund["failure_reason"], refund["credit_note"]) == ("requested_by_customer", None,
                                                                                   None)
    assert refund["metadata"] == {"ticket": "T-1"}
    assert api.ok("GET", f"/v1/refunds/{refund['id']}") == refund
    assert api.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == AMOUNT
    # The invoice stays paid: money went back, the invoice is corrected by a credit note.
    assert api.ok("GET", f"/v1/invoices/{payment['invoice']}")["status"] == "paid"
    calls = db_session.scalars(sa.select(ProcessorCall).where(ProcessorCall.refund_id == refund["id"])).all()
    assert [(c.kind, c.outcome, c.idempotency_key, c.payment_id) for c in calls] == [
        (CallKind.REFUND, CallOutcome.SUCCEEDED, f"vinr_{refund['id']}", payment["id"])]
    assert calls[0].processor_id and calls[0].processor_id.startswith("sbx_re_")
    types = event_types(api)
    assert types[:3] == ["payment.refunded", "refund.updated", "refund.created"]
    refunded = api.ok("GET", "/v1/events", query_string={"type": "payment.refunded"})["data"][0]["data"]
    assert refunded["id"] == payment["id"] and refunded["amount_refunded"] == AMOUNT


def test_partial_refunds_until_nothing_is_left(api: Api, customer: dict) -> None:
    payment = paid_payment(api, customer["id"])
    first = api.ok("POST", "/v1/refunds", {"payment": payment["id"], "amount": 1200})
    assert (first["status"], first["amount"]) == ("succeeded", 1200)
    assert api.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == 1200
    too_much = api.post("/v1/refunds", {"payment": payment["id"], "amount": AMOUNT - 1200 + 1})
    assert too_much.status_code == 400
    error = too_much.get_json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "amount_too_large", "amount")
    assert str(AMOUNT - 1200) in error["message"]
    rest = api.ok("POST", "/v1/refunds", {"payment": payment["id"]})
    assert (rest["status"], rest["amount"]) == ("succeeded", AMOUNT - 1200)
    assert api.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == AMOUNT
    nothing_left = api.post("/v1/refunds", {"payment": payment["id"]})
    assert nothing_left.status_code == 400
    assert (nothing_left.get_json()["error"]["code"], nothing_left.get_json()["error"]["param"]) == (
        "payment_already_refunded", "amount")
    listed = api.ok("GET", "/v1/refunds", query_string={"payment": payment["id"]})
    assert listed["url"] == "/v1/refunds" and listed["has_more"] is False
    assert [r["id"] for r in listed["data"]] == [rest["id"], first["id"]]
    page = api.ok("GET", "/v1/refunds", query_string={"limit": 1})
    assert [r["id"] for r in page["data"]] == [rest["id"]] and page["has_more"] is True
    after = api.ok("GET", "/v1/refunds", query_string={"limit": 1, "starting_after": rest["id"]})
    assert [r["id"] for r in after["data"]] == [first["id"]]


def test_the_5126_card_pays_but_its_refunds_fail(api: Api, customer: dict, db_session: Any) -> None:
    payment = paid_payment(api, customer["id"], "4000000000005126")
    assert payment["status"] == "completed"
    refund = api.ok("POST", "/v1/refunds", {"payment": payment["id"], "amount": 1000})
    assert (refund["status"], refund["failure_reason"], refund["amount"]) == (
        "failed", "expired_or_canceled_card", 1000)
    # A failed refund gives nothing back, so nothing of the payment is taken by it.
    assert api.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == 0
    types = event_types(api)
    assert types[:3] == ["refund.failed", "refund.updated", "refund.created"]
    assert "payment.refunded" not in types
    [call] = db_session.scalars(sa.select(ProcessorCall).where(ProcessorCall.refund_id == refund["id"])).all()
    assert (call.kind, call.outcome, call.failure_code) == (CallKind.REFUND, CallOutcome.DECLINED,
                                                            "expired_or_canceled_card")
    # The full amount can still be tried again (and fails again).
    again = api.ok("POST", "/v1/refunds", {"payment": payment["id"]})
    assert (again["status"], again["amount"]) == ("failed", AMOUNT)


def test_amounts_and_payments_that_cannot_be_refunded(merchant: Merchant, api: Api, customer: dict,
                                                       other_merchant: Merchant) -> None:
    payment = paid_payment(api, customer["id"])
    for amount in (0, -5):
        refused = api.post("/v1/refunds", {"payment": payment["id"], "amount": amount})
        assert refused.status_code == 400 and refused.get_json()["error"]["param"] == "amount"
    missing = api.post("/v1/refunds", {"amount": 100})
    assert missing.status_code == 400 and missing.get_json()["error"]["param"] == "payment"
    unknown = api.post("/v1/refunds", {"payment": "pay_nope"})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["param"] == "payment"
    foreign = other_merchant.test.post("/v1/refunds", {"payment": payment["id"]})
    assert foreign.status_code == 404
    other_mode = merchant.live.post("/v1/refunds", {"payment": payment["id"]})
    assert other_mode.status_code == 404
    refund = api.ok("POST", "/v1/refunds", {"payment": payment["id"], "amount": 10})
    assert other_merchant.test.get(f"/v1/refunds/{refund['id']}").status_code == 404
    assert other_merchant.test.ok("GET", "/v1/refunds")["data"] == []
    bad_reason = api.post("/v1/refunds", {"payment": payment["id"], "reason": "changed_my_mind"})
    assert bad_reason.status_code == 400 and bad_reason.get_json()["error"]["param"] == "reason"
    unknown_param = api.post("/v1/refunds", {"payment": payment["id"], "charge": "ch_1"})
    assert unknown_param.status_code == 400 and unknown_param.get_json()["error"]["param"] == "charge"


def test_a_payment_that_did_not_complete_answers_409(api: Api, customer: dict) -> None:
    api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
           {"card": {"number": "4000000000000002", "cvc": "123", **FUTURE}, "set_default": True})
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Work", "unit_amount": AMOUNT})
    api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})
    declined = api.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    refused = api.post("/v1/refunds", {"payment": declined["payment"]})
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "payment_unexpected_status")
    assert "'failed'" in error["message"]
    assert api.ok("GET", "/v1/refunds")["data"] == []


def test_an_idempotency_key_refunds_once(api: Api, customer: dict) -> None:
    payment = paid_payment(api, customer["id"])
    body = {"payment": payment["id"], "amount": 700}
    first = api.post("/v1/refunds", body, headers={"Idempotency-Key": "refund-1"})
    again = api.post("/v1/refunds", body, headers={"Idempotency-Key": "refund-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.data == first.data
    assert len(api.ok("GET", "/v1/refunds")["data"]) == 1
    assert api.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == 700
    other = api.post("/v1/refunds", {**body, "amount": 800}, headers={"Idempotency-Key": "refund-1"})
    assert other.status_code == 400 and other.get_json()["error"]["type"] == "idempotency_error"


def test_refund_events_reach_webhooks(api: Api, customer: dict, receiver: Receiver, run_jobs: Any) -> None:
    api.ok("POST", "/v1/webhook_endpoints", {"url": receiver.url, "enabled_events": [
        "refund.created", "refund.updated", "refund.failed", "payment.refunded"]})
    good = paid_payment(api, customer["id"])
    refund = api.ok("POST", "/v1/refunds", {"payment": good["id"]})
    bad = paid_payment(api, customer["id"], "4000000000005126")
    failed = api.ok("POST", "/v1/refunds", {"payment": bad["id"]})
    run_jobs()
    delivered = [json.loads(r.body) for r in receiver.received]
    got = sorted((d["type"], d["data"]["id"]) for d in delivered)
    assert got == sorted([("refund.created", refund["id"]), ("refund.updated", refund["id"]),
                          ("payment.refunded", good["id"]), ("refund.created", failed["id"]),
                          ("refund.updated", failed["id"]), ("refund.failed", failed["id"])])
    [refunded] = [d["data"] for d in delivered if d["type"] == "payment.refunded"]
    assert refunded["amount_refunded"] == AMOUNT
    [failure] = [d["data"] for d in delivered if d["type"] == "refund.failed"]
    assert (failure["status"], failure["failure_reason"]) == ("failed", "expired_or_canceled_card")


def test_the_customer_gets_a_refund_receipt(api: Api, customer: dict, smtp: SmtpServer, run_jobs: Any) -> None:
    payment = paid_payment(api, customer["id"])
    run_jobs()
    smtp.mailbox.messages.clear()  # the payment's receipt
    api.ok("POST", "/v1/refunds", {"payment": payment["id"], "amount": 1234})
    run_jobs()
    [mail] = smtp.mailbox.messages
    number = api.ok("GET", f"/v1/invoices/{payment['invoice']}")["number"]
    assert mail["To"] == "Jenny Rosen <jenny@example.com>" or "jenny@example.com" in mail["To"]
    assert mail["Subject"] == f"[Test mode] Refund for invoice {number} from Acme GmbH"
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Acme GmbH has refunded €12.34 to you." in text
    assert "Amount refunded: €12.34" in text and "Visa •••• 4242" in text
    html = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "€12.34" in html
    assert not [part for part in mail.iter_attachments()]  # the refund receipt attaches nothing


def test_the_refund_receipt_in_german(api: Api, smtp: SmtpServer, run_jobs: Any) -> None:
    german = api.ok("POST", "/v1/customers", {"email": "kunde@example.de", "name": "Kunde",
                                              "preferred_locales": ["de-DE"]})
    payment = paid_payment(api, german["id"])
    api.ok("POST", "/v1/refunds", {"payment": payment["id"], "amount": 1234})
    run_jobs()
    [mail] = [m for m in smtp.mailbox.messages if "Erstattung" in m["Subject"]]
    number = api.ok("GET", f"/v1/invoices/{payment['invoice']}")["number"]
    assert mail["Subject"] == f"[Testmodus] Erstattung zu Rechnung {number} von Acme GmbH"
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Acme GmbH hat Ihnen 12,34\xa0€ erstattet." in text and "Erstatteter Betrag: 12,34\xa0€" in text


def test_a_refund_whose_process_died_before_sending_is_sent_by_the_worker(
        app: Flask, api: Api, customer: dict, db_session: Any, run_jobs: Any) -> None:
    """Claimed and committed (a credit note's transaction, say), then the process died before
    execute_refund: the worker's sweep sends it, with its own key, once it is stale."""
    payment = paid_payment(api, customer["id"])
    with app.app_context():
        money = money_flow_of(current_app)
        claimed = flow.claim_refund(db_session, money, db_session.get_one(Payment, payment["id"]), amount=800,
                                    credit_note_id="cn_test")
        db_session.commit()
    assert api.ok("GET", f"/v1/refunds/{claimed.id}")["status"] == "pending"
    assert api.ok("GET", f"/v1/refunds/{claimed.id}")["credit_note"] == "cn_test"
    assert api.ok("GET", f"/v1/payments/{payment['id']}")["amount_refunded"] == 800

    def sweep() -> None:
        enqueue(db_session, SWEEP_PENDING_REFUNDS, "test")
        db_session.commit()
        run_jobs()

    sweep()
    assert api.ok("GET", f"/v1/refunds/{claimed.id}")["status"] == "pending"  # its process may still send it
    db_session.execute(sa.update(Refund).where(Refund.id == claimed.id)
                       .values(updated=Refund.updated - flow.STALE_REFUND_SECONDS - 5))
    db_session.commit()
    sweep()
    refund = api.ok("GET", f"/v1/refunds/{claimed.id}")
    assert (refund["status"], refund["amount"]) == ("succeeded", 800)
    calls = db_session.scalars(sa.select(ProcessorCall).where(ProcessorCall.refund_id == claimed.id)).all()
    assert [(c.outcome, c.idempotency_key) for c in calls] == [(CallOutcome.SUCCEEDED, f"vinr_{claimed.id}")]
    assert len(api.ok("GET", "/v1/events", query_string={"type": "payment.refunded"})["data"]) == 1
    # execute_refund after the fact (the credit note's caller, late) sends nothing more.
    with app.app_context():
        assert flow.execute_refund(db_session, money, claimed.id).status.value == "succeeded"
    assert len(db_session.scalars(sa.select(ProcessorCall).where(ProcessorCall.refund_id == claimed.id)).all()) == 1
