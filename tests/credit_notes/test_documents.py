"""A credit note's documents (SPEC §11): its PDF, a key-free link like ``invoice_pdf``, with an
invoice's legal content and its invoice's number and date, titled "Credit note" /
"Rechnungskorrektur" (never "Gutschrift"), a Factur-X hybrid with its 381 XML when the profile
is complete; the hosted page lists an invoice's credit notes with their PDFs; the invoice's page
and PDF show the credit it took."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urlsplit

import pypdf
import pytest

from tests.conftest import Api
from tests.documents.test_facturx import assert_pdfa3b, embedded_xml
from tests.einvoicing.rules import Rules, xsd_errors
from tests.portal.conftest import Hosted
from tests.portal.test_legal_pdf import BUYER, ENGLISH, GERMAN, PROFILE, SELLER, issue


@pytest.fixture()
def buyer(api: Api) -> dict[str, Any]:
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    return api.ok("POST", "/v1/customers", {  # type: ignore[no-any-return]
        "email": "ap@kaeufer.example", "name": "Käufer AG", "preferred_locales": [],
        "address": {"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "tax_ids": [{"type": "eu_vat", "value": "DE136695976"}],
    })


def text_of(content: bytes) -> str:
    text = "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def credit_note(hosted: Hosted, **params: Any) -> dict[str, Any]:
    inv = hosted.invoice
    body = params or {"lines": [{"type": "invoice_line_item", "invoice_line_item": inv["lines"]["data"][0]["id"],
                                 "quantity": 2}], "reason": "product_unsatisfactory", "memo": "Zwei Stunden zu viel"}
    return hosted.api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], **body})  # type: ignore[no-any-return]


def download(hosted: Hosted, url: str, headers: dict[str, str] = ENGLISH) -> bytes:
    response = hosted.client.get(urlsplit(url).path, headers=headers)  # no API key: the link is the credential
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.status_code
    assert "credit-note-" in response.headers["Content-Disposition"]
    return response.get_data()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("headers", "words"), [
    (ENGLISH, ["Credit note", "Credit note number", "Corrects invoice", "Product unsatisfactory",
               "2 hours €120.00", "19 % €240.00 €45.60", "Total credited €285.60"]),
    (GERMAN, ["Rechnungskorrektur", "Nummer der Rechnungskorrektur", "Korrigiert die Rechnung",
              "Mangelhafte Leistung", "2 Std. 120,00 €", "19 % 240,00 € 45,60 €", "285,60 €"]),
], ids=["en", "de"])
def test_the_pdf_has_the_legal_content_and_names_its_invoice(client: Any, api: Api, buyer: dict[str, Any],
                                                            rules: Rules, headers: dict[str, str],
                                                            words: list[str]) -> None:
    hosted = issue(client, api, buyer)
    cn = credit_note(hosted)
    content = download(hosted, cn["pdf"], headers)
    text = text_of(content)
    for fact in [*SELLER, *BUYER, cn["number"], hosted.invoice["number"], "Zwei Stunden zu viel", *words]:
        assert fact.lower() in text.lower(), (fact, text)  # labels are set in capitals
    assert "gutschrift" not in text.lower()
    assert re.search(rf"{hosted.invoice['number']} (of|vom) ", text)  # the corrected invoice and its date
    # A Factur-X hybrid, as an invoice's PDF: its XML the credit note's own e-invoice.
    assert_pdfa3b(content)
    xml = embedded_xml(content)
    assert xml == api.get(f"/v1/credit_notes/{cn['id']}/einvoice?format=facturx").get_data()
    assert b"<ram:TypeCode>381</ram:TypeCode>" in xml
    assert rules.errors(xml, xrechnung=False) == [] and xsd_errors(xml) == []


def test_the_pdf_link_is_the_credential(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer)
    other = issue(client, api, buyer)
    cn = credit_note(hosted)
    mine = credit_note(other, amount=100)
    path = urlsplit(cn["pdf"]).path
    assert client.get(path.replace(cn["id"], mine["id"])).status_code == 404  # another invoice's credit note
    assert client.get(path.replace(cn["id"], "cn_unknown")).status_code == 404
    tampered = path.replace(hosted.invoice["hosted_invoice_url"].rsplit("/", 1)[1], "x" * 20)
    assert client.get(tampered).status_code == 404
    # A credit note stays a document of its own when its invoice is voided later.
    api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}/void")
    assert client.get(path).status_code == 200


def test_the_hosted_page_lists_credit_notes_with_their_pdfs(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer)
    assert "Credit notes" not in hosted.page(headers=ENGLISH).get_data(as_text=True)
    first = credit_note(hosted)
    second = credit_note(hosted, amount=1_000)
    api.ok("POST", f"/v1/credit_notes/{second['id']}/void")
    html = hosted.page(headers=ENGLISH).get_data(as_text=True)
    assert "Credit notes" in html
    for cn in (first, second):
        assert f"Credit note {cn['number']} (PDF)" in html
        assert urlsplit(cn["pdf"]).path in html
    german = hosted.page(headers=GERMAN).get_data(as_text=True)
    assert "Rechnungskorrekturen" in german and f"Rechnungskorrektur {first['number']} (PDF)" in german
    assert "Gutschrift" not in german


def test_the_invoice_shows_the_credit_it_took(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    old = issue(client, api, buyer)
    api.ok("POST", f"/v1/invoices/{old.invoice['id']}/pay", {"paid_out_of_band": True})
    api.ok("POST", "/v1/credit_notes", {"invoice": old.invoice["id"], "amount": 5_000, "credit_amount": 5_000})
    hosted = issue(client, api, buyer)
    assert hosted.invoice["starting_balance"] == -5_000
    credit_note(hosted, amount=2_000)
    remaining = hosted.refreshed()["amount_remaining"]
    assert remaining == hosted.invoice["total"] - 7_000
    for text in (hosted.page(headers=ENGLISH).get_data(as_text=True), hosted.pdf_text(headers=ENGLISH)):
        flat = " ".join(text.split())
        assert "Applied balance" in flat and "Credit notes" in flat
        assert "−€50.00" in flat and "−€20.00" in flat
    german = " ".join(hosted.pdf_text(headers=GERMAN).split())
    assert "Angerechnetes Guthaben" in german and "Rechnungskorrekturen" in german


def test_an_invoice_settled_by_credit_says_nothing_is_owed_not_that_a_payment_was_received(
        client: Any, api: Api, buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer)
    credit_note(hosted, amount=hosted.invoice["total"])  # all of it, before any payment
    assert hosted.refreshed()["status"] == "paid" and hosted.refreshed()["amount_paid"] == 0
    english = " ".join(hosted.page(headers=ENGLISH).get_data(as_text=True).split())
    assert "Nothing to pay" in english and "settled with credit" in english
    assert "has received your payment" not in english
    german = " ".join(hosted.page(headers=GERMAN).get_data(as_text=True).split())
    assert "Nichts zu zahlen" in german and "mit einem Guthaben beglichen" in german


def test_a_test_mode_credit_note_says_so_as_a_credit_note(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer)
    note = credit_note(hosted)
    english, german = (text_of(download(hosted, note["pdf"], headers)) for headers in (ENGLISH, GERMAN))
    assert "This credit note was created in test mode" in english and "This invoice was" not in english
    assert "Diese Rechnungskorrektur wurde im Testmodus erstellt" in german
