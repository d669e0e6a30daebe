"""The PDF of a finalized invoice is a legal invoice (SPEC §10 "The PDF", § 14 UStG): the seller
and buyer as frozen at finalization, the supply date or period, per line quantity, unit, price,
amount and VAT rate, per rate the net and the tax, the payment terms and the bank account, in
the reader's language."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest

from tests.conftest import Api
from tests.portal.conftest import Hosted

PROFILE = {
    "legal_name": "Acme GmbH",
    "address": {"line1": "Marienplatz 1", "city": "München", "postal_code": "80331", "country": "DE"},
    "vat_id": "DE123456788", "tax_number": "143/123/45678", "registration": "Amtsgericht München HRB 12345",
    "email": "billing@acme.example",
    "bank_account": {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
}
JAN, FEB = 1_767_225_600, 1_769_904_000  # 2026-01-01 and 2026-02-01, unix seconds
GERMAN = {"Accept-Language": "de-DE,de;q=0.9"}
ENGLISH = {"Accept-Language": "en-US"}


def text_of(hosted: Hosted, headers: dict[str, str]) -> str:
    response = hosted.page("/pdf", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.get_data())).pages)
    # Lines wrap where the layout does and labels are set in capitals (pdf.css): compare words, lower-cased.
    return " ".join(text.split()).lower()


def rate(api: Api, percentage: float) -> str:
    return api.ok("POST", "/v1/tax_rates", {"display_name": "USt", "percentage": percentage})["id"]  # type: ignore[no-any-return]


@pytest.fixture()
def buyer(api: Api) -> dict[str, Any]:
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    return api.ok("POST", "/v1/customers", {  # type: ignore[no-any-return]
        "email": "ap@kaeufer.example", "name": "Käufer AG", "preferred_locales": [],
        "address": {"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "tax_ids": [{"type": "eu_vat", "value": "DE136695976"}],
    })


def issue(client: Any, api: Api, buyer: dict[str, Any], **fields: Any) -> Hosted:
    """8 hours at 120.00 and one book at 49.99, at 19 %; due in 14 days."""
    inv = api.ok("POST", "/v1/invoices", {"customer": buyer["id"], "collection_method": "send_invoice",
                                          "days_until_due": 14, "default_tax_rates": [rate(api, 19)], **fields})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Beratung", "unit_amount": 12_000,
                                                        "quantity": 8, "unit": "HUR"})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Fachbuch", "unit_amount": 4_999})
    return Hosted(client, api, api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False}))


SELLER = ["Acme GmbH", "Marienplatz 1", "80331 München", "DE123456788", "143/123/45678",
          "Amtsgericht München HRB 12345"]
BUYER = ["Käufer AG", "Hauptstraße 2", "10115 Berlin", "DE136695976"]
BANK = ["DE89370400440532013000", "COBADEFFXXX"]


def has_bank_account(text: str) -> bool:
    """The seller's IBAN and BIC, however the IBAN is grouped (the transfer box prints it in fours)."""
    joined = "".join(text.split()).lower()
    return all(fact.lower() in joined for fact in BANK)


def test_every_legal_field_is_in_the_english_pdf(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer)
    text = text_of(hosted, ENGLISH)
    for fact in [*SELLER, *BUYER, hosted.invoice["number"], "Invoice number", "VAT ID", "Tax number",
                 "Supply date", "Same as the date of issue", "Payment terms", "Payable by", "Due date",
                 "8 hours €120.00", "1 pcs €49.99", "VAT summary"]:
        assert fact.lower() in text, fact
    assert has_bank_account(text)
    # Per rate its net, rate and tax: 19 % of 960.00 + 49.99 is 182.40 + 9.50.
    assert "19 % €1,009.99 €191.90" in text
    assert "€1,201.89" in text  # the total
    assert "§ 19 ustg" not in text


def test_every_legal_field_is_in_the_german_pdf(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer, service_period={"start": JAN, "end": FEB - 86_400})
    text = text_of(hosted, GERMAN)
    for fact in [*SELLER, *BUYER, f"Rechnung {hosted.invoice['number']}", "Rechnungsnummer", "USt-IdNr.",
                 "Steuernummer", "Leistungszeitraum", "1. Januar 2026 – 31. Januar 2026", "Zahlungsbedingungen",
                 "Zahlbar bis", "8 Std. 120,00 €", "1 Stk. 49,99 €", "Nettobetrag", "USt."]:
        assert fact.lower() in text, fact
    assert has_bank_account(text)
    assert "19 % 1.009,99 € 191,90 €" in text
    assert "leistungsdatum" not in text  # a period, not a day


def test_an_edit_after_finalization_changes_no_pdf(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer)
    before = text_of(hosted, ENGLISH)
    assert "143/123/45678" in before and "de136695976" in before
    api.ok("POST", "/v1/account/business_profile", {
        "legal_name": "Renamed GmbH", "vat_id": "DE136695976", "tax_number": None, "small_business": True,
        "address": {"line1": "Neue Straße 9", "city": "Hamburg", "postal_code": "20095", "country": "DE"},
        "bank_account": {"iban": "GB82WEST12345698765432"}})
    api.ok("POST", f"/v1/customers/{buyer['id']}", {
        "name": "Someone Else", "tax_ids": [],
        "address": {"line1": "Anderswo 3", "city": "Köln", "postal_code": "50667", "country": "DE"}})
    after = text_of(hosted, ENGLISH)
    assert after == before
    for gone in ("Renamed GmbH", "Neue Straße", "GB82WEST", "Someone Else", "Anderswo", "§ 19 UStG"):
        assert gone.lower() not in after


def test_a_small_business_says_why_it_charges_no_vat(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    api.ok("POST", "/v1/account/business_profile", {"small_business": True, "bank_account": None})
    inv = api.ok("POST", "/v1/invoices", {"customer": buyer["id"], "collection_method": "send_invoice",
                                          "days_until_due": 14})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Logo", "unit_amount": 30_000,
                                                        "unit": "DAY", "quantity": 2})
    hosted = Hosted(client, api, api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False}))
    english, german = text_of(hosted, ENGLISH), text_of(hosted, GERMAN)
    assert "small business under § 19 ustg" in english and "2 days" in english
    assert "§ 19 ustg" in german and "kleinunternehmer" in german and "2 tage" in german
    assert "iban" not in english  # no bank account set


def test_an_invoice_issued_without_a_profile_still_renders(hosted: Hosted) -> None:
    text = text_of(hosted, ENGLISH)
    assert f"invoice {hosted.invoice['number']}".lower() in text and "design work" in text
    assert "seller" not in text and "vat summary" not in text
