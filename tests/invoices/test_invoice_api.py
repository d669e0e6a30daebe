"""Invoices through the API: drafts, lines, pending items, finalization, transitions, events."""

from __future__ import annotations

import json
from typing import Any

import pytest


def events(api: Any, type_: str) -> list[dict[str, Any]]:
    return api.ok("GET", "/v1/events", query_string={"type": type_, "limit": 100})["data"]


@pytest.fixture()
def draft(api: Any, customer: dict[str, Any]) -> dict[str, Any]:
    return api.ok("POST", "/v1/invoices", {"customer": customer["id"]})


def add(api: Any, inv: dict[str, Any], unit_amount: int, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return api.ok("POST", f"/v1/invoices/{inv['id']}/lines",
                  {"unit_amount": unit_amount, "quantity": quantity, **extra})


def test_draft_defaults(draft: dict[str, Any]) -> None:
    assert draft["object"] == "invoice" and draft["status"] == "draft"
    assert draft["currency"] == "eur" and draft["collection_method"] == "charge_automatically"
    assert draft["auto_advance"] is False
    assert draft["lines"] == {"object": "list", "data": [], "has_more": False,
                              "url": f"/v1/invoices/{draft['id']}/lines"}
    assert draft["total"] == 0 and draft["hosted_invoice_url"] is None and draft["invoice_pdf"] is None


def test_lines_can_be_added_changed_and_removed_on_a_draft(api: Any, draft: dict[str, Any]) -> None:
    inv = add(api, draft, 1000, 2, description="Widgets")
    line = inv["lines"]["data"][0]
    assert line["object"] == "line_item" and line["id"].startswith("il_") and line["amount"] == 2000
    inv = api.ok("POST", f"/v1/invoices/{draft['id']}/lines/{line['id']}", {"quantity": 5})
    assert inv["total"] == 5000 and inv["lines"]["data"][0]["quantity"] == 5
    inv = api.ok("DELETE", f"/v1/invoices/{draft['id']}/lines/{line['id']}")
    assert inv["lines"]["data"] == [] and inv["total"] == 0


def test_price_lines_take_amount_and_currency_from_the_price(api: Any, draft: dict[str, Any]) -> None:
    price = api.ok("POST", "/v1/prices", {"unit_amount": 4900, "currency": "EUR", "nickname": "Pro plan"})
    assert price["currency"] == "eur"
    inv = api.ok("POST", f"/v1/invoices/{draft['id']}/lines", {"price": price["id"], "quantity": 3})
    assert inv["lines"]["data"][0]["description"] == "Pro plan" and inv["total"] == 14700
    usd = api.ok("POST", "/v1/prices", {"unit_amount": 100, "currency": "usd"})
    wrong = api.post(f"/v1/invoices/{draft['id']}/lines", {"price": usd["id"]})
    assert wrong.status_code == 400 and wrong.get_json()["error"]["param"] == "price"


def test_pending_items_are_swept_onto_the_next_invoice_in_their_currency(api: Any, customer: dict) -> None:
    api.ok("POST", "/v1/invoiceitems", {"customer": customer["id"], "amount": 500, "currency": "usd",
                                        "description": "Setup"})
    api.ok("POST", "/v1/invoiceitems", {"customer": customer["id"], "unit_amount": 250, "quantity": 4,
                                        "currency": "usd"})
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    assert inv["currency"] == "usd" and inv["total"] == 1500 and len(inv["lines"]["data"]) == 2
    pending = api.ok("GET", "/v1/invoiceitems", query_string={"pending": "true"})["data"]
    assert pending == []
    # Deleting the draft puts them back.
    api.ok("DELETE", f"/v1/invoices/{inv['id']}")
    assert len(api.ok("GET", "/v1/invoiceitems", query_string={"pending": "true"})["data"]) == 2
    excluded = api.ok("POST", "/v1/invoices", {"customer": customer["id"],
                                               "pending_invoice_items_behavior": "exclude"})
    assert excluded["lines"]["data"] == [] and excluded["currency"] == "eur"


def test_finalize_applies_location_tax_and_freezes_customer_details(api: Any, customer: dict) -> None:
    api.ok("POST", "/v1/tax_rates", {"display_name": "USt", "percentage": 19, "country": "DE"})
    api.ok("POST", "/v1/tax_rates", {"display_name": "FR TVA", "percentage": 20, "country": "FR"})
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    add(api, inv, 2050)
    fin = api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})
    assert (fin["tax"], fin["total"], fin["amount_due"]) == (390, 2440, 2440)
    assert fin["tax_amounts"][0]["amount"] == 390 and fin["tax_amounts"][0]["inclusive"] is False
    assert fin["customer_email"] == "jenny@example.com" and fin["customer_address"]["country"] == "DE"
    api.ok("POST", f"/v1/customers/{customer['id']}", {"email": "new@example.com"})
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["customer_email"] == "jenny@example.com"


