"""The hosted page is kept per worker (app/portal/pages.py): a repeat view is one
query, yet every change a customer or merchant makes shows on the next view."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.portal.pages import CSRF_SLOT, NONCE_SLOT, Page, PageCache
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
    for page in (text(first), text(second)):
        assert NONCE_SLOT not in page and CSRF_SLOT not in page  # every marker filled in
    answer = hosted.client.post(hosted.path + "/pay", data={
        "csrf_token": csrf2, "method": "new", "card_number": "4242424242424242", "expiry": "12 / 40",
        "cvc": "123", "name": "Jenny Rosen"})
    assert answer.status_code == 303 and hosted.refreshed()["status"] == "paid"


def test_a_new_visitor_gets_a_session_for_the_form(app: Any, hosted: Hosted) -> None:
    hosted.page()  # kept
    visitor = app.test_client()
    response = visitor.get(hosted.path)
    assert response.status_code == 200 and "session=" in response.headers["Set-Cookie"]
    _, token = nonce_and_csrf(response)
    answer = visitor.post(hosted.path + "/pay", data={
        "csrf_token": token, "method": "new", "card_number": "4242424242424242", "expiry": "12 / 40",
        "cvc": "123", "name": "Jenny Rosen"})
    assert answer.status_code == 303


def test_a_repeat_view_is_one_query(app: Any, hosted: Hosted) -> None:
    hosted.page()
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert "Pay this invoice" in text(hosted.page())
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")


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


def test_a_kept_page_is_never_shown_for_a_bad_link(hosted: Hosted, other_merchant: Any) -> None:
    from app import tokens

    assert hosted.page().status_code == 200  # kept
    invoice_id = hosted.invoice["id"]
    last = invoice_id[-1]
    other_id = invoice_id[:-1] + ("0" if last != "0" else "1")
    assert hosted.client.get(hosted.path[:-2] + ("xx" if hosted.path[-2:] != "xx" else "yy")).status_code == 404
    assert hosted.client.get(hosted.path.replace(invoice_id, other_id)).status_code == 404
    with hosted.client.application.app_context():
        # correctly signed, but not the link stored on the invoice
        forged = tokens.mint(tokens.HOSTED_INVOICE, {"i": invoice_id, "a": other_merchant.account_id})
    assert hosted.client.get(f"/i/{invoice_id}/{forged}").status_code == 404
    assert hosted.client.get(f"/i/{invoice_id}/{'a' * 300}").status_code == 404
    assert hosted.page().status_code == 200


def test_a_new_secret_key_turns_a_verified_link_away(app: Any, hosted: Hosted,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert hosted.page().status_code == 200  # verified and remembered
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-secret-key-0123456789")
    assert hosted.page().status_code == 404


def test_head_answers_like_get(hosted: Hosted) -> None:
    hosted.page()
    head = hosted.client.head(hosted.path)
    assert head.status_code == 200 and head.headers["Content-Type"].startswith("text/html")


def test_a_void_that_lands_after_the_state_read_is_the_410_page(hosted: Hosted, api: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The state SELECT saw it open; by the time the page is rendered it is void."""
    from app.extensions import db as ext_db
    from app.portal import pages, views

    with hosted.client.application.test_request_context():
        _, _, invoice_id, token = hosted.path.split("/", 3)
        stale = pages.page_state(ext_db.sessionmaker.kw["bind"], invoice_id, token)
    api.ok("POST", f"/v1/invoices/{invoice_id}/void")
    monkeypatch.setattr(views.pages, "page_state", lambda *_: stale)
    assert hosted.page().status_code == 410


