"""Invoices to credit, made through the API."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


def rate(api: Api, percentage: float, inclusive: bool = False, name: str = "USt") -> str:
    return api.ok("POST", "/v1/tax_rates", {"display_name": name, "percentage": percentage,
                                            "inclusive": inclusive})["id"]  # type: ignore[no-any-return]


def issue(api: Api, customer: dict[str, Any], lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A finalized send_invoice invoice (open) with ``lines``."""
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                          "days_until_due": 14, **fields})
    for line in lines:
        api.ok("POST", f"/v1/invoices/{inv['id']}/lines", line)
    return api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})


def two_rates(api: Api, customer: dict[str, Any]) -> dict[str, Any]:
    """19 % on 2 x 100.00 consulting, 7 % on 3 x 33.33 books: 288.00 total + tax."""
    r19, r7 = rate(api, 19), rate(api, 7, name="USt ermäßigt")
    return issue(api, customer, [
        {"description": "Beratung", "unit_amount": 10_000, "quantity": 2, "unit": "HUR", "tax_rates": [r19]},
        {"description": "Buch", "unit_amount": 3_333, "quantity": 3, "tax_rates": [r7]},
    ])


def paid(api: Api, invoice: dict[str, Any]) -> dict[str, Any]:
    return api.ok("POST", f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})


def card_paid(api: Api, customer: dict[str, Any], invoice: dict[str, Any]) -> dict[str, Any]:
    pm = api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
                {"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}})
    return api.ok("POST", f"/v1/invoices/{invoice['id']}/pay", {"payment_method": pm["id"]})


def credit(api: Api, invoice: dict[str, Any], **params: Any) -> Any:
    return api.post("/v1/credit_notes", {"invoice": invoice["id"], **params})