def test_default_tax_rates_win_over_location_and_inclusive_rates(api: Any, customer: dict) -> None:
    api.ok("POST", "/v1/tax_rates", {"display_name": "USt", "percentage": 19, "country": "DE"})
    incl = api.ok("POST", "/v1/tax_rates", {"display_name": "VAT incl.", "percentage": 10, "inclusive": True})
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "default_tax_rates": [incl["id"]]})
    add(api, inv, 60000)
    fin = api.ok("POST", f"/v1/invoices/{inv['id']}/finalize")
    assert (fin["total"], fin["tax"]) == (60000, 5455)


def test_state_specific_rates_only_apply_in_that_state(api: Any) -> None:
    api.ok("POST", "/v1/tax_rates", {"display_name": "CA", "percentage": 7.25, "country": "US", "state": "CA"})
    ny = api.ok("POST", "/v1/customers", {"address": {"country": "US", "state": "NY"}})
    ca = api.ok("POST", "/v1/customers", {"address": {"country": "US", "state": "CA"}})
    totals = []
    for cust in (ny, ca):
        inv = api.ok("POST", "/v1/invoices", {"customer": cust["id"]})
        add(api, inv, 10000)
        totals.append(api.ok("POST", f"/v1/invoices/{inv['id']}/finalize")["tax"])
    assert totals == [0, 725]


@pytest.mark.parametrize("exempt", ["exempt", "reverse"])
def test_exempt_and_reverse_charge_customers_pay_no_tax(api: Any, exempt: str) -> None:
    api.ok("POST", "/v1/tax_rates", {"display_name": "USt", "percentage": 19, "country": "DE"})
    cust = api.ok("POST", "/v1/customers", {"tax_exempt": exempt, "address": {"country": "DE"},
                                            "tax_ids": [{"type": "eu_vat", "value": "FR40303265045"}]})
    inv = api.ok("POST", "/v1/invoices", {"customer": cust["id"]})
    add(api, inv, 10000)
    assert api.ok("POST", f"/v1/invoices/{inv['id']}/finalize")["tax"] == 0


def test_coupons_discount_before_tax(api: Any, customer: dict) -> None:
    api.ok("POST", "/v1/tax_rates", {"display_name": "USt", "percentage": 19, "country": "DE"})
    api.ok("POST", "/v1/coupons", {"id": "TENOFF", "percent_off": 10, "duration": "forever"})
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "discounts": [{"coupon": "TENOFF"}]})
    add(api, inv, 10000)
    fin = api.ok("POST", f"/v1/invoices/{inv['id']}/finalize")
    assert (fin["discount"], fin["tax"], fin["total"]) == (1000, 1710, 10710)
    assert fin["discounts"] == [{"coupon": "TENOFF", "amount": 1000}]


def test_customer_once_coupon_applies_to_the_next_invoice_only(api: Any) -> None:
    api.ok("POST", "/v1/coupons", {"id": "WELCOME", "amount_off": 500, "currency": "eur"})
    cust = api.ok("POST", "/v1/customers", {"coupon": "WELCOME"})
    first = api.ok("POST", "/v1/invoices", {"customer": cust["id"]})
    add(api, first, 2000)
    assert api.ok("POST", f"/v1/invoices/{first['id']}/finalize")["total"] == 1500
    assert api.ok("GET", f"/v1/customers/{cust['id']}")["coupon"] is None
    second = api.ok("POST", "/v1/invoices", {"customer": cust["id"]})
    assert add(api, second, 2000)["total"] == 2000


def test_zero_due_finalizes_straight_to_paid(api: Any, draft: dict[str, Any]) -> None:
    fin = api.ok("POST", f"/v1/invoices/{draft['id']}/finalize")
    assert fin["status"] == "paid" and fin["status_transitions"]["paid_at"] is not None
    assert [e["data"]["id"] for e in events(api, "invoice.paid")] == [draft["id"]]


