""""Billed to" shows the customer's name, email and postal address as copied onto the invoice
at finalization, on the page and in the PDF (SPEC §7)."""

from __future__ import annotations

import io
import re
from typing import Any

import pypdf

from tests.portal.conftest import Hosted, make_hosted

ADDRESS = {"line1": "Hauptstraße 5", "line2": "Hinterhaus, 2. OG", "postal_code": "10115", "city": "Berlin",
           "country": "DE"}


def _visible(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.replace("<wbr>", "")).split())


def _billed_to(html: str) -> str:
    assert "Billed to" in html or "Rechnungsempfänger" in html, html[:1000]
    block = html.split('class="billed-to">', 1)[1].split("</dd>", 1)[0]
    return _visible(block)


def _hosted(api: Any, client: Any, **customer: Any) -> Hosted:
    made = api.ok("POST", "/v1/customers", {"email": "jenny.rosen@example.com", "name": "Jenny Rosen", **customer})
    return Hosted(client, api, make_hosted(api, made["id"]))


def _pdf(hosted: Hosted) -> str:
    response = hosted.page("/pdf")
    assert response.status_code == 200
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.get_data())).pages)


def test_the_page_and_the_pdf_show_the_address_copied_at_finalization(api: Any, client: Any) -> None:
    hosted = _hosted(api, client, address=ADDRESS)
    # A later change of the customer's address does not change an invoice already issued.
    api.ok("POST", f"/v1/customers/{hosted.invoice['customer']}", {"address": {"line1": "Elsewhere 1"}})
    billed = _billed_to(hosted.page().get_data(as_text=True))
    for part in ("Jenny Rosen", "jenny.rosen@example.com", "Hauptstraße 5", "Hinterhaus, 2. OG", "10115 Berlin",
                 "Germany"):
        assert part in billed, (part, billed)
    assert "Elsewhere" not in billed
    pdf = _pdf(hosted)
    for part in ("Hauptstraße 5", "10115 Berlin", "Germany"):
        assert part in pdf, (part, pdf)


def test_an_american_address_reads_the_american_way_and_the_country_in_the_customers_language(
        api: Any, client: Any) -> None:
    hosted = _hosted(api, client, preferred_locales=["de"], address={
        "line1": "510 Townsend St", "city": "San Francisco", "state": "CA", "postal_code": "94103", "country": "US"})
    billed = _billed_to(hosted.page().get_data(as_text=True))
    assert "San Francisco, CA 94103" in billed and "Vereinigte Staaten" in billed


def test_no_address_no_empty_lines(api: Any, client: Any) -> None:
    hosted = _hosted(api, client)
    billed = _billed_to(hosted.page().get_data(as_text=True))
    assert billed == "Jenny Rosen jenny.rosen@example.com"


def test_the_address_is_escaped(api: Any, client: Any) -> None:
    hosted = _hosted(api, client, address={"line1": "<img src=x onerror=alert(1)>", "country": "FR"})
    html = hosted.page().get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
