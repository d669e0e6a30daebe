"""Every change a customer or merchant makes shows on the hosted page's next view,
and every view gets its own nonce and a CSRF token that works."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app import clock
from tests.portal.conftest import Hosted, make_hosted


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def nonce_and_csrf(response: Any) -> tuple[str, str]:
    html = text(response)
    header = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    style = re.search(r'<style nonce="([^"]+)">', html)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert header and style and csrf
    assert header[1] == style[1]
    return style[1], csrf[1]


def test_every_view_gets_its_own_nonce_and_a_csrf_token_that_works(hosted: Hosted) -> None:
    first, second = hosted.page(), hosted.page()
    (nonce1, _), (nonce2, csrf2) = nonce_and_csrf(first), nonce_and_csrf(second)
    assert nonce1 != nonce2
    answer = hosted.client.post(hosted.path + "/pay", data={
        "csrf_token": csrf2, "method": "new", "card_number": "4242424242424242", "expiry": "12 / 40",
        "cvc": "123", "name": "Jenny Rosen"})
    assert answer.status_code == 303 and hosted.refreshed()["status"] == "paid"


def test_a_new_visitor_gets_a_session_for_the_form(app: Any, hosted: Hosted) -> None:
    hosted.page()
    visitor = app.test_client()
    response = visitor.get(hosted.path)
    assert response.status_code == 200 and "session=" in response.headers["Set-Cookie"]
    _, token = nonce_and_csrf(response)
    answer = visitor.post(hosted.path + "/pay", data={
        "csrf_token": token, "method": "new", "card_number": "4242424242424242", "expiry": "12 / 40",
        "cvc": "123", "name": "Jenny Rosen"})
    assert answer.status_code == 303


def test_paying_shows_the_receipt_on_the_next_view(hosted: Hosted) -> None:
    assert "Card number" in text(hosted.page())
    assert hosted.pay().status_code == 303
    hosted.page()  # shows and spends the "Payment received" notice
    receipt = text(hosted.page())
    assert "Thank you!" in receipt and "Card number" not in receipt


def test_void_after_a_view_is_the_410_page(hosted: Hosted, api: Any) -> None:
    hosted.page()
    api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}/void")
    assert hosted.page().status_code == 410


def test_branding_changes_show_at_once_even_within_one_second(hosted: Hosted, api: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: 1_900_000_000)  # both changes in the same second
    api.ok("POST", "/v1/account/branding", {"display_name": "Nordlicht Studio"})
    assert "Nordlicht Studio" in text(hosted.page())
    api.ok("POST", "/v1/account/branding", {"display_name": "Südwind Atelier"})
    html = text(hosted.page())
    assert "Südwind Atelier" in html and "Nordlicht Studio" not in html


def test_the_customers_new_language_shows_at_once(hosted: Hosted, api: Any, customer: dict) -> None:
    assert "Card number" in text(hosted.page())
    api.ok("POST", f"/v1/customers/{customer['id']}", {"preferred_locales": ["de-DE"]})
    assert "Kartennummer" in text(hosted.page())


def test_the_browsers_language_is_kept_apart(api: Any, client: Any, customer: dict) -> None:
    hosted = Hosted(client, api, make_hosted(api, customer["id"]))  # no preferred_locales
    assert "Kartennummer" in text(hosted.page(headers={"Accept-Language": "de-DE,de;q=0.9"}))
    assert "Card number" in text(hosted.page(headers={"Accept-Language": "en-GB"}))
    assert "Kartennummer" in text(hosted.page(headers={"Accept-Language": "de"}))


def test_a_new_default_card_is_offered_at_once(hosted: Hosted, api: Any, customer: dict) -> None:
    assert "ending in" not in text(hosted.page())
    api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
           {"card": {"number": "5555555555554444", "cvc": "123", "exp_month": 12, "exp_year": 2040},
            "set_default": True})
    assert "Mastercard ending in 4444" in text(hosted.page())


def test_falling_past_due_shows_without_any_write(hosted: Hosted, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Past due" not in text(hosted.page())
    due = hosted.invoice["due_date"]
    monkeypatch.setattr(clock, "now", lambda: due + 1)
    assert "Past due" in text(hosted.page())


def test_a_page_is_never_shown_for_a_bad_link(hosted: Hosted, other_merchant: Any) -> None:
    from app import tokens

    assert hosted.page().status_code == 200
    invoice_id = hosted.invoice["id"]
    last = invoice_id[-1]
    other_id = invoice_id[:-1] + ("0" if last != "0" else "1")
    assert hosted.client.get(hosted.path[:-2] + ("xx" if hosted.path[-2:] != "xx" else "yy")).status_code == 404
    assert hosted.client.get(hosted.path.replace(invoice_id, other_id)).status_code == 404
    # correctly signed, but not the link stored on the invoice
    forged = tokens.mint(tokens.HOSTED_INVOICE, {"i": invoice_id, "a": other_merchant.account_id},
                         secret_key=hosted.client.application.config["SECRET_KEY"])
    assert hosted.client.get(f"/i/{invoice_id}/{forged}").status_code == 404
    assert hosted.client.get(f"/i/{invoice_id}/{'a' * 300}").status_code == 404
    assert hosted.page().status_code == 200


def test_a_new_secret_key_turns_a_verified_link_away(app: Any, hosted: Hosted,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert hosted.page().status_code == 200
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-secret-key-0123456789")
    assert hosted.page().status_code == 404


def test_head_answers_like_get(hosted: Hosted) -> None:
    hosted.page()
    head = hosted.client.head(hosted.path)
    assert head.status_code == 200 and head.headers["Content-Type"].startswith("text/html")


def test_an_edit_of_the_open_invoice_shows_at_once(hosted: Hosted, api: Any) -> None:
    assert "Thanks for your business" not in text(hosted.page())
    api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}", {"footer": "Thanks for your business"})
    assert "Thanks for your business" in text(hosted.page())
