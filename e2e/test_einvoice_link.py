"""The hosted page's ``Download e-invoice (XML)`` link (SPEC §10), clicked in a real browser:
the customer gets the XML of their format, named after the invoice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree
from playwright.sync_api import Page, expect

from e2e.support import ARTIFACTS, Api

PROFILE = {
    "legal_name": "Beispiel GmbH",
    "address": {"line1": "Marienplatz 1", "city": "München", "postal_code": "80331", "country": "DE"},
    "vat_id": "DE123456788", "email": "billing@beispiel.example", "phone": "+49 89 1234567",
}
CII_ROOT = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice"


def test_download_the_einvoice(page: Page, merchant_api: Callable[[str, str], Api]) -> None:
    # A merchant of its own: a business profile changes every document of its account.
    api = merchant_api("Beispiel GmbH", "BSP")
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    customer = api.customer(name="Käufer AG", einvoice={"format": "facturx"},
                            address={"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115",
                                     "country": "DE"})
    invoice: dict[str, Any] = api.hosted_invoice(customer["id"])
    page.goto(invoice["hosted_invoice_url"])
    with page.expect_download() as info:
        page.get_by_role("link", name="Download e-invoice (XML)").click()
    download = info.value
    assert download.failure() is None
    assert invoice["number"] in download.suggested_filename and download.suggested_filename.endswith(".xml")
    target = ARTIFACTS / f"download-{download.suggested_filename}"
    download.save_as(target)
    root = etree.fromstring(target.read_bytes())
    assert root.tag == CII_ROOT
    assert invoice["number"] in target.read_text()


def test_no_link_without_an_einvoice_format(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    page.goto(invoice["hosted_invoice_url"])
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    expect(page.get_by_role("link", name="Download e-invoice (XML)")).to_have_count(0)
