"""Customers' tax ids and e-invoice settings (SPEC §10)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, Merchant


def test_tax_ids_are_checked_compacted_and_replaced_whole(api: Api) -> None:
    cust = api.ok("POST", "/v1/customers", {
        "name": "Globex SARL",
        "tax_ids": [{"type": "eu_vat", "value": "fr 40 303 265 045"}, {"type": "de_stn", "value": "181/815/08155"}],
    })
    assert cust["tax_ids"] == [{"type": "eu_vat", "value": "FR40303265045"},
                               {"type": "de_stn", "value": "18181508155"}]
    assert cust["einvoice"] == {"buyer_reference": None, "format": "none"}
    assert api.ok("GET", f"/v1/customers/{cust['id']}")["tax_ids"] == cust["tax_ids"]
    replaced = api.ok("POST", f"/v1/customers/{cust['id']}", {"tax_ids": [{"type": "gb_vat", "value": "GB980780684"}]})
    assert replaced["tax_ids"] == [{"type": "gb_vat", "value": "GB980780684"}]
    assert api.ok("POST", f"/v1/customers/{cust['id']}", {"name": "Globex"})["tax_ids"] == replaced["tax_ids"]
    assert api.ok("POST", f"/v1/customers/{cust['id']}", {"tax_ids": []})["tax_ids"] == []


@pytest.mark.parametrize(("tax_ids", "param"), [
    ([{"type": "eu_vat", "value": "DE123456789"}], "tax_ids[0][value]"),  # check digit off by one
    ([{"type": "eu_vat", "value": "DE123456788"}, {"type": "eu_vat", "value": "ATU13585620"}], "tax_ids[1][value]"),
    ([{"type": "eu_vat", "value": "GB980780684"}], "tax_ids[0][value]"),  # not an EU VAT id
    ([{"type": "de_stn", "value": "12345"}], "tax_ids[0][value]"),
    ([{"type": "us_ein", "value": "12-3456789"}], "tax_ids[0][type]"),
    ([{"type": "eu_vat"}], "tax_ids[0][value]"),
    ([{"type": "eu_vat", "value": "DE123456788"}, {"type": "eu_vat", "value": "de123456788"}], "tax_ids[1][value]"),
    ([{"type": "eu_vat", "value": "DE123456788"}] * 6, "tax_ids"),
])
def test_a_wrong_tax_id_is_a_400_naming_it_and_nothing_is_written(api: Api, tax_ids: list[dict[str, Any]],
                                                                  param: str) -> None:
    response = api.post("/v1/customers", {"name": "Half", "tax_ids": tax_ids})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["param"] == param
    assert response.get_json()["error"]["code"] != "parameter_unknown"  # a field the API knows, refused
    assert api.ok("GET", "/v1/customers")["data"] == []


def test_a_wrong_tax_id_on_update_changes_nothing(api: Api, customer: dict[str, Any]) -> None:
    api.ok("POST", f"/v1/customers/{customer['id']}", {"tax_ids": [{"type": "eu_vat", "value": "DE123456788"}]})
    response = api.post(f"/v1/customers/{customer['id']}", {
        "name": "Renamed", "tax_ids": [{"type": "eu_vat", "value": "DE123456789"}]})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "tax_ids[0][value]"
    kept = api.ok("GET", f"/v1/customers/{customer['id']}")
    assert kept["name"] == customer["name"] and kept["tax_ids"] == [{"type": "eu_vat", "value": "DE123456788"}]


def test_einvoice_settings_change_field_by_field(api: Api, customer: dict[str, Any]) -> None:
    path = f"/v1/customers/{customer['id']}"
    first = api.ok("POST", path, {"einvoice": {"buyer_reference": "04011000-12345-03", "format": "xrechnung_cii"}})
    assert first["einvoice"] == {"buyer_reference": "04011000-12345-03", "format": "xrechnung_cii"}
    assert api.ok("POST", path, {"einvoice": {"format": "facturx"}})["einvoice"] == {
        "buyer_reference": "04011000-12345-03", "format": "facturx"}
    assert api.ok("POST", path, {"einvoice": {"buyer_reference": None}})["einvoice"] == {
        "buyer_reference": None, "format": "facturx"}
    for body, param in (({"einvoice": {"format": "pdf"}}, "einvoice[format]"),
                        ({"einvoice": {"format": None}}, "einvoice[format]"),
                        ({"einvoice": {"buyer_reference": "x" * 201}}, "einvoice[buyer_reference]"),
                        ({"einvoice": {"leitweg_id": "x"}}, "einvoice[leitweg_id]")):
        response = api.post(path, body)
        assert response.status_code == 400 and response.get_json()["error"]["param"] == param, body
    assert api.ok("GET", path)["einvoice"]["format"] == "facturx"


def test_the_customer_event_carries_the_new_fields(api: Api) -> None:
    api.ok("POST", "/v1/customers", {"tax_ids": [{"type": "eu_vat", "value": "DE123456788"}],
                                     "einvoice": {"format": "ubl"}})
    [event] = api.ok("GET", "/v1/events", query_string={"type": "customer.created"})["data"]
    assert event["data"]["tax_ids"] == [{"type": "eu_vat", "value": "DE123456788"}]
    assert event["data"]["einvoice"]["format"] == "ubl"


def test_another_account_cannot_set_or_read_them(merchant: Merchant, other_merchant: Merchant) -> None:
    cust = merchant.test.ok("POST", "/v1/customers", {"tax_ids": [{"type": "eu_vat", "value": "DE123456788"}]})
    response = other_merchant.test.post(f"/v1/customers/{cust['id']}", {"tax_ids": []})
    assert response.status_code == 404
    assert merchant.live.get(f"/v1/customers/{cust['id']}").status_code == 404
    assert merchant.test.ok("GET", f"/v1/customers/{cust['id']}")["tax_ids"] == cust["tax_ids"]
