"""Pay by bank transfer on the hosted page and in the PDF (SPEC §12): the account, the amount
remaining, the RF reference, and a GiroCode (EPC069-12) a banking app scans. The code is
decoded here as a banking app reads it: from the page's image, and from the PDF rendered to
pixels by poppler (``pdftoppm``), with zbar (``pyzbar``)."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from tests.conftest import Api
from tests.portal.test_legal_pdf import ENGLISH, GERMAN, PROFILE, issue

IBAN, BIC = "DE89370400440532013000", "COBADEFFXXX"
HOLDER = "Müller & Söhne GmbH"  # not ASCII: the code says UTF-8 (charset line "1")


@pytest.fixture()
def buyer(api: Api) -> dict[str, Any]:
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    api.ok("POST", "/v1/account/business_profile",
           {"bank_account": {"account_holder": HOLDER, "iban": IBAN, "bic": BIC}})
    return api.ok("POST", "/v1/customers", {  # type: ignore[no-any-return]
        "email": "ap@kaeufer.example", "name": "Käufer AG", "preferred_locales": [],
        "address": {"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115", "country": "DE"},
    })


def as_sent(data: bytes) -> str:
    """The text a QR code carries. zbar guesses the charset of a code without an ECI header
    and may read UTF-8 with non-ASCII letters as an East Asian charset, handing back that
    reading in UTF-8; a banking app reads EPC069-12's charset line ("1": UTF-8). Undo zbar's
    guess: the bytes it read are the UTF-8 the code carries."""
    text = data.decode("utf-8")
    if text.isascii():
        return text
    for guessed in ("shift_jis", "gb18030", "big5", "euc_kr", "latin-1"):
        try:
            return text.encode(guessed).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


def girocode_fields(payload: bytes) -> dict[str, str]:
    """An EPC069-12 payload read as a banking app reads it."""
    lines = as_sent(payload).split("\n")
    assert lines[:4] == ["BCD", "002", "1", "SCT"], lines
    lines += [""] * (12 - len(lines))
    return {"bic": lines[4], "name": lines[5], "iban": lines[6], "amount": lines[7], "purpose": lines[8],
            "reference": lines[9], "text": lines[10]}


def qr_codes(image: Image.Image) -> list[bytes]:
    return [found.data for found in decode(image) if found.type == "QRCODE"]


def page_qr(html: str) -> dict[str, str]:
    """The GiroCode as the page shows it: its PNG (one pixel per module) at the image's size on
    the page, scaled up without smoothing (``image-rendering: pixelated``)."""
    match = re.search(r'<img src="data:image/png;base64,([^"]+)"[^>]* width="(\d+)"', html)
    assert match, "no GiroCode image on the page"
    image = Image.open(io.BytesIO(base64.b64decode(match[1])))
    side = int(match[2])
    [payload] = qr_codes(image.resize((side, side), Image.Resampling.NEAREST))
    return girocode_fields(payload)


def pdf_qr(pdf: bytes) -> dict[str, str]:
    """Render the PDF's first page at 150 dpi with poppler and read the code off the pixels."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "invoice.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "150", "-png", str(source), str(Path(tmp) / "page")], check=True,
                       timeout=60)
        payloads = [payload for page in sorted(Path(tmp).glob("page*.png")) for payload in qr_codes(Image.open(page))]
    assert len(payloads) == 1, payloads
    return girocode_fields(payloads[0])


def expected(invoice: dict[str, Any], remaining: int) -> dict[str, str]:
    return {"bic": BIC, "name": HOLDER, "iban": IBAN, "amount": f"EUR{remaining / 100:.2f}", "purpose": "",
            "reference": invoice["payment_reference"], "text": ""}


def test_the_page_shows_the_transfer_details_and_a_girocode_that_scans(client: Any, api: Api,
                                                                        buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer)
    invoice = hosted.invoice
    html = hosted.page(headers=ENGLISH).get_data(as_text=True)
    assert "Pay by bank transfer" in html and "Account holder" in html and "Müller &amp; Söhne GmbH" in html
    assert "Payment reference" in html
    assert "DE89 3704 0044 0532 0130 00" in html and BIC in html
    reference = invoice["payment_reference"]
    assert reference[:4] + " " in html  # in blocks of four
    assert page_qr(html) == expected(invoice, invoice["amount_remaining"])
    german = hosted.page(headers=GERMAN).get_data(as_text=True)
    assert "Per Überweisung bezahlen" in german and "Kontoinhaber" in german and "Zahlungsreferenz" in german


def test_a_part_paid_shows_what_was_paid_and_the_code_asks_for_what_remains(client: Any, api: Api,
                                                                             buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer)
    invoice = api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}/pay", {"paid_out_of_band": True, "amount": 20_000})
    remaining = invoice["amount_remaining"]
    assert invoice["status"] == "open" and remaining == invoice["amount_due"] - 20_000
    html = hosted.page(headers=ENGLISH).get_data(as_text=True)
    assert "Amount paid" in html and "€200.00" in html
    assert page_qr(html) == expected(invoice, remaining)
    pdf = hosted.page("/pdf", headers=ENGLISH)
    assert pdf.status_code == 200
    assert pdf_qr(pdf.get_data()) == expected(invoice, remaining)
    text = hosted.pdf_text(headers=ENGLISH)
    assert "Pay by bank transfer" in text and "Amount paid" in text and "€200.00" in text


def test_no_transfer_details_when_paid_not_in_euros_or_without_a_bank_account(client: Any, api: Api,
                                                                               buyer: dict[str, Any]) -> None:
    paid = issue(client, api, buyer)
    api.ok("POST", f"/v1/invoices/{paid.invoice['id']}/pay", {"paid_out_of_band": True})
    dollars = issue(client, api, buyer, currency="usd")
    api.ok("POST", "/v1/account/business_profile", {"bank_account": None})
    no_bank = issue(client, api, buyer)
    for hosted in (paid, dollars, no_bank):
        html = hosted.page(headers=ENGLISH).get_data(as_text=True)
        assert "Pay by bank transfer" not in html and "data:image/png" not in html
    assert "Pay by bank transfer" not in paid.pdf_text(headers=ENGLISH)


def test_the_account_is_the_one_the_invoice_was_finalized_with(client: Any, api: Api, buyer: dict[str, Any]) -> None:
    hosted = issue(client, api, buyer)
    api.ok("POST", "/v1/account/business_profile", {"bank_account": {"account_holder": "Other", "iban":
                                                                     "GB33BUKB20201555555555"}})
    assert page_qr(hosted.page(headers=ENGLISH).get_data(as_text=True))["iban"] == IBAN