def test_send_invoice_needs_a_customer_email(api: Any) -> None:
    cust = api.ok("POST", "/v1/customers", {"name": "No Mail"})
    inv = api.ok("POST", "/v1/invoices", {"customer": cust["id"], "collection_method": "send_invoice",
                                          "days_until_due": 7})
    response = api.post(f"/v1/invoices/{inv['id']}/finalize")
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "customer"
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["status"] == "draft"


def test_send_invoice_needs_a_due_date(api: Any, customer: dict) -> None:
    response = api.post("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice"})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "days_until_due"


def test_after_finalization_only_description_and_footer_change(api: Any, draft: dict[str, Any]) -> None:
    add(api, draft, 1000)
    api.ok("POST", f"/v1/invoices/{draft['id']}/finalize")
    ok = api.ok("POST", f"/v1/invoices/{draft['id']}", {"description": "Thanks!", "footer": "IBAN DE00"})
    assert (ok["description"], ok["footer"]) == ("Thanks!", "IBAN DE00")
    locked = api.post(f"/v1/invoices/{draft['id']}", {"metadata": {"a": "b"}})
    assert locked.status_code == 409
    assert locked.get_json()["error"]["code"] == "invoice_not_editable"
    lines = api.post(f"/v1/invoices/{draft['id']}/lines", {"unit_amount": 5})
    assert lines.status_code == 409 and "'open'" in lines.get_json()["error"]["message"]


def test_transitions_and_their_events(api: Any, draft: dict[str, Any]) -> None:
    add(api, draft, 1000)
    inv_id = draft["id"]
    assert api.ok("POST", f"/v1/invoices/{inv_id}/finalize")["status"] == "open"
    sent = api.ok("POST", f"/v1/invoices/{inv_id}/send")
    assert sent["status"] == "open"
    unc = api.ok("POST", f"/v1/invoices/{inv_id}/mark_uncollectible")
    assert unc["status"] == "uncollectible" and unc["status_transitions"]["marked_uncollectible_at"]
    void = api.ok("POST", f"/v1/invoices/{inv_id}/void")
    assert void["status"] == "void" and void["status_transitions"]["voided_at"]
    again = api.post(f"/v1/invoices/{inv_id}/void")
    assert again.status_code == 409 and "'void'" in again.get_json()["error"]["message"]
    types = [e["type"] for e in api.ok("GET", "/v1/events", query_string={"limit": 100})["data"]]
    for expected in ("invoice.created", "invoice.updated", "invoice.finalized", "invoice.sent",
                     "invoice.marked_uncollectible", "invoice.voided"):
        assert expected in types
    voided = events(api, "invoice.voided")[0]
    assert voided["data"]["status"] == "void" and voided["object"] == "event" and voided["id"].startswith("evt_")
    assert api.ok("GET", f"/v1/events/{voided['id']}") == voided


@pytest.mark.parametrize("action", ["void", "mark_uncollectible", "send"])
def test_draft_cannot_skip_finalization(api: Any, draft: dict[str, Any], action: str) -> None:
    response = api.post(f"/v1/invoices/{draft['id']}/{action}")
    assert response.status_code == 409
    assert "'draft'" in response.get_json()["error"]["message"]


def test_only_drafts_can_be_deleted(api: Any, draft: dict[str, Any]) -> None:
    add(api, draft, 1000)
    api.ok("POST", f"/v1/invoices/{draft['id']}/finalize")
    response = api.delete(f"/v1/invoices/{draft['id']}")
    assert response.status_code == 409
    other = api.ok("POST", "/v1/invoices", {"customer": draft["customer"]})
    assert api.ok("DELETE", f"/v1/invoices/{other['id']}") == {"id": other["id"], "object": "invoice",
                                                                "deleted": True}
    assert api.get(f"/v1/invoices/{other['id']}").status_code == 404
    assert events(api, "invoice.deleted")[0]["data"]["id"] == other["id"]


