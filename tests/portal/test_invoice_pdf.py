"""The PDF shows the invoice as the page does at the time of the download (SPEC §7 "Download
PDF": the same numbers), and a document already rendered is served as the same bytes."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.documents import service as documents
from app.documents.models import InvoiceDocument
from tests.branding.images import data_uri, draw
from tests.portal.conftest import Hosted, make_hosted


def kept(db_session: Any, invoice_id: str) -> int:
    return int(db_session.scalar(sa.select(sa.func.count()).select_from(InvoiceDocument)
                                 .where(InvoiceDocument.invoice_id == invoice_id)))


def test_the_same_document_is_rendered_once_and_served_as_the_same_bytes(hosted: Hosted, db_session: Any,
                                                                         renders: list[int]) -> None:
    first = hosted.page("/pdf").get_data()
    assert hosted.page("/pdf").get_data() == first
    assert len(renders) == 1 and kept(db_session, hosted.invoice["id"]) == 1


def test_a_new_renderer_renders_anew(hosted: Hosted, renders: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    hosted.page("/pdf")
    monkeypatch.setattr(documents, "renderer_fingerprint", lambda: b"another WeasyPrint, or a changed pdf.css")
    hosted.page("/pdf")
    assert len(renders) == 2


def test_a_footer_changed_after_finalizing_is_in_the_next_download(hosted: Hosted, api: Any) -> None:
    assert "Thank you for your business" not in hosted.pdf_text()
    api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}", {"footer": "Thank you for your business"})
    assert "Thank you for your business" in hosted.pdf_text()


def test_an_invoice_past_its_due_date_says_so_in_the_pdf(hosted: Hosted, api: Any) -> None:
    # The badge is set in capitals (pdf.css), and so is its extracted text.
    assert "OPEN" in hosted.pdf_text() and "PAST DUE" not in hosted.pdf_text()
    api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 15 * 86_400})  # due in 14 days
    assert "PAST DUE" in hosted.pdf_text()


def test_each_reader_gets_the_pdf_in_their_language(client: Any, api: Any) -> None:
    no_preference = api.ok("POST", "/v1/customers", {"email": "team@example.com"})
    hosted = Hosted(client, api, make_hosted(api, no_preference["id"]))
    german = hosted.pdf_text(headers={"Accept-Language": "de-DE,de;q=0.9"})
    english = hosted.pdf_text(headers={"Accept-Language": "en-US"})
    assert f"Rechnung {hosted.invoice['number']}" in german
    assert f"Invoice {hosted.invoice['number']}" in english and "Rechnung" not in english


def test_a_branding_change_is_in_the_next_download(hosted: Hosted, api: Any) -> None:
    assert "Acme Design Studio" not in hosted.pdf_text()
    api.ok("POST", "/v1/account/branding", {"display_name": "Acme Design Studio"})
    assert "Acme Design Studio" in hosted.pdf_text()


def test_the_receipt_replaces_the_open_invoice_once_paid(hosted: Hosted, db_session: Any) -> None:
    assert "Paid" not in hosted.pdf_text()
    hosted.pay()
    assert "Paid" in hosted.pdf_text()
    assert kept(db_session, hosted.invoice["id"]) == 1  # an invoice keeps its newest document only


def test_a_new_logo_is_in_the_next_download(hosted: Hosted, api: Any, renders: list[int]) -> None:
    api.ok("POST", "/v1/account/branding", {"logo": data_uri(draw(size=(64, 32)), "image/png")})
    with_one = hosted.page("/pdf").get_data()
    api.ok("POST", "/v1/account/branding", {"logo": data_uri(draw(size=(96, 32)), "image/png")})
    with_another = hosted.page("/pdf").get_data()  # within the same second as the first logo
    assert len(renders) == 2 and with_another != with_one
    assert hosted.page("/pdf").get_data() == with_another and len(renders) == 2


def test_a_customer_who_now_reads_german_gets_the_german_pdf(hosted: Hosted, api: Any) -> None:
    assert f"Invoice {hosted.invoice['number']}" in hosted.pdf_text()
    api.ok("POST", f"/v1/customers/{hosted.invoice['customer']}", {"preferred_locales": ["de-DE"]})
    assert f"Rechnung {hosted.invoice['number']}" in hosted.pdf_text()

