"""Collecting invoices through the API in test mode (SPEC §3 /pay, §6 card table)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask

from app.accounts.service import create_merchant
from app.extensions import db

FUTURE = {"exp_month": 12, "exp_year": 2040}


def save_card(api: Any, customer_id: str, number: str, *, default: bool = True, cvc: str = "123") -> dict:
    return api.ok("POST", f"/v1/customers/{customer_id}/payment_methods",
                  {"card": {"number": number, "cvc": cvc, **FUTURE}, "set_default": default})


def open_invoice(api: Any, customer_id: str, amount: int = 196000) -> dict[str, Any]:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer_id})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Work", "unit_amount": amount})
    return api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})


def event_types(api: Any) -> list[str]:
    return [e["type"] for e in api.ok("GET", "/v1/events", query_string={"limit": 100})["data"]]


def test_seed_flow_finalize_pay_reconcile(api: Any, customer: dict) -> None:
    pm = save_card(api, customer["id"], "4242 4242 4242 4242")
    assert pm["card"] == {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2040}
    assert api.ok("GET", f"/v1/customers/{customer['id']}")["invoice_settings"]["default_payment_method"] == pm["id"]
    inv = open_invoice(api, customer["id"])
    assert inv["status"] == "open" and inv["amount_remaining"] == 196000
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert paid["status"] == "paid"
    assert (paid["amount_paid"], paid["amount_remaining"], paid["attempt_count"]) == (196000, 0, 1)
    payment = api.ok("GET", f"/v1/payments/{paid['payment']}")
    assert payment["status"] == "completed" and payment["amount"] == 196000 and payment["card"]["last4"] == "4242"
    listed = api.ok("GET", "/v1/payments", query_string={"invoice": inv["id"]})["data"]
    assert [p["id"] for p in listed] == [payment["id"]]
    for expected in ("payment.completed", "invoice.payment_succeeded", "invoice.paid"):
        assert expected in event_types(api)
    again = api.post(f"/v1/invoices/{inv['id']}/pay")
    assert again.status_code == 409 and "'paid'" in again.get_json()["error"]["message"]


@pytest.mark.parametrize(("number", "code", "decline_code"), [
    ("4000000000000002", "card_declined", "generic_decline"),
    ("4000000000009995", "card_declined", "insufficient_funds"),
    ("4000000000000069", "expired_card", "expired_card"),
    ("4000000000000127", "incorrect_cvc", "incorrect_cvc"),
    ("4000000000000119", "processing_error", None),
])
def test_declines_leave_the_invoice_open_and_payable(api: Any, customer: dict, number: str, code: str,
                                                     decline_code: str | None) -> None:
    save_card(api, customer["id"], number)
    inv = open_invoice(api, customer["id"], 5000)
    declined = api.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert declined["status"] == "open" and declined["attempt_count"] == 1 and declined["amount_paid"] == 0
    error = declined["last_payment_error"]
    assert (error["code"], error["decline_code"]) == (code, decline_code) and error["message"]
    payment = api.ok("GET", f"/v1/payments/{error['payment']}")
    assert payment["status"] == "failed" and payment["failure_code"] == code
    assert {"payment.failed", "invoice.payment_failed"} <= set(event_types(api))
    # The customer fixes the card; the same invoice is still collectable.
    good = save_card(api, customer["id"], "5555555555554444")
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": good["id"]})
    assert paid["status"] == "paid" and paid["attempt_count"] == 2 and paid["last_payment_error"] is None


@pytest.mark.parametrize(("number", "cvc", "brand"), [
    ("4242424242424242", "123", "visa"), ("5555555555554444", "123", "mastercard"),
    ("378282246310005", "1234", "amex"),
])
def test_every_success_card_pays(api: Any, customer: dict, number: str, cvc: str, brand: str) -> None:
    save_card(api, customer["id"], number, cvc=cvc)
    inv = open_invoice(api, customer["id"], 1234)
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert paid["status"] == "paid"
    assert api.ok("GET", f"/v1/payments/{paid['payment']}")["card"]["brand"] == brand


def test_3ds_card_off_session_needs_the_customer(api: Any, customer: dict) -> None:
    save_card(api, customer["id"], "4000000000003220")
    inv = open_invoice(api, customer["id"], 5000)
    result = api.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert result["status"] == "open" and result["last_payment_error"]["code"] == "authentication_required"
    assert api.ok("GET", f"/v1/payments/{result['payment']}")["status"] == "requires_action"
    assert "invoice.payment_action_required" in event_types(api)


@pytest.mark.parametrize(("card", "code", "param"), [
    ({"number": "4242424242424241", "cvc": "123", **FUTURE}, "incorrect_number", "card[number]"),
    ({"number": "4242424242424242", "cvc": "123", "exp_month": 1, "exp_year": 2020}, "expired_card",
     "card[exp_year]"),
    ({"number": "4242424242424242", "cvc": "12", **FUTURE}, "invalid_cvc", "card[cvc]"),
    ({"number": "378282246310005", "cvc": "123", **FUTURE}, "invalid_cvc", "card[cvc]"),
    ({"number": "4012888888881881", "cvc": "123", **FUTURE}, "test_mode_live_card", "card[number]"),
])
def test_bad_cards_are_402_and_never_stored(api: Any, customer: dict, card: dict, code: str, param: str) -> None:
    response = api.post(f"/v1/customers/{customer['id']}/payment_methods", {"card": card})
    assert response.status_code == 402
    error = response.get_json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("card_error", code, param)
    assert card["number"] not in response.get_data(as_text=True)
    assert api.ok("GET", f"/v1/customers/{customer['id']}/payment_methods")["data"] == []


def test_live_mode_refuses_api_cards_and_has_no_processor(merchant: Any) -> None:
    live = merchant.live
    cust = live.ok("POST", "/v1/customers", {"email": "l@example.com"})
    refused = live.post(f"/v1/customers/{cust['id']}/payment_methods",
                        {"card": {"number": "4242424242424242", "cvc": "123", **FUTURE}})
    assert refused.status_code == 400 and refused.get_json()["error"]["param"] == "card"
    inv = open_invoice(live, cust["id"], 1000)
    before = live.ok("GET", f"/v1/invoices/{inv['id']}")
    response = live.post(f"/v1/invoices/{inv['id']}/pay")
    assert response.status_code == 503
    assert response.get_json()["error"] == {
        "type": "api_error", "code": "processor_not_configured",
        "message": response.get_json()["error"]["message"]}
    assert live.ok("GET", f"/v1/invoices/{inv['id']}") == before  # nothing changed, no attempt counted


def test_paid_out_of_band(api: Any, customer: dict) -> None:
    inv = open_invoice(api, customer["id"], 700)
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True})
    assert paid["status"] == "paid" and paid["amount_remaining"] == 0 and paid["payment"] is None


def test_pay_without_any_method_names_the_parameter(api: Any, customer: dict) -> None:
    inv = open_invoice(api, customer["id"], 700)
    response = api.post(f"/v1/invoices/{inv['id']}/pay")
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "payment_method"
    other = api.ok("POST", "/v1/customers", {})
    foreign = save_card(api, other["id"], "4242424242424242", default=False)
    response = api.post(f"/v1/invoices/{inv['id']}/pay", {"payment_method": foreign["id"]})
    assert response.status_code == 404


def test_a_deleted_customers_cards_are_detached_and_never_charged(api: Any, customer: dict) -> None:
    pm = save_card(api, customer["id"], "4242424242424242")
    inv = open_invoice(api, customer["id"], 700)
    draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    api.ok("POST", f"/v1/invoices/{draft['id']}/lines", {"unit_amount": 999})
    api.ok("DELETE", f"/v1/customers/{customer['id']}")
    deleted = api.ok("GET", "/v1/events", query_string={"type": "customer.deleted"})["data"][0]["data"]
    assert deleted["invoice_settings"]["default_payment_method"] is None
    for body in ({}, {"payment_method": pm["id"]}):
        response = api.post(f"/v1/invoices/{inv['id']}/pay", body)
        assert response.status_code in (400, 404), response.get_json()
        assert response.get_json()["error"]["param"] == "payment_method"
    assert api.post(f"/v1/invoices/{inv['id']}/pay").get_json()["error"]["code"] == "customer_deleted"
    finalized = api.ok("POST", f"/v1/invoices/{draft['id']}/finalize")  # would collect from the default
    assert finalized["status"] == "open" and finalized["attempt_count"] == 0
    assert api.ok("GET", "/v1/payments")["data"] == []
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["status"] == "open"


def test_charge_automatically_collects_at_finalize_unless_told_not_to(api: Any, customer: dict) -> None:
    save_card(api, customer["id"], "4242424242424242")
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"unit_amount": 999})
    assert api.ok("POST", f"/v1/invoices/{inv['id']}/finalize")["status"] == "paid"
    manual = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    api.ok("POST", f"/v1/invoices/{manual['id']}/lines", {"unit_amount": 999})
    held = api.ok("POST", f"/v1/invoices/{manual['id']}/finalize", {"auto_advance": False})
    assert held["status"] == "open" and held["attempt_count"] == 0
    sent = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                           "days_until_due": 10})
    api.ok("POST", f"/v1/invoices/{sent['id']}/lines", {"unit_amount": 999})
    assert api.ok("POST", f"/v1/invoices/{sent['id']}/finalize")["status"] == "open"


def test_uncollectible_invoices_can_still_be_paid(api: Any, customer: dict) -> None:
    save_card(api, customer["id"], "4242424242424242")
    inv = open_invoice(api, customer["id"], 700)
    api.ok("POST", f"/v1/invoices/{inv['id']}/mark_uncollectible")
    assert api.ok("POST", f"/v1/invoices/{inv['id']}/pay")["status"] == "paid"


def test_void_invoices_cannot_be_paid(api: Any, customer: dict) -> None:
    save_card(api, customer["id"], "4242424242424242")
    inv = open_invoice(api, customer["id"], 700)
    api.ok("POST", f"/v1/invoices/{inv['id']}/void")
    response = api.post(f"/v1/invoices/{inv['id']}/pay")
    assert response.status_code == 409 and "'void'" in response.get_json()["error"]["message"]
    assert api.ok("GET", "/v1/payments")["data"] == []


def test_twenty_concurrent_pays_collect_exactly_once(committed_app: Flask) -> None:
    app = committed_app
    with app.app_context():
        new = create_merchant(db.session, "Race Pay", "RP")
        db.session.commit()
    key = new.test_secret_key
    client = app.test_client()
    headers = {"X-Api-Key": key}
    cust = client.post("/v1/customers", json={"email": "r@example.com"}, headers=headers).get_json()
    client.post(f"/v1/customers/{cust['id']}/payment_methods", headers=headers,
                json={"card": {"number": "4242424242424242", "cvc": "123", **FUTURE}, "set_default": True})
    inv = client.post("/v1/invoices", json={"customer": cust["id"]}, headers=headers).get_json()
    client.post(f"/v1/invoices/{inv['id']}/lines", json={"unit_amount": 5000}, headers=headers)
    client.post(f"/v1/invoices/{inv['id']}/finalize", json={"auto_advance": False}, headers=headers)
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def pay() -> None:
        own = app.test_client()
        barrier.wait()
        statuses.append(own.post(f"/v1/invoices/{inv['id']}/pay", headers=headers).status_code)

    threads = [threading.Thread(target=pay) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 409}, statuses
    payments = client.get("/v1/payments", query_string={"invoice": inv["id"], "limit": 100},
                          headers=headers).get_json()["data"]
    assert [p["status"] for p in payments] == ["completed"]
    final = client.get(f"/v1/invoices/{inv['id']}", headers=headers).get_json()
    assert final["status"] == "paid" and final["amount_paid"] == final["total"] == 5000
