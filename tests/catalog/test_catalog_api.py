from __future__ import annotations

from typing import Any

import pytest


def test_prices(api: Any) -> None:
    price = api.ok("POST", "/v1/prices", {"unit_amount": 1999, "currency": "Usd", "nickname": "Basic"})
    assert price["id"].startswith("price_") and price["currency"] == "usd"
    assert api.ok("GET", f"/v1/prices/{price['id']}") == price
    assert [p["id"] for p in api.ok("GET", "/v1/prices")["data"]] == [price["id"]]


def test_coupons_percent_and_amount(api: Any) -> None:
    pct = api.ok("POST", "/v1/coupons", {"id": "SPRING", "percent_off": 12.5, "duration": "forever"})
    assert pct["id"] == "SPRING" and pct["percent_off"] == 12.5 and pct["amount_off"] is None
    amt = api.ok("POST", "/v1/coupons", {"amount_off": 500, "currency": "EUR", "name": "Five off"})
    assert amt["id"].startswith("co_") and amt["currency"] == "eur" and amt["duration"] == "once"
    dup = api.post("/v1/coupons", {"id": "SPRING", "percent_off": 5})
    assert dup.status_code == 400 and dup.get_json()["error"]["param"] == "id"
    assert api.ok("DELETE", "/v1/coupons/SPRING")["deleted"] is True
    assert api.get("/v1/coupons/SPRING").status_code == 404


@pytest.mark.parametrize(("body", "param"), [
    ({"percent_off": 0}, "percent_off"),
    ({"percent_off": 100.5}, "percent_off"),
    ({"percent_off": 10.123}, "percent_off"),
    ({"percent_off": 10, "amount_off": 5, "currency": "eur"}, "percent_off"),
    ({"amount_off": 500}, "currency"),
    ({"amount_off": 0, "currency": "eur"}, "amount_off"),
    ({}, "percent_off"),
    ({"id": "bad id!", "percent_off": 5}, "id"),
    ({"percent_off": 5, "duration": "repeating"}, "duration"),
])
def test_bad_coupons(api: Any, body: dict, param: str) -> None:
    response = api.post("/v1/coupons", body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["param"] == param


def test_tax_rates_create_update_and_keep_their_percentage(api: Any) -> None:
    rate = api.ok("POST", "/v1/tax_rates", {"display_name": "MwSt ermäßigt", "percentage": 7.5,
                                            "country": "de"})
    assert rate["percentage"] == 7.5 and rate["country"] == "DE" and rate["inclusive"] is False
    updated = api.ok("POST", f"/v1/tax_rates/{rate['id']}", {"active": False, "display_name": "old"})
    assert updated["active"] is False and updated["display_name"] == "old" and updated["percentage"] == 7.5
    refused = api.post(f"/v1/tax_rates/{rate['id']}", {"percentage": 8})
    assert refused.status_code == 400 and refused.get_json()["error"]["param"] == "percentage"


@pytest.mark.parametrize(("body", "param"), [
    ({"display_name": "x", "percentage": -1}, "percentage"),
    ({"display_name": "x", "percentage": 101}, "percentage"),
    ({"display_name": "x", "percentage": "19"}, "percentage"),
    ({"display_name": "x", "percentage": 19, "country": "ZZ"}, "country"),
    ({"display_name": "x", "percentage": 19, "state": "CA"}, "state"),
    ({"percentage": 19}, "display_name"),
])
def test_bad_tax_rates(api: Any, body: dict, param: str) -> None:
    response = api.post("/v1/tax_rates", body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["param"] == param
