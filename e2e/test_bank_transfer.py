"""Pay by bank transfer as a customer meets it in a real browser (SPEC §12): the hosted page of
an open EUR invoice, partly paid, shows the merchant's account, what remains and the RF
reference, and its GiroCode scans from an ordinary screenshot of the page as a banking app
would scan it (zbar through pyzbar)."""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image
from playwright.sync_api import Page, expect
from pyzbar.pyzbar import decode

from e2e.support import Api, shot

PROFILE = {
    "legal_name": "Überweisung GmbH",
    "address": {"line1": "Marienplatz 1", "city": "München", "postal_code": "80331", "country": "DE"},
    "vat_id": "DE123456788", "email": "billing@ueberweisung.example",
    "bank_account": {"account_holder": "Überweisung GmbH", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
}


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


def test_the_girocode_scans_from_a_screenshot_of_the_page(page: Page,
                                                           merchant_api: Callable[[str, str], Api]) -> None:
    api = merchant_api("Überweisung GmbH", "UEB")
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    customer = api.customer(name="Käufer AG", preferred_locales=["de"],
                            address={"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115",
                                     "country": "DE"})
    invoice = api.hosted_invoice(customer["id"], [("Beratung", 50_000, 1)])
    invoice = api.ok("POST", f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True, "amount": 12_345})
    remaining = invoice["amount_remaining"]
    assert invoice["status"] == "open" and remaining == invoice["amount_due"] - 12_345

    page.goto(invoice["hosted_invoice_url"])
    section = page.get_by_role("region", name="Per Überweisung bezahlen")
    expect(section).to_be_visible()
    expect(section.get_by_text("DE89 3704 0044 0532 0130 00")).to_be_visible()
    expect(section.get_by_role("img", name="GiroCode")).to_be_visible()
    path = shot(page, "bank-transfer-de-desktop")

    found = [as_sent(code.data) for code in decode(Image.open(path)) if code.type == "QRCODE"]
    assert len(found) == 1, found
    lines = found[0].split("\n")
    assert lines[:8] == ["BCD", "002", "1", "SCT", "COBADEFFXXX", "Überweisung GmbH", "DE89370400440532013000",
                         f"EUR{remaining / 100:.2f}"]
    assert lines[9] == invoice["payment_reference"]