def test_a_page_newer_than_its_state_read_is_shown_but_not_kept(app: Any, hosted: Hosted,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Paid between the state SELECT and the render (PostgreSQL's READ COMMITTED allows it)."""
    from app.extensions import db as ext_db
    from app.portal import page_cache, pages, views

    with app.test_request_context():
        _, _, invoice_id, token = hosted.path.split("/", 3)
        stale = pages.page_state(ext_db.sessionmaker.kw["bind"], invoice_id, token)
    hosted.api.ok("POST", f"/v1/invoices/{invoice_id}/pay", {"paid_out_of_band": True})
    monkeypatch.setattr(views.pages, "page_state", lambda *_: stale)
    assert "Thank you!" in text(hosted.page())
    with app.test_request_context():
        assert page_cache().get(stale.key("en")) is None  # the receipt is not kept as the open page


def test_size_zero_keeps_nothing() -> None:
    cache = PageCache(0)
    cache.put(("inv", 1), Page.parse("x"))
    assert cache.get(("inv", 1)) is None


def test_the_memory_budget_holds_with_large_pages() -> None:
    """Pages with a big logo weigh ~350 KB: the budget is in bytes, not pages, and a
    page is kept as UTF-8 (a str with one emoji would take 4 bytes per character)."""
    cache = PageCache(1)  # 1 MiB
    logo_page = "€ Café 🌟" + "x" * 299_986
    assert Page.parse(logo_page).size == len(logo_page.encode()) == 300_000
    for n in range(10):
        cache.put(("inv", n), Page.parse(logo_page))
    kept = [n for n in range(10) if cache.get(("inv", n)) is not None]
    assert kept == [7, 8, 9]  # the newest that fit in 1 MiB
    cache.put(("huge", 0), Page.parse("x" * 2_000_000))  # larger than the budget: not kept, no error
    assert cache.get(("huge", 0)) is None and cache.get(("inv", 9)) is not None


def test_page_fill_puts_each_value_where_its_marker_was() -> None:
    from app.portal.pages import CSRF_SLOT, NONCE_SLOT

    page = Page.parse(f"<style nonce='{NONCE_SLOT}'>a</style><input value='{CSRF_SLOT}'>{NONCE_SLOT}")
    assert page.fill(nonce="N", csrf="C") == b"<style nonce='N'>a</style><input value='C'>N"


def test_an_edit_of_the_open_invoice_shows_at_once(hosted: Hosted, api: Any) -> None:
    assert "Thanks for your business" not in text(hosted.page())
    api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}", {"footer": "Thanks for your business"})
    assert "Thanks for your business" in text(hosted.page())


def test_on_the_engine_the_state_is_read_through_the_driver(committed_app: Any) -> None:
    """Outside a test's transaction the state SELECT runs on a pooled DBAPI connection
    (app/portal/pages.py): same answers, German languages decoded, links checked."""
    from app.accounts.service import create_merchant

    app = committed_app
    with app.app_context():
        new = create_merchant(db.session, "Driver GmbH", "DRV")
        db.session.commit()
    client = app.test_client()
    key = {"X-Api-Key": new.test_secret_key}

    def ok(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body, headers=key)
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json())

    customer = ok("/v1/customers", {"email": "k@example.de", "preferred_locales": ["de-DE"]})
    invoice = ok("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                  "days_until_due": 14})
    ok(f"/v1/invoices/{invoice['id']}/lines", {"description": "Beratung", "unit_amount": 120000, "quantity": 1})
    hosted = Hosted(client, None, ok(f"/v1/invoices/{invoice['id']}/finalize", {}))
    with app.app_context():
        assert isinstance(db.sessionmaker.kw["bind"], sa.Engine)  # no test transaction here

    first, second = hosted.page(), hosted.page()
    assert first.status_code == second.status_code == 200
    assert "Kartennummer" in text(second) and "Rechnung DRV-0001" in text(second)
    assert hosted.client.get(hosted.path[:-2] + "xx").status_code == 404
    assert hosted.pay().status_code == 303
    hosted.page()  # the notice
    assert "Vielen Dank" in text(hosted.page())

    from app.portal import views

    def no_render(*_: Any) -> Any:
        raise AssertionError("rendered again: the kept page was not used")

    views._page_to_keep, render = no_render, views._page_to_keep  # type: ignore[assignment]
    try:
        assert "Vielen Dank" in text(hosted.page())  # kept, read through the driver
    finally:
        views._page_to_keep = render
