"""The hosted page lists the invoice's credit notes (SPEC §11), and each one's PDF link works,
clicked in a real browser."""

from __future__ import annotations

from typing import Any

import pypdf
from playwright.sync_api import Page, expect

from e2e.support import ARTIFACTS, Api


def test_the_page_lists_a_credit_note_and_its_pdf_downloads(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    page.goto(invoice["hosted_invoice_url"])
    expect(page.get_by_role("heading", name="Credit notes")).to_have_count(0)
    note = api.ok("POST", "/v1/credit_notes", {"invoice": invoice["id"], "amount": 1_000, "reason": "order_change"})
    page.reload()
    expect(page.get_by_role("heading", name="Credit notes")).to_be_visible()
    link = page.get_by_role("link", name=f"Credit note {note['number']} (PDF)")
    expect(link).to_be_visible()
    # The amount due on the page is what the credit note left.
    after = api.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert after["amount_remaining"] == invoice["amount_remaining"] - 1_000
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == f"credit-note-{note['number']}.pdf"
    target = ARTIFACTS / f"download-{download.suggested_filename}"
    download.save_as(target)
    text = " ".join(" ".join(p.extract_text() or "" for p in pypdf.PdfReader(str(target)).pages).split())
    assert note["number"] in text and invoice["number"] in text
    assert "Credit note" in text or "CREDIT NOTE" in text
