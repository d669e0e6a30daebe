"""Collection over time as the customer meets it (SPEC §5, §7): a card updated on the
hosted page between dunning tries is the one the next try charges, and an open invoice
past its due date (by the test clock) says "Past due". The merchant has an account of
its own here, so moving its test clock moves no other test's invoices."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from e2e.server import LiveServer
from e2e.support import Api, fill_card, shot, stylesheets_loaded

DAY = 86_400
DECLINED = "4000000000000002"


def test_a_card_updated_on_the_page_between_tries_pays_the_next_try(
        page: Page, merchant_api: Callable[[str, str], Api], live_server: LiveServer) -> None:
    api = merchant_api("Dunning Studio", "DUN")
    customer = api.customer()
    api.save_card(customer["id"], DECLINED)
    draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    api.ok("POST", f"/v1/invoices/{draft['id']}/lines", {"description": "Retainer", "unit_amount": 50000})
    invoice = api.ok("POST", f"/v1/invoices/{draft['id']}/finalize")
    assert invoice["status"] == "open" and invoice["last_payment_error"]["code"] == "card_declined"
    assert invoice["next_payment_attempt"] is not None

    page.goto(invoice["hosted_invoice_url"])
    stylesheets_loaded(page)
    page.get_by_role("link", name="Update payment method").click()
    fill_card(page, "4242424242424242", expiry="11 / 39", cvc="321")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Your payment method was updated.")
    assert api.invoice(invoice["id"])["status"] == "open"  # saving charges nothing: the try does

    api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 3 * DAY + 1})
    live_server.cli("worker", "--burst")
    paid = api.invoice(invoice["id"])
    assert paid["status"] == "paid" and paid["attempt_count"] == 2 and paid["next_payment_attempt"] is None
    assert [p["card"]["last4"] for p in reversed(api.payments(invoice["id"]))] == ["0002", "4242"]
    page.goto(invoice["hosted_invoice_url"])
    expect(page.get_by_text("Paid", exact=True).first).to_be_visible()
    shot(page, "dunning-paid-with-updated-card")


def test_past_due_follows_the_test_clock(page: Page, merchant_api: Callable[[str, str], Api]) -> None:
    api = merchant_api("Overdue Works", "OVD")
    invoice = api.hosted_invoice(api.customer()["id"], days_until_due=2)
    page.goto(invoice["hosted_invoice_url"])
    stylesheets_loaded(page)
    expect(page.get_by_text("Past due")).to_have_count(0)
    api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 2 * DAY + 60})
    page.reload()
    expect(page.get_by_text("Past due").first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Pay"))).to_be_visible()  # still payable
    shot(page, "past-due-by-test-clock")


def test_the_test_cards_list_is_not_covered_by_the_invoice(page: Page, api: Api) -> None:
    """With the header band, the first card is pulled up into the band; the test-mode
    banner between them must stay uncovered, so a merchant can open its list."""
    invoice = api.hosted_invoice(api.customer()["id"])
    page.goto(invoice["hosted_invoice_url"])
    stylesheets_loaded(page)
    page.get_by_text("Test cards", exact=True).click()  # fails when another element takes the click
    expect(page.get_by_text("4242 4242 4242 4242")).to_be_visible()


