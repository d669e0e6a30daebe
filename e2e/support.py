"""Shared helpers of the end-to-end suite: test data, the merchant API client, screenshots."""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from playwright.sync_api import Locator, Page

E2E = Path(__file__).resolve().parent
ROOT = E2E.parent
ARTIFACTS = E2E / "artifacts"

MERCHANT_NAME = "Acme GmbH"
MERCHANT_PREFIX = "ACME"

# SPEC §6 test cards, typed the way people type them.
CARD_OK = "4242 4242 4242 4242"
CARD_DECLINED = "4000 0000 0000 0002"
CARD_3DS = "4000 0000 0000 3220"
CARD_MASTERCARD = "5555 5555 5555 4444"
EXPIRY = "12 / 40"
CVC = "123"
CARDHOLDER = "Jenny Rosen"

# The default invoice: €1,200 + 8 × €95.
DEFAULT_LINES = [("Design work", 120000, 1), ("Hosting", 9500, 8)]
DEFAULT_TOTAL = "€1,960.00"

PAY_BUTTON = re.compile(r"^Pay\b")


class ApiError(AssertionError):
    pass


@dataclass
class Api:
    """The merchant API over real HTTP, with one merchant's test key."""

    base: str
    key: str
    http: requests.Session = field(default_factory=requests.Session)

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        return self.http.request(method, self.base + path, json=body, params=params or None,
                                 headers={"X-Api-Key": self.key}, timeout=30)

    def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self.request(method, path, body, **params)
        if not response.ok:
            raise ApiError(f"{method} {path} -> {response.status_code}: {response.text[:1000]}")
        return response.json()

    # The calls the tests need, named the way a merchant thinks of them.
    def customer(self, **fields: Any) -> dict[str, Any]:
        fields.setdefault("email", f"jenny.{secrets.token_hex(4)}@example.com")
        fields.setdefault("name", "Jenny Rosen")
        return self.ok("POST", "/v1/customers", fields)  # type: ignore[no-any-return]

    def hosted_invoice(self, customer_id: str, lines: list[tuple[str, int, int]] | None = None,
                       **fields: Any) -> dict[str, Any]:
        """A finalized invoice with its hosted link (tests/portal/conftest.py make_hosted, over HTTP)."""
        body = {"customer": customer_id, "collection_method": "send_invoice", "days_until_due": 14, **fields}
        if body["collection_method"] == "charge_automatically":
            body.pop("days_until_due")
        inv = self.ok("POST", "/v1/invoices", body)
        for description, unit_amount, quantity in lines or DEFAULT_LINES:
            self.ok("POST", f"/v1/invoices/{inv['id']}/lines",
                    {"description": description, "unit_amount": unit_amount, "quantity": quantity})
        return self.ok("POST", f"/v1/invoices/{inv['id']}/finalize")  # type: ignore[no-any-return]

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        return self.ok("GET", f"/v1/invoices/{invoice_id}")  # type: ignore[no-any-return]

    def payments(self, invoice_id: str) -> list[dict[str, Any]]:
        return self.ok("GET", "/v1/payments", invoice=invoice_id, limit=100)["data"]  # type: ignore[no-any-return]

    def save_card(self, customer_id: str, number: str = "4242424242424242") -> dict[str, Any]:
        return self.ok("POST", f"/v1/customers/{customer_id}/payment_methods",  # type: ignore[no-any-return]
                       {"card": {"number": number, "cvc": "123", "exp_month": 12, "exp_year": 2040},
                        "set_default": True})

    def default_card(self, customer_id: str) -> dict[str, Any] | None:
        cust = self.ok("GET", f"/v1/customers/{customer_id}")
        default = cust["invoice_settings"]["default_payment_method"]
        if default is None:
            return None
        methods = self.ok("GET", f"/v1/customers/{customer_id}/payment_methods", limit=100)["data"]
        return next(m for m in methods if m["id"] == default)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- the page, as a person uses it

def hosted_path(invoice: dict[str, Any]) -> str:
    return urlsplit(invoice["hosted_invoice_url"]).path


def pay_button(page: Page) -> Locator:
    return page.get_by_role("button", name=PAY_BUTTON)


def fill_card(page: Page, number: str, *, expiry: str = EXPIRY, cvc: str = CVC, name: str = CARDHOLDER) -> None:
    page.get_by_label("Card number", exact=True).fill(number)
    page.get_by_label("Expiry date", exact=True).fill(expiry)
    page.get_by_label("CVC", exact=True).fill(cvc)
    page.get_by_label("Name on card", exact=True).fill(name)


def stylesheets_loaded(page: Page) -> None:
    """Both the base and the theme stylesheet arrived and parsed (a page without its theme is broken)."""
    sheets = page.evaluate("""() => [...document.styleSheets].filter(s => s.href).map(s => {
        try { return [s.href, s.cssRules.length]; } catch (e) { return [s.href, -1]; } })""")
    hrefs = [href for href, _ in sheets]
    assert any("/static/portal.css" in h for h in hrefs) and any("/theme.css" in h for h in hrefs), sheets
    assert all(rules > 0 for _, rules in sheets), f"a stylesheet is empty or failed to load: {sheets}"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot of the current state: e2e/artifacts/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{_UNSAFE.sub('-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pdf_text(content: bytes) -> str:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() or "" for page in reader.pages)
