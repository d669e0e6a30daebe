"""The hosted page as a customer would want it (issue 25), at a desktop's 1280 px and a
phone's 390 px, in English and German: what is in view on arrival, where errors appear,
how each state reads, and that long addresses wrap where a reader expects.

``test_tour`` walks every state in both languages at both widths and saves a screenshot of
each (e2e/artifacts/tour-<lang>-<width>-<state>.png) for people to look at."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from e2e.support import (
    CARD_3DS,
    CARD_DECLINED,
    CARD_OK,
    MERCHANT_NAME,
    Api,
    fill_card,
    pay_button,
    shot,
    stylesheets_loaded,
)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CARD_ATTEMPTS = 5  # the default VINR_CARD_ATTEMPTS_PER_INVOICE: "5 per hour"


def _in_view(page: Page, locator: Locator) -> None:
    """Visible without scrolling: inside the viewport as the page opens."""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (box, viewport)
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (box, viewport)


def _no_sideways_scrolling(page: Page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the viewport"


def _open(page: Page, invoice: dict[str, Any], status: int = 200) -> None:
    response = page.goto(invoice["hosted_invoice_url"])
    assert response is not None and response.status == status, response and response.status
    stylesheets_loaded(page)


def _german(api: Api) -> dict[str, Any]:
    return api.customer(email=f"kunde.{secrets.token_hex(4)}@example.de", name="Karl Kunde",
                        preferred_locales=["de"])


# --------------------------------------------------------------------------- on arrival

def test_on_a_desktop_the_amount_due_date_merchant_and_form_are_in_view(
        new_context: Callable[..., BrowserContext], api: Api, invoice: dict[str, Any]) -> None:
    page = new_context(viewport=DESKTOP).new_page()
    _open(page, invoice)
    _in_view(page, page.locator(".invoice-facts__due"))
    _in_view(page, page.get_by_text(re.compile(r"^December \d+, 20\d\d$")).first)  # the due date
    _in_view(page, page.get_by_text(f"from {MERCHANT_NAME}"))
    _in_view(page, page.get_by_label("Card number", exact=True))
    _in_view(page, pay_button(page))
    # The band carries the merchant's name, not a tall empty block above the invoice.
    header = page.locator("header.header").bounding_box()
    assert header is not None and header["height"] <= 80, header
    shot(page, "layout-desktop-open")


def test_on_a_phone_the_invoice_comes_first_and_nothing_is_wider_than_the_screen(
        new_context: Callable[..., BrowserContext], api: Api, invoice: dict[str, Any]) -> None:
    page = new_context(viewport=PHONE).new_page()
    _open(page, invoice)
    _in_view(page, page.locator(".invoice-facts__due"))
    _no_sideways_scrolling(page)
    amount = page.locator(".invoice-facts__due").bounding_box()
    form = page.get_by_label("Card number", exact=True).bounding_box()
    assert amount is not None and form is not None and amount["y"] < form["y"]
    shot(page, "layout-phone-open")


# --------------------------------------------------------------------------- errors

def _error_below(page: Page, label: str) -> str:
    """The error shown for the field labelled ``label``, checked to sit right below its input."""
    field = page.get_by_label(label, exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    error = page.locator(f"#{field.get_attribute('id')}-error")
    expect(error).to_be_visible()
    field_box, error_box = field.bounding_box(), error.bounding_box()
    assert field_box is not None and error_box is not None
    gap = error_box["y"] - (field_box["y"] + field_box["height"])
    assert 0 <= gap <= 40, (label, field_box, error_box)
    assert abs(error_box["x"] - field_box["x"]) <= 2, (label, field_box, error_box)
    return error.inner_text()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_field_error_at_once_each_next_to_its_field(
        new_context: Callable[..., BrowserContext], api: Api, invoice: dict[str, Any],
        viewport: dict[str, int]) -> None:
    page = new_context(viewport=viewport).new_page()
    _open(page, invoice)
    fill_card(page, "4242 4242 4242 4241", expiry="05 / 21", cvc="12", name="")
    pay_button(page).click()

    assert "incorrect" in _error_below(page, "Card number")
    assert "expired" in _error_below(page, "Expiry date")
    assert "3 digits" in _error_below(page, "CVC")
    assert "name" in _error_below(page, "Name on card")
    _near_the_form(page, "Check the highlighted fields.")
    shot(page, f"layout-{viewport['width']}-field-errors")


def _near_the_form(page: Page, text: str) -> None:
    """The alert is in the pay card, just above the card form, and in view."""
    alert = page.locator("#pay").get_by_role("alert")
    expect(alert).to_contain_text(text)
    alert_box = alert.bounding_box()
    form_box = page.get_by_label("Card number", exact=True).bounding_box()
    assert alert_box is not None and form_box is not None
    assert 0 <= form_box["y"] - (alert_box["y"] + alert_box["height"]) <= 120, (alert_box, form_box)
    _in_view(page, alert)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_decline_is_said_next_to_the_form(new_context: Callable[..., BrowserContext], api: Api,
                                            invoice: dict[str, Any], viewport: dict[str, int]) -> None:
    page = new_context(viewport=viewport).new_page()
    _open(page, invoice)
    fill_card(page, CARD_DECLINED)
    pay_button(page).click()
    _near_the_form(page, "declined")
    shot(page, f"layout-{viewport['width']}-declined")


# --------------------------------------------------------------------------- states

def test_past_due_says_how_many_days_and_the_due_date_stands_out(
        page: Page, merchant_api: Callable[[str, str], Api]) -> None:
    late = merchant_api("Late Invoices Ltd", "LATE")
    invoice = late.hosted_invoice(late.customer()["id"])
    late.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 16 * 86_400})  # due in 14 days
    _open(page, invoice)
    expect(page.locator(".badge")).to_have_text("Past due")
    overdue = page.locator(".invoice-facts__overdue")
    expect(overdue).to_contain_text("2 days overdue")
    colour = overdue.locator("dd").evaluate("el => getComputedStyle(el).color")
    text_colour = page.locator(".invoice-facts__due").evaluate("el => getComputedStyle(el).color")
    assert colour != text_colour, "the overdue due date looks like any other fact"
    expect(pay_button(page)).to_be_visible()
    shot(page, "layout-past-due")


def test_paid_is_one_receipt_saying_when_with_what_and_how_much(page: Page, api: Api, customer: dict[str, Any],
                                                                 invoice: dict[str, Any]) -> None:
    _open(page, invoice)
    fill_card(page, CARD_OK)
    pay_button(page).click()
    receipt = page.locator(".receipt")
    expect(receipt.get_by_role("heading", name="Paid", exact=True)).to_be_visible()
    expect(receipt).to_contain_text("Visa ending in 4242")
    expect(receipt).to_contain_text("Paid on")
    expect(receipt).to_contain_text("€1,960.00")
    expect(receipt.get_by_role("link", name="Download PDF")).to_be_visible()
    # "Paid" once, not as a heading, a badge and a sentence.
    expect(page.get_by_text(re.compile(r"^\s*Paid\s*$"))).to_have_count(1)
    expect(page.get_by_text("Test cards")).to_have_count(0)
    shot(page, "layout-paid")
    page.set_viewport_size(PHONE)  # on a phone, the receipt is what opens
    _in_view(page, receipt.get_by_role("heading", name="Paid", exact=True))
    shot(page, "layout-paid-phone")


def test_void_gives_the_merchants_support_contact_and_no_test_cards(
        page: Page, merchant_api: Callable[[str, str], Api]) -> None:
    branded = merchant_api("Helpful Void GmbH", "HVOID")
    branded.ok("POST", "/v1/account/branding", {
        "support_email": "billing@helpful.example", "support_phone": "+49 30 1234567",
        "support_url": "https://helpful.example/support"})
    invoice = branded.hosted_invoice(branded.customer()["id"])
    branded.ok("POST", f"/v1/invoices/{invoice['id']}/void")
    _open(page, invoice, status=410)
    main = page.locator("main")
    expect(main.get_by_role("link", name="billing@helpful.example")).to_have_attribute(
        "href", "mailto:billing@helpful.example")
    expect(main.get_by_role("link", name="+49 30 1234567")).to_be_visible()
    expect(main.get_by_role("link", name="https://helpful.example/support")).to_be_visible()
    expect(page.get_by_text("Test cards")).to_have_count(0)
    shot(page, "layout-void-branded")


def test_void_without_support_details_names_the_merchant_and_the_sender(page: Page, api: Api,
                                                                       invoice: dict[str, Any]) -> None:
    api.ok("POST", f"/v1/invoices/{invoice['id']}/void")
    _open(page, invoice, status=410)
    main = page.locator("main")
    expect(main.get_by_text(MERCHANT_NAME, exact=True)).to_be_visible()
    expect(main.get_by_role("link", name=re.compile(r"^invoices@"))).to_be_visible()
    expect(page.get_by_text("Test cards")).to_have_count(0)
    shot(page, "layout-void-plain")


def test_update_payment_method_only_where_a_card_is_kept(page: Page, api: Api, customer: dict[str, Any],
                                                         invoice: dict[str, Any]) -> None:
    _open(page, invoice)  # a one-off payer: nothing to update
    expect(page.get_by_role("link", name="Update payment method")).to_have_count(0)

    automatic = api.hosted_invoice(customer["id"], collection_method="charge_automatically")
    _open(page, automatic)
    expect(page.get_by_role("link", name="Update payment method")).to_be_visible()

    api.save_card(customer["id"])
    _open(page, api.hosted_invoice(customer["id"]))
    page.get_by_role("link", name="Update payment method").click()
    expect(page.locator(".card-on-file")).to_contain_text("Visa ending in 4242")
    shot(page, "layout-update-card-on-file")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_long_emails_and_names_wrap_at_sensible_points(new_context: Callable[..., BrowserContext], api: Api,
                                                       viewport: dict[str, int]) -> None:
    customer = api.customer(email=f"jenny.rosen.accountspayable{secrets.token_hex(2)}@subsidiaryofagroup"
                                  ".example.com",
                            name="Maximiliane Wolkenstein-Hohenberg-Rosenthal")
    invoice = api.hosted_invoice(customer["id"])
    page = new_context(viewport=viewport).new_page()
    _open(page, invoice)
    # Every place a line ends: the characters either side, and whether it is a place a reader
    # expects (a space, a line break of the page's own, or an opportunity the page marks).
    breaks = page.locator(".billed-to").evaluate("""el => {
        const found = [];
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        let previous = null;
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            let boundary = true;  // a text node of its own starts after <br> or <wbr>
            for (let i = 0; i < node.data.length; i++) {
                if (!node.data[i].trim()) { boundary = true; continue; }
                const range = document.createRange();
                range.setStart(node, i); range.setEnd(node, i + 1);
                const rect = range.getClientRects()[0];
                if (previous && rect.top > previous.top + 2) found.push([previous.ch, node.data[i], boundary]);
                previous = {top: rect.top, ch: node.data[i]};
                boundary = false;
            }
        }
        return found;
    }""")
    shot(page, f"layout-{viewport['width']}-long-email")
    assert breaks  # the name and the email are lines of their own
    if viewport is PHONE:
        assert len(breaks) > 3, f"expected the long name and email to wrap at 390 px: {breaks}"
    mid_word = [(before, after) for before, after, boundary in breaks if not boundary and before != "-"]
    assert mid_word == [], f"lines broken inside a word: {mid_word}"


def test_the_footer_promises_what_is_true(page: Page, invoice: dict[str, Any]) -> None:
    _open(page, invoice)
    footer = page.locator("footer")
    expect(footer).to_contain_text("charged by the card processor")
    expect(footer).to_contain_text("never stored")
    expect(footer).not_to_contain_text("never sees")


def test_the_refusal_is_branded_and_leads_back_to_the_invoice(page: Page, api: Api,
                                                              invoice: dict[str, Any]) -> None:
    _open(page, invoice)
    for _ in range(CARD_ATTEMPTS):
        fill_card(page, CARD_DECLINED)
        pay_button(page).click()
        expect(page.get_by_role("alert")).to_contain_text("declined")
    fill_card(page, CARD_DECLINED)
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        pay_button(page).click()
    assert refused.value.status == 429 and int(refused.value.headers["retry-after"]) > 0
    expect(page.get_by_role("heading", level=1, name="Too many attempts")).to_be_visible()
    expect(page.locator("main")).to_contain_text("on this invoice")
    expect(page.locator("main")).to_contain_text("You can try again in 1 hour.")
    expect(page.locator("header.header")).to_contain_text(MERCHANT_NAME)
    shot(page, "layout-rate-limited")
    page.get_by_role("link", name="Back to the invoice").click()
    expect(page.get_by_role("heading", level=1, name=f"Invoice {invoice['number']}")).to_be_visible()


# --------------------------------------------------------------------------- the tour

LABELS = {"en": ("Card number", "Expiry date", "CVC", "Name on card"),
          "de": ("Kartennummer", "Ablaufdatum", "Prüfnummer (CVC)", "Name auf der Karte")}


def _tour_states(api: Api, customer: Callable[[], dict[str, Any]],
                 lang: str) -> dict[str, Callable[[Page], None]]:
    """Each state of the page, reached as a customer would; the page is left showing it."""
    def fill_card(page: Page, number: str, *, expiry: str = "12 / 40", cvc: str = "123",
                  name: str = "Jenny Rosen") -> None:
        for label, value in zip(LABELS[lang], (number, expiry, cvc, name), strict=True):
            page.get_by_label(label, exact=True).fill(value)

    def pay_button(page: Page) -> Locator:
        return page.locator("#pay button[type=submit]")

    def open_(page: Page) -> None:
        _open(page, api.hosted_invoice(customer()["id"]))

    def challenge(page: Page) -> None:
        open_(page)
        fill_card(page, CARD_3DS)
        pay_button(page).click()
        expect(page.get_by_role("button", name=re.compile("Complete|Authentifizierung abschließen"))).to_be_visible()

    def declined(page: Page) -> None:
        open_(page)
        fill_card(page, CARD_DECLINED)
        pay_button(page).click()
        expect(page.get_by_role("alert")).to_be_visible()

    def invalid(page: Page) -> None:
        open_(page)
        fill_card(page, "4242 4242 4242 4241", expiry="13 / 40", cvc="", name="")
        pay_button(page).click()
        expect(page.get_by_role("alert")).to_be_visible()

    def paid(page: Page) -> None:
        open_(page)
        fill_card(page, CARD_OK)
        pay_button(page).click()
        expect(page.locator(".receipt")).to_be_visible()

    def void(page: Page) -> None:
        invoice = api.hosted_invoice(customer()["id"])
        api.ok("POST", f"/v1/invoices/{invoice['id']}/void")
        _open(page, invoice, status=410)

    def past_due(page: Page) -> None:
        invoice = api.hosted_invoice(customer()["id"], days_until_due=1)
        api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 3 * 86_400})
        _open(page, invoice)
        expect(page.locator(".overdue")).to_be_visible()

    def rate_limited(page: Page) -> None:
        open_(page)
        for _ in range(CARD_ATTEMPTS + 1):
            fill_card(page, CARD_DECLINED)
            pay_button(page).click()
        expect(page.get_by_role("link", name=re.compile("Back to the invoice|Zurück zur Rechnung"))).to_be_visible()

    def update_card(page: Page) -> None:
        someone = customer()
        api.save_card(someone["id"])
        _open(page, api.hosted_invoice(someone["id"]))
        page.locator(".pay__update a").click()
        expect(page.locator(".card-on-file")).to_be_visible()

    return {"open": open_, "3ds": challenge, "declined": declined, "invalid": invalid, "paid": paid,
            "void": void, "past-due": past_due, "rate-limited": rate_limited, "update-card": update_card}


@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_tour(new_context: Callable[..., BrowserContext], merchant_api: Callable[[str, str], Api], lang: str,
              viewport: dict[str, int]) -> None:
    # A merchant of its own per run: its clock moves (past due).
    api = merchant_api(f"Tour {lang} {viewport['width']} Studio", f"T{lang.upper()}{viewport['width']}")
    api.ok("POST", "/v1/account/branding", {"support_email": "accounts@tour-studio.example",
                                            "support_phone": "+49 30 555 0100"})

    def customer() -> dict[str, Any]:
        return _german(api) if lang == "de" else api.customer()

    page = new_context(viewport=viewport).new_page()
    for state, reach in _tour_states(api, customer, lang).items():
        reach(page)
        expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{lang}"))
        _no_sideways_scrolling(page)
        shot(page, f"tour-{lang}-{viewport['width']}-{state}")
