from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pypdf
import pytest
from flask import Flask

from app.accounts.service import create_merchant
from tests.conftest import Api

FUTURE = {"exp_month": 12, "exp_year": 2040}


@dataclass
class Hosted:
    """A finalized invoice and its hosted link, seen as the customer sees it."""

    client: Any
    api: Any
    invoice: dict[str, Any]

    @property
    def path(self) -> str:
        return urlsplit(self.invoice["hosted_invoice_url"]).path

    def page(self, suffix: str = "", **kw: Any) -> Any:
        return self.client.get(self.path + suffix, **kw)

    def pdf_text(self, **kw: Any) -> str:
        """The text of the link's PDF, as a reader's software extracts it."""
        response = self.page("/pdf", **kw)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(response.get_data())).pages)

    def csrf(self, suffix: str = "") -> str:
        html = self.page(suffix).get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        assert match, html[:500]
        return match[1]

    def pay(self, number: str = "4242424242424242", *, expiry: str = "12 / 40", cvc: str = "123",
            name: str = "Jenny Rosen", save: bool = False, method: str = "new", **kw: Any) -> Any:
        data = {"csrf_token": self.csrf(), "method": method, "card_number": number, "expiry": expiry, "cvc": cvc,
                "name": name}
        if save:
            data["save_default"] = "y"
        return self.client.post(self.path + "/pay", data=data, **kw)

    def landed(self, posted: Any) -> Any:
        """The GET page a POST of the page redirected to (Post/Redirect/Get, SPEC §7)."""
        assert posted.status_code == 303, posted.status_code
        return self.client.get(posted.headers["Location"])

    def refreshed(self) -> dict[str, Any]:
        return self.api.ok("GET", f"/v1/invoices/{self.invoice['id']}")  # type: ignore[no-any-return]


def make_hosted(api: Any, customer_id: str, *, lines: list[tuple[str, int, int]] | None = None,
                **invoice_fields: Any) -> dict[str, Any]:
    fields = {"customer": customer_id, "collection_method": "send_invoice", "days_until_due": 14, **invoice_fields}
    inv = api.ok("POST", "/v1/invoices", fields)
    for description, unit_amount, quantity in lines or [("Design work", 120000, 1), ("Hosting", 9500, 8)]:
        api.ok("POST", f"/v1/invoices/{inv['id']}/lines",
               {"description": description, "unit_amount": unit_amount, "quantity": quantity})
    return api.ok("POST", f"/v1/invoices/{inv['id']}/finalize")  # type: ignore[no-any-return]


@pytest.fixture()
def hosted(client: Any, api: Any, customer: dict[str, Any]) -> Hosted:
    return Hosted(client, api, make_hosted(api, customer["id"]))


@pytest.fixture()
def live_hosted(live_app: Flask, live_db: Any, live_sleeps: list[float]) -> Hosted:
    """A live-mode invoice's hosted link (the live processor mocked with ``responses``)."""
    new = create_merchant(live_db, "Live Shop", "LS")
    live_db.flush()
    client = live_app.test_client()
    api = Api(client, new.live_secret_key, new.account.id)
    cust = api.ok("POST", "/v1/customers", {"email": "buyer@example.com"})
    return Hosted(client, api, make_hosted(api, cust["id"]))
