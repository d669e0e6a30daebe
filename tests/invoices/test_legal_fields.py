"""What an invoice carries to be a legal one (SPEC §10): its supply period, buyer reference and
line units, and, frozen at finalization, the seller (``account_legal``) and the buyer's tax ids,
so that no later edit of the business profile or the customer changes an issued invoice."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, Merchant

PROFILE = {
    "legal_name": "Acme GmbH",
    "address": {"line1": "Marienplatz 1", "city": "München", "postal_code": "80331", "country": "DE"},
    "vat_id": "DE123456788", "registration": "Amtsgericht München HRB 12345", "email": "billing@acme.example",
    "bank_account": {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
}
JAN, FEB = 1_767_225_600, 1_769_904_000  # 2026-01-01 and 2026-02-01, unix seconds


def draft_for(api: Api, customer: dict[str, Any], **fields: Any) -> dict[str, Any]:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], **fields})
    return api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"unit_amount": 1000, "quantity": 3, "unit": "HUR"})


def finalize(api: Api, inv: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False}, **kw)


def test_a_draft_has_no_seller_yet_and_lines_count_pieces_by_default(api: Api, customer: dict[str, Any]) -> None:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    assert inv["service_period"] is None and inv["buyer_reference"] is None
    assert inv["account_legal"] is None and inv["customer_tax_ids"] is None
    line = api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"unit_amount": 500})["lines"]["data"][0]
    assert line["unit"] == "C62" and line["service_period"] is None


def test_service_periods_on_the_invoice_and_its_lines(api: Api, customer: dict[str, Any]) -> None:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "service_period": {"start": JAN, "end": FEB}})
    assert inv["service_period"] == {"start": JAN, "end": FEB}
    inv = api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {
        "unit_amount": 500, "unit": "day", "service_period": {"start": JAN, "end": JAN}})
    line = inv["lines"]["data"][0]
    assert line["unit"] == "DAY" and line["service_period"] == {"start": JAN, "end": JAN}
    inv = api.ok("POST", f"/v1/invoices/{inv['id']}/lines/{line['id']}", {"unit": "MON", "service_period": None})
    assert inv["lines"]["data"][0]["unit"] == "MON" and inv["lines"]["data"][0]["service_period"] is None
    assert api.ok("POST", f"/v1/invoices/{inv['id']}", {"service_period": None})["service_period"] is None


@pytest.mark.parametrize(("body", "param"), [
    ({"service_period": {"start": FEB, "end": JAN}}, "service_period[end]"),
    ({"service_period": {"end": JAN}}, "service_period[start]"),
    ({"service_period": {"start": -1, "end": JAN}}, "service_period[start]"),
    ({"service_period": {"start": JAN, "end": 10**13}}, "service_period[end]"),
    ({"service_period": {"start": "2026-01-01", "end": JAN}}, "service_period[start]"),
    ({"buyer_reference": ""}, "buyer_reference"),
    ({"buyer_reference": "x" * 201}, "buyer_reference"),
])
def test_bad_invoice_fields_are_400s_naming_them(api: Api, customer: dict[str, Any], body: dict[str, Any],
                                                 param: str) -> None:
    response = api.post("/v1/invoices", {"customer": customer["id"], **body})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == param, response.get_json()
    assert response.get_json()["error"]["code"] != "parameter_unknown"  # a field the API knows, refused
    assert api.ok("GET", "/v1/invoices")["data"] == []


@pytest.mark.parametrize(("body", "param"), [
    ({"unit": "QQQ"}, "unit"),
    ({"unit": "hours"}, "unit"),
    ({"unit": ""}, "unit"),
    ({"service_period": {"start": FEB, "end": JAN}}, "service_period[end]"),
])
def test_bad_line_fields_are_400s_naming_them(api: Api, customer: dict[str, Any], body: dict[str, Any],
                                              param: str) -> None:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    response = api.post(f"/v1/invoices/{inv['id']}/lines", {"unit_amount": 100, **body})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == param, response.get_json()
    assert response.get_json()["error"]["code"] != "parameter_unknown"  # a field the API knows, refused
    inv = api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"unit_amount": 100})
    line = inv["lines"]["data"][0]
    response = api.post(f"/v1/invoices/{inv['id']}/lines/{line['id']}", body)
    assert response.status_code == 400 and response.get_json()["error"]["param"] == param
    null = api.post(f"/v1/invoices/{inv['id']}/lines/{line['id']}", {"unit": None})
    assert null.status_code == 400 and null.get_json()["error"]["param"] == "unit"
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["lines"]["data"] == [line]


def test_an_unit_is_explained_when_refused(api: Api, customer: dict[str, Any]) -> None:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    error = api.post(f"/v1/invoices/{inv['id']}/lines", {"unit_amount": 100, "unit": "hours"}).get_json()["error"]
    assert "Recommendation 20" in error["message"] and "HUR" in error["message"]


def test_invoice_items_keep_their_unit_and_period_on_the_line(api: Api, customer: dict[str, Any]) -> None:
    item = api.ok("POST", "/v1/invoiceitems", {"customer": customer["id"], "unit_amount": 9000, "quantity": 2,
                                               "unit": "HUR", "service_period": {"start": JAN, "end": FEB}})
    assert item["unit"] == "HUR" and item["service_period"] == {"start": JAN, "end": FEB}
    plain = api.ok("POST", "/v1/invoiceitems", {"customer": customer["id"], "amount": 100})
    assert plain["unit"] == "C62" and plain["service_period"] is None
    bad = api.post("/v1/invoiceitems", {"customer": customer["id"], "amount": 1, "unit": "nope"})
    assert bad.status_code == 400 and bad.get_json()["error"]["param"] == "unit"
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    first, second = inv["lines"]["data"]
    assert (first["unit"], first["service_period"]) == ("HUR", {"start": JAN, "end": FEB})
    assert (second["unit"], second["service_period"]) == ("C62", None)


def test_buyer_reference_defaults_to_the_customers(api: Api, customer: dict[str, Any]) -> None:
    path = f"/v1/customers/{customer['id']}"
    api.ok("POST", path, {"einvoice": {"buyer_reference": "04011000-1234512345-06"}})
    taken = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    assert taken["buyer_reference"] == "04011000-1234512345-06"
    own = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "buyer_reference": "PO-4711"})
    assert own["buyer_reference"] == "PO-4711"
    left_open = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "buyer_reference": None})
    assert left_open["buyer_reference"] is None
    api.ok("POST", path, {"einvoice": {"buyer_reference": "04011000-99999-01"}})
    # Finalization fills an empty one with the customer's as it is then; a set one stays.
    assert finalize(api, left_open)["buyer_reference"] == "04011000-99999-01"
    assert finalize(api, own)["buyer_reference"] == "PO-4711"


def test_finalization_freezes_the_seller_and_the_buyer(merchant: Merchant, customer: dict[str, Any]) -> None:
    api = merchant.test
    profile = api.ok("POST", "/v1/account/business_profile", PROFILE)
    api.ok("POST", f"/v1/customers/{customer['id']}", {"tax_ids": [{"type": "eu_vat", "value": "ATU13585627"}],
                                                       "einvoice": {"buyer_reference": "PO-1"}})
    inv = draft_for(api, customer, service_period={"start": JAN, "end": FEB})
    fin = finalize(api, inv)
    legal = {k: v for k, v in profile.items() if k not in ("object", "livemode", "complete", "missing")}
    assert fin["account_legal"] == legal
    assert fin["account_legal"]["vat_id"] == "DE123456788" and fin["account_legal"]["contact_name"] == "Acme GmbH"
    assert fin["customer_tax_ids"] == [{"type": "eu_vat", "value": "ATU13585627"}]
    assert fin["buyer_reference"] == "PO-1" and fin["service_period"] == {"start": JAN, "end": FEB}
    [finalized] = api.ok("GET", "/v1/events", query_string={"type": "invoice.finalized"})["data"]
    assert finalized["data"]["account_legal"] == legal

    # Everything changes afterwards: the issued invoice does not.
    api.ok("POST", "/v1/account/business_profile", {
        "legal_name": "Acme Holding AG", "vat_id": "ATU13585627", "small_business": True,
        "address": {"line1": "Ring 2", "city": "Wien", "postal_code": "1010", "country": "AT"}})
    api.ok("POST", f"/v1/customers/{customer['id']}", {
        "name": "Jenny Other", "address": {"country": "FR", "city": "Paris"}, "tax_ids": [],
        "einvoice": {"buyer_reference": "PO-2"}})
    again = api.ok("GET", f"/v1/invoices/{inv['id']}")
    for field in ("account_legal", "customer_tax_ids", "customer_name", "customer_address", "buyer_reference",
                  "service_period"):
        assert again[field] == fin[field], field
    assert again["customer_name"] == "Jenny Rosen" and again["customer_address"]["city"] == "Berlin"
    assert merchant.live.ok("GET", "/v1/account/business_profile")["legal_name"] == "Acme Holding AG"
    # A new invoice takes the profile as it is now.
    assert finalize(api, draft_for(api, customer))["account_legal"]["legal_name"] == "Acme Holding AG"


def test_legal_fields_cannot_change_after_finalization(api: Api, customer: dict[str, Any]) -> None:
    fin = finalize(api, draft_for(api, customer))
    for body in ({"service_period": {"start": JAN, "end": FEB}}, {"buyer_reference": "PO-9"}):
        response = api.post(f"/v1/invoices/{fin['id']}", body)
        assert response.status_code == 409 and response.get_json()["error"]["code"] == "invoice_not_editable"
    line = fin["lines"]["data"][0]
    assert api.post(f"/v1/invoices/{fin['id']}/lines/{line['id']}", {"unit": "DAY"}).status_code == 409
    assert api.ok("GET", f"/v1/invoices/{fin['id']}")["lines"]["data"][0]["unit"] == "HUR"


def test_without_a_profile_the_invoice_still_finalizes_with_an_empty_seller(api: Api,
                                                                            customer: dict[str, Any]) -> None:
    fin = finalize(api, draft_for(api, customer))
    assert fin["status"] == "open" and fin["customer_tax_ids"] == []
    legal = fin["account_legal"]
    assert legal["legal_name"] is None and legal["vat_id"] is None and legal["small_business"] is False


def test_an_invoice_freezes_its_own_accounts_profile_only(merchant: Merchant, other_merchant: Merchant,
                                                          customer: dict[str, Any]) -> None:
    other_merchant.test.ok("POST", "/v1/account/business_profile", {"legal_name": "Globex Ltd"})
    merchant.test.ok("POST", "/v1/account/business_profile", {"legal_name": "Acme GmbH"})
    fin = finalize(merchant.test, draft_for(merchant.test, customer))
    assert fin["account_legal"]["legal_name"] == "Acme GmbH"
    assert other_merchant.test.get(f"/v1/invoices/{fin['id']}").status_code == 404


def test_a_replayed_finalize_answers_the_seller_it_froze(api: Api, customer: dict[str, Any]) -> None:
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    inv = draft_for(api, customer)
    first = api.post(f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False},
                     headers={"Idempotency-Key": "fin-legal"})
    api.ok("POST", "/v1/account/business_profile", {"legal_name": "Renamed GmbH"})
    again = api.post(f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False},
                     headers={"Idempotency-Key": "fin-legal"})
    assert again.headers["Idempotent-Replayed"] == "true" and again.data == first.data
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["account_legal"]["legal_name"] == "Acme GmbH"
