from __future__ import annotations

from typing import Any

import pytest


def test_create_retrieve_update_list_delete(api: Any) -> None:
    cust = api.ok("POST", "/v1/customers", {
        "email": "Ada@Example.com", "name": "Ada", "preferred_locales": ["de-DE", "en"],
        "address": {"country": "de", "city": "Köln"}, "metadata": {"crm": "42"},
    })
    assert cust["id"].startswith("cust_") and cust["object"] == "customer"
    assert cust["address"]["country"] == "DE" and cust["preferred_locales"] == ["de-DE", "en"]
    assert cust["invoice_settings"] == {"default_payment_method": None} and cust["tax_exempt"] == "none"
    assert api.ok("GET", f"/v1/customers/{cust['id']}") == cust
    updated = api.ok("POST", f"/v1/customers/{cust['id']}", {"name": "Ada L.", "metadata": {"crm": "", "x": "y"}})
    assert updated["name"] == "Ada L." and updated["metadata"] == {"x": "y"} and updated["email"] == cust["email"]
    api.ok("POST", "/v1/customers", {"email": "other@example.com"})
    found = api.ok("GET", "/v1/customers", query_string={"email": cust["email"]})["data"]
    assert [c["id"] for c in found] == [cust["id"]]
    assert api.ok("DELETE", f"/v1/customers/{cust['id']}")["deleted"] is True
    assert api.get(f"/v1/customers/{cust['id']}").status_code == 404
    types = [e["type"] for e in api.ok("GET", "/v1/events")["data"]]
    assert types.count("customer.created") == 2 and "customer.updated" in types


@pytest.mark.parametrize(("body", "param"), [
    ({"email": "not-an-email"}, "email"),
    ({"email": 42}, "email"),
    ({"address": {"country": "XX"}}, "address[country]"),
    ({"address": {"country": "Germany"}}, "address[country]"),
    ({"tax_exempt": "maybe"}, "tax_exempt"),
    ({"preferred_locales": ["zz-not-a-locale"]}, "preferred_locales[0]"),
    ({"coupon": "NOPE"}, "coupon"),
    ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
    ({"name": "x" * 300}, "name"),
    ({"invoice_settings": {"default_payment_method": "pm_unknown"}}, "invoice_settings[default_payment_method]"),
])
def test_bad_customer_input_names_the_parameter(api: Any, body: dict, param: str) -> None:
    response = api.post("/v1/customers", body)
    assert response.status_code in (400, 404), response.get_json()
    assert response.get_json()["error"]["param"] == param
    assert api.ok("GET", "/v1/customers")["data"] == []
