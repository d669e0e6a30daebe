"""SPEC §7: a test-mode invoice says "Test mode" on the page and in the PDF, and the page
lists the test cards; a live invoice shows neither."""

from __future__ import annotations

from typing import Any

from tests.portal.conftest import Hosted, make_hosted


def test_a_test_mode_invoice_says_so_on_every_page_and_in_the_pdf(hosted: Hosted) -> None:
    page = hosted.page().get_data(as_text=True)
    assert 'class="test-mode"' in page and "Test mode" in page and "no real money moves" in page
    assert "4242 4242 4242 4242" in page and "4000 0000 0000 3220" in page  # the test cards
    assert "Test mode" in hosted.page("/payment-method").get_data(as_text=True)
    assert "Test mode" in hosted.pdf_text()


def test_german_customers_read_testmodus(api: Any, client: Any) -> None:
    cust = api.ok("POST", "/v1/customers", {"email": "k@example.de", "preferred_locales": ["de"]})
    hosted = Hosted(client, api, make_hosted(api, cust["id"]))
    assert "Testmodus" in hosted.page().get_data(as_text=True)
    assert "Testmodus" in hosted.pdf_text()


def test_a_live_invoice_shows_no_test_mode_and_no_test_cards(live_hosted: Hosted) -> None:
    page = live_hosted.page().get_data(as_text=True)
    assert page.count("Pay ") >= 1  # the real page, payable
    assert "Test mode" not in page and "test-mode" not in page and "4242 4242 4242 4242" not in page
    assert "Test mode" not in live_hosted.pdf_text()
