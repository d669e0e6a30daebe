"""A legal invoice as a business customer meets it in a real browser (SPEC §10): a German
merchant with a complete business profile invoices a French business under reverse charge,
and a German one at 19 % and 7 %. The page prints the seller, the buyer's VAT id, the VAT
summary and the legal note in the reader's language, fits a phone, and its Download PDF is
a Factur-X hybrid carrying the invoice's XML."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pikepdf
from playwright.sync_api import BrowserContext, Page, expect

from e2e.support import ARTIFACTS, Api, pdf_text, shot

PROFILE = {
    "legal_name": "Beispiel GmbH",
    "address": {"line1": "Marienplatz 1", "city": "München", "postal_code": "80331", "country": "DE"},
    "vat_id": "DE123456788", "registration": "Amtsgericht München HRB 12345",
    "email": "billing@beispiel.example", "phone": "+49 89 1234567",
    "bank_account": {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
}
FR_VAT = "FR40303265045"


def reverse_charge_invoice(api: Api, locale: str) -> dict[str, Any]:
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    customer = api.customer(
        name="Acheteur SARL", preferred_locales=[locale], tax_exempt="reverse",
        tax_ids=[{"type": "eu_vat", "value": FR_VAT}],
        address={"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"})
    return api.hosted_invoice(customer["id"], [("Beratung", 12_000, 8)])


def test_a_reverse_charge_invoice_in_german_says_so_and_downloads_as_factur_x(
        page: Page, merchant_api: Callable[[str, str], Api]) -> None:
    api = merchant_api("Umkehr GmbH", "UMK")
    invoice = reverse_charge_invoice(api, "de")
    assert invoice["tax"] == 0 and invoice["tax_amounts"][0]["category"] == "AE"
    page.goto(invoice["hosted_invoice_url"])
    expect(page.get_by_role("heading", name=f"Rechnung {invoice['number']}")).to_be_visible()
    expect(page.get_by_text("Beispiel GmbH").first).to_be_visible()
    expect(page.get_by_text(f"USt-IdNr.: {FR_VAT}")).to_be_visible()
    expect(page.get_by_text("Steuerschuldnerschaft des Leistungsempfängers")).to_be_visible()
    shot(page, "legal-reverse-charge-de-desktop")

    with page.expect_download() as info:
        page.get_by_role("link", name="PDF herunterladen").click()
    download = info.value
    target = ARTIFACTS / f"download-{download.suggested_filename}"
    download.save_as(target)
    content = target.read_bytes()
    assert "Steuerschuldnerschaft des Leistungsempfängers" in pdf_text(content)
    with pikepdf.open(io.BytesIO(content)) as pdf:
        assert list(pdf.attachments) == ["factur-x.xml"]
        xml = pdf.attachments["factur-x.xml"].get_file().read_bytes()
    assert invoice["number"].encode() in xml and FR_VAT.encode() in xml and b"VATEX-EU-AE" in xml


def test_two_rates_on_a_phone_fit_the_screen(new_context: Callable[..., BrowserContext],
                                              merchant_api: Callable[[str, str], Api]) -> None:
    api = merchant_api("Zwei Sätze GmbH", "ZWS")
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    standard = api.ok("POST", "/v1/tax_rates", {"display_name": "USt", "percentage": 19})["id"]
    reduced = api.ok("POST", "/v1/tax_rates", {"display_name": "USt ermäßigt", "percentage": 7})["id"]
    customer = api.customer(name="Käufer AG", preferred_locales=["de"],
                            address={"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115",
                                     "country": "DE"})
    draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                             "days_until_due": 14})
    api.ok("POST", f"/v1/invoices/{draft['id']}/lines",
           {"description": "Beratung", "unit_amount": 12_000, "quantity": 8, "unit": "HUR", "tax_rates": [standard]})
    api.ok("POST", f"/v1/invoices/{draft['id']}/lines",
           {"description": "Fachbuch", "unit_amount": 2_990, "quantity": 2, "tax_rates": [reduced]})
    invoice = api.ok("POST", f"/v1/invoices/{draft['id']}/finalize")
    assert [(t["taxable_amount"], t["amount"]) for t in invoice["tax_amounts"]] == [(96_000, 18_240), (5_980, 419)]

    page = new_context(viewport={"width": 375, "height": 812}).new_page()
    page.goto(invoice["hosted_invoice_url"])
    summary = page.get_by_role("table").filter(has_text="Nettobetrag")
    expect(summary).to_contain_text("182,40")
    expect(summary).to_contain_text("4,19")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the 375px viewport"
    shot(page, "legal-two-rates-de-phone")