def test_list_filters_and_expand(api: Any, customer: dict) -> None:
    other = api.ok("POST", "/v1/customers", {"name": "Other"})
    a = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    b = api.ok("POST", "/v1/invoices", {"customer": other["id"]})
    add(api, b, 100)
    api.ok("POST", f"/v1/invoices/{b['id']}/finalize")
    by_customer = api.ok("GET", "/v1/invoices", query_string={"customer": customer["id"]})["data"]
    assert [i["id"] for i in by_customer] == [a["id"]]
    by_status = api.ok("GET", "/v1/invoices", query_string={"status": "open"})["data"]
    assert [i["id"] for i in by_status] == [b["id"]]
    expanded = api.ok("GET", "/v1/invoices", query_string={"expand[]": "customer"})["data"]
    assert {i["customer"]["id"] for i in expanded} == {customer["id"], other["id"]}
    one = api.ok("GET", f"/v1/invoices/{a['id']}", query_string={"expand[]": "customer"})
    assert one["customer"]["email"] == "jenny@example.com"
    future = api.ok("GET", "/v1/invoices", query_string={"created[gte]": a["created"] + 3600})["data"]
    assert future == []
    bad = api.get("/v1/invoices", query_string={"status": "pending"})
    assert bad.status_code == 400 and bad.get_json()["error"]["param"] == "status"


@pytest.mark.parametrize(("body", "param"), [
    ({"unit_amount": -1}, "unit_amount"),
    ({"unit_amount": "100"}, "unit_amount"),
    ({"unit_amount": 1.5}, "unit_amount"),
    ({"unit_amount": True}, "unit_amount"),
    ({"unit_amount": 10**12}, "unit_amount"),
    ({"unit_amount": 100, "quantity": 0}, "quantity"),
    ({"unit_amount": 100, "quantity": -3}, "quantity"),
    ({"unit_amount": 100, "quantity": 10**9}, "quantity"),
    ({"unit_amount": 99_999_999_999, "quantity": 2}, "quantity"),
    ({"unit_amount": 100, "metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
    ({"unit_amount": 100, "metadata": {"k" * 41: "v"}}, "metadata"),
    ({"unit_amount": 100, "metadata": {"k": "v" * 501}}, "metadata"),
    ({"unit_amount": 100, "metadata": {"k": 5}}, "metadata[k]"),
    ({}, "unit_amount"),
])
def test_bad_lines_are_refused_naming_the_parameter(api: Any, draft: dict, body: dict, param: str) -> None:
    response = api.post(f"/v1/invoices/{draft['id']}/lines", body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["param"] == param
    assert api.ok("GET", f"/v1/invoices/{draft['id']}")["lines"]["data"] == []


@pytest.mark.parametrize(("body", "param"), [
    ({"currency": "xyz"}, "currency"),
    ({"customer": "cust_missing"}, "customer"),
    ({"collection_method": "invoice"}, "collection_method"),
    ({"days_until_due": 30}, "days_until_due"),
    ({"discounts": [{"coupon": "NOPE"}]}, "discounts[0][coupon]"),
    ({"default_tax_rates": ["txr_missing"]}, "default_tax_rates[0]"),
])
def test_bad_invoice_creation_is_refused_and_writes_nothing(api: Any, customer: dict, body: dict,
                                                            param: str) -> None:
    response = api.post("/v1/invoices", {"customer": customer["id"], **body})
    assert response.status_code in (400, 404), response.get_json()
    assert response.get_json()["error"]["param"] == param
    assert api.ok("GET", "/v1/invoices")["data"] == []
    assert events(api, "invoice.created") == []


def test_an_event_embeds_at_most_ten_lines_so_its_size_is_bounded(api: Any, draft: dict) -> None:
    description = "Long line " + "x" * 4990
    for i in range(25):
        add(api, draft, 100 + i, description=description)
    whole = api.ok("GET", f"/v1/invoices/{draft['id']}")
    assert len(whole["lines"]["data"]) == 25 and whole["lines"]["has_more"] is False
    listed = api.ok("GET", f"/v1/invoices/{draft['id']}/lines", query_string={"limit": 100})
    assert [line["id"] for line in listed["data"]] == [line["id"] for line in whole["lines"]["data"]]
    updates = events(api, "invoice.updated")
    newest = updates[0]["data"]
    assert newest["lines"]["has_more"] is True and newest["lines"]["url"] == f"/v1/invoices/{draft['id']}/lines"
    assert [line["id"] for line in newest["lines"]["data"]] == [line["id"] for line in whole["lines"]["data"][:10]]
    assert newest["total"] == whole["total"]  # the totals still cover every line
    # 25 edits of a growing invoice cost what 25 events of at most 10 lines cost, not 1 + 2 + ... + 25 lines
    page = api.get("/v1/events", query_string={"limit": 100})
    assert len(page.get_data()) < 25 * 11 * 5100
    assert max(len(json.dumps(event)) for event in updates) < 11 * 5100


NOT_TENDER = ["XXX", "xts", "XAU", "XAG", "XPT", "XPD", "XDR", "XSU", "XUA", "USN", "CHW", "DEM"]


@pytest.mark.parametrize("code", NOT_TENDER)
def test_codes_no_money_is_invoiced_in_are_refused_everywhere(api: Any, customer: dict, code: str) -> None:
    for path, body in [("/v1/invoices", {"customer": customer["id"]}),
                       ("/v1/prices", {"unit_amount": 100}),
                       ("/v1/coupons", {"amount_off": 100}),
                       ("/v1/invoiceitems", {"customer": customer["id"], "amount": 100})]:
        response = api.post(path, {**body, "currency": code})
        assert response.status_code == 400, (path, response.get_json())
        error = response.get_json()["error"]
        assert error["param"] == "currency" and "invoiced in" in error["message"]
    assert api.ok("GET", "/v1/invoices")["data"] == [] and api.ok("GET", "/v1/prices")["data"] == []


def test_currency_is_accepted_in_any_case_and_returned_lower(api: Any, customer: dict) -> None:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "currency": "JPY"})
    assert inv["currency"] == "jpy"


def test_a_once_coupon_discounts_only_the_first_invoice_finalized(api: Any) -> None:
    api.ok("POST", "/v1/coupons", {"id": "ONCE50", "percent_off": 50, "duration": "once"})
    cust = api.ok("POST", "/v1/customers", {"coupon": "ONCE50"})
    drafts = [api.ok("POST", "/v1/invoices", {"customer": cust["id"]}) for _ in range(2)]
    for draft in drafts:
        add(api, draft, 10000)
    first = api.ok("POST", f"/v1/invoices/{drafts[0]['id']}/finalize")
    second = api.ok("POST", f"/v1/invoices/{drafts[1]['id']}/finalize")
    assert (first["discount"], second["discount"]) == (5000, 0)
    assert second["discounts"] == [] and second["total"] == 10000
    updated = events(api, "customer.updated")
    assert updated and updated[0]["data"]["coupon"] is None


def test_changing_currency_refuses_an_amount_off_coupon_in_the_old_one(api: Any, customer: dict) -> None:
    api.ok("POST", "/v1/coupons", {"id": "TENEUR", "amount_off": 1000, "currency": "eur"})
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "discounts": [{"coupon": "TENEUR"}]})
    response = api.post(f"/v1/invoices/{inv['id']}", {"currency": "usd"})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "currency"
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["currency"] == "eur"
    both = api.ok("POST", f"/v1/invoices/{inv['id']}", {"currency": "usd", "discounts": []})
    assert both["currency"] == "usd" and both["discounts"] == []


