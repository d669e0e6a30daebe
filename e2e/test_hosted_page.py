"""The hosted invoice page (SPEC §7) in a real browser against a real server.

Every test makes its own customer and invoice through the merchant API and then
finds things on the page the way a person does: by role and by label.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.support import (
    ARTIFACTS,
    CARD_3DS,
    CARD_DECLINED,
    CARD_MASTERCARD,
    CARD_OK,
    CARDHOLDER,
    CVC,
    DEFAULT_TOTAL,
    EXPIRY,
    MERCHANT_NAME,
    Api,
    fill_card,
    hosted_path,
    pay_button,
    pdf_text,
    shot,
    stylesheets_loaded,
)


def open_invoice(page: Page, invoice: dict[str, Any]) -> None:
    response = page.goto(invoice["hosted_invoice_url"])
    assert response is not None and response.status == 200, response and response.status
    expect(page.get_by_role("heading", level=1, name=f"Invoice {invoice['number']}")).to_be_visible()
    stylesheets_loaded(page)


def expect_paid(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    """The receipt, as the customer sees it, and the invoice as the merchant sees it."""
    expect(page.get_by_role("heading", name="Paid", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Payment received")
    expect(pay_button(page)).to_have_count(0)
    expect(page.get_by_label("Card number", exact=True)).to_have_count(0)
    refreshed = api.invoice(invoice["id"])
    assert refreshed["status"] == "paid", refreshed["status"]
    assert refreshed["amount_paid"] == invoice["amount_due"]


def expect_still_payable(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    expect(pay_button(page)).to_be_visible()
    assert api.invoice(invoice["id"])["status"] == "open"


# --------------------------------------------------------------------------- paying

def test_pay_with_a_test_card(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    open_invoice(page, invoice)
    expect(page.get_by_text(DEFAULT_TOTAL).first).to_be_visible()
    expect(page.get_by_role("cell", name="Design work")).to_be_visible()
    expect(pay_button(page)).to_have_accessible_name(f"Pay {DEFAULT_TOTAL}")
    shot(page, "pay-4242-1-invoice")

    fill_card(page, CARD_OK)
    shot(page, "pay-4242-2-filled")
    pay_button(page).click()

    expect_paid(page, api, invoice)
    shot(page, "pay-4242-3-receipt")
    payments = api.payments(invoice["id"])
    assert [p["status"] for p in payments] == ["completed"]


def test_a_decline_then_a_success_on_the_same_invoice(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    open_invoice(page, invoice)
    fill_card(page, CARD_DECLINED)
    pay_button(page).click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("declined")
    expect_still_payable(page, api, invoice)
    # The card number and CVC are never sent back to the browser.
    expect(page.get_by_label("Card number", exact=True)).to_have_value("")
    expect(page.get_by_label("CVC", exact=True)).to_have_value("")
    shot(page, "decline-1-alert")

    fill_card(page, CARD_OK)
    pay_button(page).click()
    expect_paid(page, api, invoice)
    shot(page, "decline-2-then-paid")
    assert [p["status"] for p in api.payments(invoice["id"])].count("completed") == 1


def test_3ds_challenge_completed_pays(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    open_invoice(page, invoice)
    fill_card(page, CARD_3DS)
    pay_button(page).click()

    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_text(f"Payment of {DEFAULT_TOTAL} to {MERCHANT_NAME}")).to_be_visible()
    assert api.invoice(invoice["id"])["status"] == "open"  # nothing paid before the challenge is answered
    shot(page, "3ds-pay-1-challenge")
    page.get_by_role("button", name="Complete authentication").click()

    expect_paid(page, api, invoice)
    shot(page, "3ds-pay-2-completed-paid")


def test_3ds_challenge_failed_declines_and_stays_payable(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    open_invoice(page, invoice)
    fill_card(page, CARD_3DS)
    pay_button(page).click()
    page.get_by_role("button", name="Fail authentication").click()

    expect(page.get_by_role("alert")).to_contain_text("declined")
    expect_still_payable(page, api, invoice)
    shot(page, "3ds-pay-3-failed-declined")


def _reload_sends_nothing(page: Page) -> None:
    """Reload the page the browser landed on: a GET, never the card form again (Post/Redirect/Get)."""
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.reload()
    expect(pay_button(page)).to_be_visible()
    assert posts == [], posts


def test_reloading_after_a_decline_sends_nothing(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    open_invoice(page, invoice)
    fill_card(page, CARD_DECLINED)
    pay_button(page).click()

    expect(page.get_by_role("alert")).to_contain_text("declined")
    assert urlsplit(page.url).path == hosted_path(invoice), page.url  # the invoice's own address
    _reload_sends_nothing(page)
    assert len(api.payments(invoice["id"])) == 1


def test_reloading_after_a_failed_3ds_sends_nothing(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    open_invoice(page, invoice)
    fill_card(page, CARD_3DS)
    pay_button(page).click()
    page.get_by_role("button", name="Fail authentication").click()

    expect(page.get_by_role("alert")).to_contain_text("declined")
    assert urlsplit(page.url).path == hosted_path(invoice), page.url
    _reload_sends_nothing(page)
    assert [p["status"] for p in api.payments(invoice["id"])] == ["failed"]


def test_pay_with_the_saved_card(page: Page, api: Api, customer: dict[str, Any]) -> None:
    api.save_card(customer["id"])
    invoice = api.hosted_invoice(customer["id"])
    open_invoice(page, invoice)

    saved = page.get_by_role("radio", name="Visa ending in 4242")
    expect(saved).to_be_checked()  # the default method is preselected
    expect(page.get_by_role("radio", name="Pay with a new card")).not_to_be_checked()
    shot(page, "saved-card-1-offered")
    pay_button(page).click()

    expect_paid(page, api, invoice)
    shot(page, "saved-card-2-paid")
    payments = api.payments(invoice["id"])
    assert [p["status"] for p in payments] == ["completed"]


# --------------------------------------------------------------------------- updating the card

def test_update_payment_method(page: Page, api: Api, customer: dict[str, Any]) -> None:
    api.save_card(customer["id"])  # "Update payment method" is offered where a card is kept
    invoice = api.hosted_invoice(customer["id"])
    open_invoice(page, invoice)
    page.get_by_role("link", name="Update payment method").click()

    expect(page.get_by_role("heading", level=1, name="Update payment method")).to_be_visible()
    shot(page, "update-card-1-form")
    fill_card(page, CARD_MASTERCARD, expiry="11 / 39", cvc="321")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("heading", level=1, name=f"Invoice {invoice['number']}")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your payment method was updated.")
    expect(page.get_by_role("radio", name=re.compile(r"ending in 4444$"))).to_be_checked()
    shot(page, "update-card-2-saved")
    default = api.default_card(customer["id"])
    assert default is not None and default["card"]["last4"] == "4444", default
    assert api.invoice(invoice["id"])["status"] == "open"  # saving a card charges nothing


def test_update_payment_method_with_3ds(page: Page, api: Api, customer: dict[str, Any]) -> None:
    api.save_card(customer["id"])
    invoice = api.hosted_invoice(customer["id"])
    open_invoice(page, invoice)
    page.get_by_role("link", name="Update payment method").click()
    fill_card(page, CARD_3DS, expiry="11 / 39", cvc="321")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_text(f"Saving your card for {MERCHANT_NAME}")).to_be_visible()
    before = api.default_card(customer["id"])  # not changed before the challenge is answered
    assert before is not None and before["card"]["last4"] == "4242", before
    shot(page, "3ds-update-card-1-challenge")
    page.get_by_role("button", name="Complete authentication").click()

    expect(page.get_by_role("status")).to_contain_text("Your payment method was updated.")
    shot(page, "3ds-update-card-2-saved")
    default = api.default_card(customer["id"])
    assert default is not None and default["card"]["last4"] == "3220", default
    assert api.invoice(invoice["id"])["status"] == "open"


# --------------------------------------------------------------------------- after paying, voided

def test_paid_receipt_and_a_second_payment_is_refused(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    open_invoice(page, invoice)
    # What a replayed form would send: the page's own CSRF token and a good card.
    csrf_token = page.locator("form input[name=csrf_token]").first.input_value()
    fill_card(page, CARD_OK)
    pay_button(page).click()
    expect_paid(page, api, invoice)

    # The link still opens: now a receipt with the PDF and no form.
    page.goto(invoice["hosted_invoice_url"])
    expect(page.get_by_role("heading", name="Paid", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    expect(pay_button(page)).to_have_count(0)
    expect(page.get_by_role("link", name="Update payment method")).to_have_count(0)
    shot(page, "paid-1-receipt")

    # Going back to the pay form: the page is not cached (no-store), so the form is gone;
    # if a browser did show the old form, submitting it again must be refused.
    # (Loading the same URL again replaces the history entry, so one step back
    # is the page the customer paid from.)
    page.go_back()
    if pay_button(page).count():
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            fill_card(page, CARD_OK)
            pay_button(page).click()
        assert posted.value.status == 409
    else:
        expect(page.get_by_role("heading", name="Paid", exact=True)).to_be_visible()
    shot(page, "paid-2-after-going-back")

    # A direct replay of the pay POST, with the browser's cookies and the page's CSRF token.
    pay_url = invoice["hosted_invoice_url"] + "/pay"
    replay = {"csrf_token": csrf_token, "method": "new", "card_number": CARD_OK, "expiry": EXPIRY, "cvc": CVC,
              "name": CARDHOLDER}
    response = page.request.post(pay_url, form=replay)
    assert response.status == 409, (response.status, response.text()[:500])
    # The same replay as a top-level navigation, to see the page a customer would get.
    page.route(pay_url, lambda route: route.continue_(method="POST", post_data=urlencode(replay), headers={
        **route.request.headers, "content-type": "application/x-www-form-urlencoded"}))
    navigation = page.goto(pay_url)
    assert navigation is not None and navigation.status == 409
    expect(page.get_by_role("status")).to_have_text("This invoice is already paid. Nothing more was charged.")
    expect(page.get_by_role("heading", name="Paid", exact=True)).to_be_visible()
    expect(pay_button(page)).to_have_count(0)
    shot(page, "paid-3-replayed-post-409")

    payments = api.payments(invoice["id"])
    assert [p["status"] for p in payments] == ["completed"], payments
    assert api.invoice(invoice["id"])["amount_paid"] == invoice["amount_due"]


def test_a_double_click_on_pay_charges_once(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    open_invoice(page, invoice)
    fill_card(page, CARD_OK)
    pay_button(page).dblclick()

    # The browser shows the answer to the last click. Depending on how far the first got,
    # that is the receipt (one submission, or the first had finished: "already paid") or,
    # while the first is still with the processor, the invoice with a notice to reload it;
    # never a second charge.
    receipt = page.get_by_role("heading", name="Paid", exact=True)
    under_way = page.get_by_role("status").filter(has_text="already under way")
    expect(receipt.or_(under_way)).to_be_visible()
    shot(page, "double-click-answer")
    if under_way.count():
        expect(under_way).to_contain_text("Nothing more was charged")
        page.reload()
    expect(receipt).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(re.compile("Payment received|already paid"))
    expect(pay_button(page)).to_have_count(0)
    assert api.invoice(invoice["id"])["status"] == "paid"
    assert [p["status"] for p in api.payments(invoice["id"])] == ["completed"]


def test_void_invoice_is_no_longer_payable(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    api.ok("POST", f"/v1/invoices/{invoice['id']}/void")
    response = page.goto(invoice["hosted_invoice_url"])

    assert response is not None and response.status == 410
    expect(page.get_by_role("heading", level=1)).to_contain_text("no longer payable")
    expect(pay_button(page)).to_have_count(0)
    expect(page.get_by_label("Card number", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Update payment method")).to_have_count(0)
    shot(page, "void-410")
    assert api.payments(invoice["id"]) == []


# --------------------------------------------------------------------------- PDF

def test_download_pdf(page: Page, invoice: dict[str, Any]) -> None:
    open_invoice(page, invoice)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value

    assert download.failure() is None
    assert invoice["number"] in download.suggested_filename, download.suggested_filename
    assert download.suggested_filename.endswith(".pdf")
    target = ARTIFACTS / f"download-{download.suggested_filename}"
    download.save_as(target)
    content = target.read_bytes()
    assert content.startswith(b"%PDF-")
    text = pdf_text(content)
    for expected in (invoice["number"], MERCHANT_NAME, "1,960.00", "Design work", "Hosting"):
        assert expected in text, f"{expected!r} not in the PDF text:\n{text}"


# --------------------------------------------------------------------------- branding, language

def test_branding_is_visible(page: Page, merchant_api: Callable[[str, str], Api]) -> None:
    # A merchant of its own: branding is per account, and the other tests expect Acme's defaults.
    nordlicht = merchant_api("Nordlicht Design AB", "NORD")
    branding = nordlicht.ok("POST", "/v1/account/branding", {
        "theme": "midnight", "display_name": "Nordlicht Studio", "primary_color": "#0b7285",
        "support_email": "help@nordlicht.example", "support_phone": "+46 8 123 456"})
    assert branding["theme"] == "midnight"
    invoice = nordlicht.hosted_invoice(nordlicht.customer()["id"])

    open_invoice(page, invoice)
    expect(page.locator("body")).to_have_class(re.compile(r"\btheme-midnight\b"))
    expect(page.get_by_text("from Nordlicht Studio")).to_be_visible()
    expect(page.get_by_text("Nordlicht Studio", exact=True).first).to_be_visible()
    expect(page.get_by_role("link", name="help@nordlicht.example")).to_have_attribute(
        "href", "mailto:help@nordlicht.example")
    expect(page.get_by_role("link", name="+46 8 123 456")).to_be_visible()
    assert "Nordlicht Studio" in page.title()
    shot(page, "branding-midnight")


def test_german_customer_sees_a_german_page(page: Page, api: Api) -> None:
    customer = api.customer(email="kunde@example.de", name="Karl Kunde", preferred_locales=["de"])
    invoice = api.hosted_invoice(customer["id"])
    page.goto(invoice["hosted_invoice_url"])

    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^de\b"))
    expect(page.get_by_role("heading", level=1, name=f"Rechnung {invoice['number']}")).to_be_visible()
    expect(page.get_by_label("Kartennummer")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"1\.960,00\s€"))).to_be_visible()
    shot(page, "german-invoice")


def _german_invoice(api: Api) -> dict[str, Any]:
    customer = api.customer(email=f"kunde.{secrets.token_hex(4)}@example.de", name="Karl Kunde",
                            preferred_locales=["de"])
    return api.hosted_invoice(customer["id"])


def _fill_german_card(page: Page, number: str) -> None:
    page.get_by_label("Kartennummer").fill(number)
    page.get_by_label("Ablaufdatum").fill(EXPIRY)
    page.get_by_label("CVC").fill(CVC)
    page.get_by_label("Name auf der Karte").fill("Karl Kunde")


def test_german_decline_message_is_all_german(page: Page, api: Api) -> None:
    invoice = _german_invoice(api)
    page.goto(invoice["hosted_invoice_url"])
    _fill_german_card(page, CARD_DECLINED)
    page.get_by_role("button", name=re.compile("bezahlen")).click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("abgelehnt")
    shot(page, "german-decline")
    text = alert.inner_text()  # final once "abgelehnt" is there; no need to wait for it to change
    assert not re.search(r"\b(Your|card|declined)\b", text), f"English in the German alert: {text!r}"


def test_german_refusal_page_declares_its_language(page: Page, api: Api) -> None:
    """The 409 page after paying is in German, so it must say lang="de" (screen readers pick the voice by it)."""
    invoice = _german_invoice(api)
    page.goto(invoice["hosted_invoice_url"])
    csrf_token = page.locator("form input[name=csrf_token]").first.input_value()
    _fill_german_card(page, CARD_OK)
    page.get_by_role("button", name=re.compile("bezahlen")).click()
    expect(page.get_by_role("heading", name="Bezahlt", exact=True)).to_be_visible()

    pay_url = invoice["hosted_invoice_url"] + "/pay"
    replay = {"csrf_token": csrf_token, "method": "new", "card_number": CARD_OK, "expiry": EXPIRY, "cvc": CVC,
              "name": "Karl Kunde"}
    page.route(pay_url, lambda route: route.continue_(method="POST", post_data=urlencode(replay), headers={
        **route.request.headers, "content-type": "application/x-www-form-urlencoded"}))
    response = page.goto(pay_url)
    assert response is not None and response.status == 409
    expect(page.get_by_role("status")).to_contain_text("bereits bezahlt")
    expect(page.get_by_role("heading", name="Bezahlt", exact=True)).to_be_visible()
    shot(page, "german-409")
    lang = page.locator("html").get_attribute("lang")
    assert lang is not None and re.match(r"^de\b", lang), f'German page declares lang="{lang}"'


# --------------------------------------------------------------------------- without JavaScript, keyboard only

def test_pay_without_javascript(new_context: Callable[..., BrowserContext], api: Api,
                                invoice: dict[str, Any]) -> None:
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    open_invoice(page, invoice)
    fill_card(page, CARD_OK)
    pay_button(page).click()

    expect_paid(page, api, invoice)
    shot(page, "no-javascript-paid")


def _focused(page: Page) -> str:
    """A description of the focused element: tag, then its accessible-ish name."""
    return page.evaluate("""() => {
        const el = document.activeElement;
        if (!el || el === document.body) return "body";
        const label = el.labels && el.labels.length ? el.labels[0].textContent : (el.textContent || el.value || "");
        return el.tagName.toLowerCase() + ":" + label.trim().replace(/\\s+/g, " ");
    }""")


def test_pay_with_the_keyboard_only(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    open_invoice(page, invoice)
    card_number = page.get_by_label("Card number", exact=True)

    # From the top of the page, Tab until the first card field has the focus.
    stops: list[str] = []
    for _ in range(15):
        page.keyboard.press("Tab")
        stops.append(_focused(page))
        if card_number.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail(f"Tab never reached 'Card number'; focus went: {stops}")
    assert stops[0] == "a:Skip to content", stops  # the first stop lets keyboard users skip the header

    page.keyboard.type(CARD_OK)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Expiry date", exact=True)).to_be_focused()
    page.keyboard.type(EXPIRY)
    page.keyboard.press("Tab")
    expect(page.get_by_label("CVC", exact=True)).to_be_focused()
    page.keyboard.type(CVC)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Name on card", exact=True)).to_be_focused()
    page.keyboard.type(CARDHOLDER)
    page.keyboard.press("Tab")
    expect(page.get_by_role("checkbox", name="Save as default payment method")).to_be_focused()
    page.keyboard.press("Tab")
    expect(pay_button(page)).to_be_focused()
    shot(page, "keyboard-1-pay-button-focused")
    page.keyboard.press("Enter")

    expect_paid(page, api, invoice)
    shot(page, "keyboard-2-paid")


# --------------------------------------------------------------------------- responsive

@pytest.mark.parametrize(("label", "width", "height"), [("phone", 390, 844), ("desktop", 1280, 900)])
def test_responsive_layout(new_context: Callable[..., BrowserContext], invoice: dict[str, Any],
                           label: str, width: int, height: int) -> None:
    context = new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    open_invoice(page, invoice)

    expect(pay_button(page)).to_be_visible()
    # Nothing wider than the screen: no sideways scrolling on a phone.
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the {width}px viewport"
    box = pay_button(page).bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    shot(page, f"responsive-{label}-{width}x{height}")
