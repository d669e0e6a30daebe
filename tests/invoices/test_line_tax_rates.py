"""Per-line tax rates through the API (SPEC §10): lines and invoice items name the rates they pay,
and the invoice gives per rate and category the taxable amount and the tax."""

from __future__ import annotations

from typing import Any

import pytest


def rate(api: Any, percentage: float, **extra: Any) -> str:
    return api.ok("POST", "/v1/tax_rates", {"display_name": f"USt {percentage}", "percentage": percentage,
                                            **extra})["id"]


def line(api: Any, inv: dict[str, Any], unit_amount: int, **extra: Any) -> dict[str, Any]:
    return api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"unit_amount": unit_amount, **extra})


@pytest.fixture()
def draft(api: Any, customer: dict[str, Any]) -> dict[str, Any]:
    return api.ok("POST", "/v1/invoices", {"customer": customer["id"]})


def test_lines_at_19_and_7_percent_give_one_entry_per_rate(api: Any, draft: dict[str, Any]) -> None:
    standard, reduced = rate(api, 19), rate(api, 7)
    for amount in (3, 3, 3):  # per line 0.01 each; per rate 0.09 x 19 % = 0.02
        line(api, draft, amount, tax_rates=[standard])
    inv = line(api, draft, 10_000, tax_rates=[reduced])
    fin = api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})
    assert fin["tax_amounts"] == [
        {"tax_rate": standard, "amount": 2, "inclusive": False, "taxable_amount": 9, "category": "S"},
        {"tax_rate": reduced, "amount": 700, "inclusive": False, "taxable_amount": 10_000, "category": "S"},
    ]
    assert (fin["tax"], fin["total"]) == (702, 10_711)
    lines = fin["lines"]["data"]
    assert [ln["tax_rates"] for ln in lines] == [[standard]] * 3 + [[reduced]]
    assert sum(ln["tax_amounts"][0]["amount"] for ln in lines[:3]) == 2


def test_a_line_rate_wins_over_location_and_an_empty_list_means_no_tax(api: Any, draft: dict[str, Any]) -> None:
    located = rate(api, 19, country="DE")  # the customer lives in DE
    reduced = rate(api, 7)
    line(api, draft, 1_000)
    line(api, draft, 1_000, tax_rates=[reduced])
    inv = line(api, draft, 1_000, tax_rates=[])
    assert [ln["tax_rates"] for ln in inv["lines"]["data"]] == [None, [reduced], []]
    assert inv["tax_amounts"] == [
        {"tax_rate": located, "amount": 190, "inclusive": False, "taxable_amount": 1_000, "category": "S"},
        {"tax_rate": reduced, "amount": 70, "inclusive": False, "taxable_amount": 1_000, "category": "S"},
        {"tax_rate": None, "amount": 0, "inclusive": False, "taxable_amount": 1_000, "category": "E"},
    ]
    assert inv["lines"]["data"][2]["tax_amounts"] == []
    # Updating the line back to null hands it to the invoice's rates again.
    third = inv["lines"]["data"][2]["id"]
    inv = api.ok("POST", f"/v1/invoices/{inv['id']}/lines/{third}", {"tax_rates": None})
    assert inv["tax"] == 190 + 70 + 190 and [t["tax_rate"] for t in inv["tax_amounts"]] == [located, reduced]


def test_empty_default_tax_rates_mean_none_and_null_means_the_location(api: Any, customer: dict) -> None:
    located = rate(api, 19, country="DE")
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "default_tax_rates": []})
    inv = line(api, inv, 1_000)
    assert inv["default_tax_rates"] == [] and inv["tax"] == 0
    inv = api.ok("POST", f"/v1/invoices/{inv['id']}", {"default_tax_rates": None})
    assert inv["default_tax_rates"] is None and inv["tax_amounts"][0]["tax_rate"] == located and inv["tax"] == 190


def test_an_items_tax_rates_are_carried_to_its_line(api: Any, customer: dict[str, Any]) -> None:
    reduced = rate(api, 7)
    item = api.ok("POST", "/v1/invoiceitems", {"customer": customer["id"], "amount": 5_000,
                                               "tax_rates": [reduced]})
    assert item["tax_rates"] == [reduced]
    plain = api.ok("POST", "/v1/invoiceitems", {"customer": customer["id"], "amount": 1_000})
    assert plain["tax_rates"] is None
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    assert [ln["tax_rates"] for ln in inv["lines"]["data"]] == [[reduced], None]
    assert inv["tax_amounts"] == [
        {"tax_rate": reduced, "amount": 350, "inclusive": False, "taxable_amount": 5_000, "category": "S"},
        {"tax_rate": None, "amount": 0, "inclusive": False, "taxable_amount": 1_000, "category": "E"},
    ]


@pytest.mark.parametrize("where", ["line", "line_update", "item"])
def test_an_unknown_inactive_or_repeated_rate_is_refused_naming_it(api: Any, customer: dict, draft: dict,
                                                                   where: str) -> None:
    good = rate(api, 19)
    inactive = rate(api, 7, active=False)
    existing = line(api, draft, 100)["lines"]["data"][0]["id"]
    # An unknown id is resource_missing (404) as every referenced object is, default_tax_rates' too.
    for rates, param, status in ((["txr_missing"], "tax_rates[0]", 404), ([good, inactive], "tax_rates[1]", 400),
                                 ([good, good], "tax_rates", 400)):
        if where == "line":
            response = api.post(f"/v1/invoices/{draft['id']}/lines", {"unit_amount": 100, "tax_rates": rates})
        elif where == "line_update":
            response = api.post(f"/v1/invoices/{draft['id']}/lines/{existing}", {"tax_rates": rates})
        else:
            response = api.post("/v1/invoiceitems", {"customer": customer["id"], "amount": 100, "tax_rates": rates})
        assert response.status_code == status, response.get_json()
        assert response.get_json()["error"]["param"] == param
    inv = api.ok("GET", f"/v1/invoices/{draft['id']}")
    assert len(inv["lines"]["data"]) == 1 and inv["lines"]["data"][0]["tax_rates"] is None


def test_an_exempt_customer_pays_no_line_rate_either(api: Any) -> None:
    standard = rate(api, 19)
    cust = api.ok("POST", "/v1/customers", {"tax_exempt": "exempt", "address": {"country": "DE"}})
    inv = api.ok("POST", "/v1/invoices", {"customer": cust["id"]})
    inv = line(api, inv, 1_000, tax_rates=[standard])
    assert inv["tax"] == 0 and inv["tax_amounts"] == [
        {"tax_rate": None, "amount": 0, "inclusive": False, "taxable_amount": 1_000, "category": "E"}]