@pytest.mark.parametrize("value", ["99999999999999999999999", "-1", "1e5"])
def test_out_of_range_created_filters_are_400(api: Any, value: str) -> None:
    response = api.get("/v1/invoices", query_string={"created[gte]": value})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "created[gte]"


def test_an_invoices_lines_are_listed_a_page_at_a_time_in_their_order(api: Any, draft: dict, customer: dict) -> None:
    for i in range(12):
        add(api, draft, 100 + i, description=f"Line {i}")
    url = f"/v1/invoices/{draft['id']}/lines"
    first = api.ok("GET", url)
    assert first["object"] == "list" and first["url"] == url and first["has_more"] is True
    assert [line["description"] for line in first["data"]] == [f"Line {i}" for i in range(10)]  # default limit 10
    rest = api.ok("GET", url, query_string={"starting_after": first["data"][-1]["id"]})
    assert [line["description"] for line in rest["data"]] == ["Line 10", "Line 11"] and rest["has_more"] is False
    before = api.ok("GET", url, query_string={"ending_before": rest["data"][0]["id"], "limit": 3})
    assert [line["description"] for line in before["data"]] == ["Line 7", "Line 8", "Line 9"]
    assert before["has_more"] is True

    other = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    add(api, other, 100)
    other_line = api.ok("GET", f"/v1/invoices/{other['id']}/lines")["data"][0]["id"]
    refused = api.get(url, query_string={"starting_after": other_line})
    assert refused.status_code == 400 and refused.get_json()["error"]["param"] == "starting_after"
    for bad in ({"limit": 0}, {"limit": 101}):
        response = api.get(url, query_string=bad)
        assert response.status_code == 400 and response.get_json()["error"]["param"] == "limit"
    assert api.get("/v1/invoices/inv_missing/lines").status_code == 404
