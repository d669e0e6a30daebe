"""The invoice PDF is a Factur-X / ZUGFeRD EN 16931 hybrid when the profile it was finalized with
is complete (SPEC §10): PDF/A-3b carrying the invoice's CII XML as ``factur-x.xml``, the very
document ``GET /v1/invoices/{id}/einvoice?format=facturx`` answers. Otherwise the plain PDF."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pikepdf
import pypdf
import pytest

from app.documents import service as documents
from tests.conftest import Api
from tests.einvoicing.rules import Rules, xsd_errors
from tests.portal.conftest import Hosted
from tests.portal.test_legal_pdf import BUYER, ENGLISH, GERMAN, PROFILE, SELLER, has_bank_account, issue

FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
PDFAID = "http://www.aiim.org/pdfa/ns/id/"


@pytest.fixture()
def buyer(api: Api) -> dict[str, Any]:
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    return api.ok("POST", "/v1/customers", {  # type: ignore[no-any-return]
        "email": "ap@kaeufer.example", "name": "Käufer AG", "preferred_locales": [],
        "address": {"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "tax_ids": [{"type": "eu_vat", "value": "DE136695976"}],
    })


def download(hosted: Hosted, headers: dict[str, str] = ENGLISH) -> bytes:
    response = hosted.page("/pdf", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response.get_data()  # type: ignore[no-any-return]


def embedded_xml(content: bytes) -> bytes:
    """The one embedded file, which must be factur-x.xml, the catalog's one associated file,
    an Alternative of the pages, as text/xml."""
    with pikepdf.open(io.BytesIO(content)) as pdf:
        assert list(pdf.attachments) == ["factur-x.xml"]
        [spec] = pdf.Root.AF
        assert spec.AFRelationship == pikepdf.Name.Alternative
        assert spec.UF == "factur-x.xml"
        stream = spec.EF.F
        assert stream.Subtype == pikepdf.Name("/text/xml")
        assert "/ModDate" in stream.Params  # PDF/A-3 asks an embedded file's modification date
        return bytes(stream.read_bytes())


def assert_pdfa3b(content: bytes) -> None:
    """PDF/A-3b as Factur-X asks: the identification and the Factur-X properties in the XMP,
    one output intent, every font embedded."""
    with pikepdf.open(io.BytesIO(content)) as pdf:
        meta = pdf.open_metadata()
        assert meta[f"{{{PDFAID}}}part"] == "3" and meta[f"{{{PDFAID}}}conformance"] == "B"
        assert meta[f"{{{FX}}}ConformanceLevel"] == "EN 16931"
        assert meta[f"{{{FX}}}DocumentFileName"] == "factur-x.xml"
        assert meta[f"{{{FX}}}DocumentType"] == "INVOICE" and meta[f"{{{FX}}}Version"] == "1.0"
        # The information dictionary and the XMP agree (PDF/A): the producer and the title.
        assert meta["pdf:Producer"] == str(pdf.docinfo.Producer)
        assert meta["dc:title"] == str(pdf.docinfo.Title)
        [intent] = pdf.Root.OutputIntents
        assert intent.S == pikepdf.Name.GTS_PDFA1 and "/DestOutputProfile" in intent
        fonts = [font for page in pdf.pages for font in page.Resources.Font.values()]
        assert fonts
        for font in fonts:
            descriptor = (font.DescendantFonts[0] if font.Subtype == pikepdf.Name.Type0 else font).FontDescriptor
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys()), font.BaseFont


def text_of(content: bytes) -> str:
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split()).lower()


@pytest.mark.parametrize(("headers", "words"), [
    (ENGLISH, ["Invoice number", "VAT ID", "Supply date", "8 hours €120.00", "19 % €1,009.99 €191.90"]),
    (GERMAN, ["Rechnungsnummer", "USt-IdNr.", "Leistungsdatum", "8 Std. 120,00 €", "19 % 1.009,99 € 191,90 €"]),
], ids=["en", "de"])
def test_a_complete_profile_makes_the_pdf_a_factur_x_hybrid(client: Any, api: Api, buyer: dict[str, Any],
                                                           rules: Rules, headers: dict[str, str],
                                                           words: list[str]) -> None:
    hosted = issue(client, api, buyer)
    content = download(hosted, headers)
    assert_pdfa3b(content)
    xml = embedded_xml(content)
    assert xml == api.get(f"/v1/invoices/{hosted.invoice['id']}/einvoice?format=facturx").get_data()
    assert rules.errors(xml, xrechnung=False) == [] and xsd_errors(xml) == []
    text = text_of(content)
    for fact in [*SELLER, *BUYER, hosted.invoice["number"], *words]:
        assert fact.lower() in text, fact
    assert has_bank_account(text)


def test_an_incomplete_profile_gives_the_plain_pdf(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    api.ok("POST", "/v1/account/business_profile", {"email": None})  # a complete profile needs an email
    hosted = issue(client, api, buyer)
    content = download(hosted)
    with pikepdf.open(io.BytesIO(content)) as pdf:
        assert not pdf.attachments and "/AF" not in pdf.Root and "/OutputIntents" not in pdf.Root
        assert pdf.open_metadata().get(f"{{{PDFAID}}}part") is None
    assert "acme gmbh" in text_of(content)  # still the legal PDF, seller and all


def test_a_stored_hybrid_is_served_without_rendering_and_a_new_xml_writer_renders_anew(
        client: Any, api: Api, buyer: dict[str, Any], renders: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    hosted = issue(client, api, buyer)
    first = download(hosted)
    assert download(hosted) == first and len(renders) == 1
    # A deploy whose XML writer differs where the pages do not (a note only the XML carries):
    # the stored hybrid is not this one.
    write = documents.write_xml
    monkeypatch.setattr(documents, "write_xml", lambda model, fmt: write(
        dataclasses.replace(model, notes=(*model.notes, "Only in the XML")), fmt))
    monkeypatch.setattr(documents, "writer_fingerprint", lambda: b"a new XML writer")
    documents.renderer_fingerprint.cache_clear()
    try:
        second = download(hosted)
    finally:
        monkeypatch.undo()
        documents.renderer_fingerprint.cache_clear()
    assert len(renders) == 2 and b"Only in the XML" in embedded_xml(second)
    assert b"Only in the XML" not in embedded_xml(first) and text_of(second) == text_of(first)


def test_paying_changes_the_embedded_xml_with_the_pages(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer)
    assert b"<ram:TotalPrepaidAmount>0.00</ram:TotalPrepaidAmount>" in embedded_xml(download(hosted))
    api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}/pay", {"paid_out_of_band": True})
    paid = download(hosted)
    assert b"<ram:DuePayableAmount>0.00</ram:DuePayableAmount>" in embedded_xml(paid)
    assert "paid" in text_of(paid)
