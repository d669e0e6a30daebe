"""The hosted invoice page, driven the way a browser without JavaScript would (SPEC §7)."""

from __future__ import annotations

import io
import logging
import threading
from typing import Any

import pypdf
import pytest
import sqlalchemy as sa
from flask import current_app

from app import clock
from app.invoices.models import Invoice
from app.payments import checkout, flow, settlement
from app.payments.flow import money_flow_of
from app.payments.models import Payment, PaymentMethod
from tests.portal.conftest import Hosted, make_hosted

SPEC_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def test_page_shows_the_invoice(hosted: Hosted) -> None:
    response = hosted.page()
    assert response.status_code == 200
    html = text(response)
    for expected in ("ACME-0001", "Design work", "Hosting", "€1,960.00", "€1,200.00", "Acme GmbH",
                     "Download PDF", "Card number", "Expiry date", "CVC",
                     "Name on card", "Save as default payment method", "Pay €1,960.00"):
        assert expected in html, expected
    assert "<script" not in html


def test_security_headers(hosted: Hosted) -> None:
    response = hosted.page()
    for name, value in SPEC_HEADERS.items():
        assert response.headers[name] == value
    assert "noindex" in response.headers["X-Robots-Tag"]
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'none'" in csp and "unsafe-inline" not in csp
    assert "http" not in csp  # nothing from another origin


@pytest.mark.parametrize("mangle", [
    lambda p: p[:-3] + ("aaa" if not p.endswith("aaa") else "bbb"),   # tampered signature
    lambda p: p.rsplit("/", 1)[0] + "/not-a-token",                   # garbage
    lambda p: p.replace("/i/inv_", "/i/inv_x"),                        # unknown invoice
])
def test_bad_tokens_are_the_same_plain_404(hosted: Hosted, mangle: Any) -> None:
    response = hosted.client.get(mangle(hosted.path))
    assert response.status_code == 404
    assert "ACME" not in text(response) and "Acme" not in text(response)


def test_a_token_for_another_invoice_does_not_open_this_one(hosted: Hosted, api: Any, customer: dict) -> None:
    other = make_hosted(api, customer["id"])
    other_token = other["hosted_invoice_url"].rsplit("/", 1)[1]
    response = hosted.client.get(f"/i/{hosted.invoice['id']}/{other_token}")
    unknown = hosted.client.get(f"/i/{hosted.invoice['id']}/x{other_token}")
    assert response.status_code == unknown.status_code == 404
    assert text(response) == text(unknown)


def test_pay_with_a_test_card_then_receipt_and_no_second_charge(hosted: Hosted) -> None:
    replay = {"csrf_token": hosted.csrf(), "method": "new", "card_number": "4242424242424242",
              "expiry": "12 / 40", "cvc": "123", "name": "Jenny Rosen"}
    response = hosted.pay()
    assert response.status_code == 303
    receipt = hosted.client.get(response.headers["Location"])
    html = text(receipt)
    assert receipt.status_code == 200 and "Paid" in html and "Card number" not in html
    inv = hosted.refreshed()
    assert inv["status"] == "paid" and inv["amount_paid"] == 196000
    # The token no longer authorizes payment: a replayed POST (a double click, a resubmitted
    # form) is refused and nothing is charged, and the customer sees the receipt, not an error.
    again = hosted.client.post(hosted.path + "/pay", data=replay)
    assert again.status_code == 409
    html = text(again)
    assert "This invoice is already paid. Nothing more was charged." in html
    assert 'id="receipt-title">Paid<' in html and "Card number" not in html
    payments = hosted.api.ok("GET", "/v1/payments", query_string={"invoice": hosted.invoice["id"]})["data"]
    assert [p["status"] for p in payments] == ["completed"]


def test_a_second_click_while_the_first_is_charging_charges_nothing(app: Any, hosted: Hosted,
                                                                    db_session: Any) -> None:
    # The first click took the invoice's collection slot and is with the processor now.
    card = hosted.api.ok("POST", f"/v1/customers/{hosted.invoice['customer']}/payment_methods",
                         {"card": {"number": "4242424242424242", "cvc": "123", "exp_month": 12, "exp_year": 2040}})
    with app.app_context():
        invoice = db_session.get(Invoice, hosted.invoice["id"], populate_existing=True)
        first = flow.take_slot(db_session, invoice, db_session.get(PaymentMethod, card["id"]), off_session=False)

    second = hosted.pay()
    assert second.status_code == 303 and second.headers["Location"].endswith(hosted.path)
    html = text(hosted.client.get(second.headers["Location"]))
    notice = html.split('role="status"', 1)[1].split("</div>", 1)[0]
    assert "already under way" in notice and "Nothing more was charged" in notice
    assert "4242424242424242" not in html
    charged = hosted.api.ok("GET", "/v1/payments", query_string={"invoice": hosted.invoice["id"]})["data"]
    assert [(p["id"], p["status"]) for p in charged] == [(first.id, "processing")]
    assert hosted.refreshed()["status"] == "open"


def _edit_by_the_merchant_once(monkeypatch: pytest.MonkeyPatch, name: str, module: Any = flow) -> list[str]:
    """Wrap ``<module>.<name>`` (app.payments.flow by default) so that, the first time it runs, the
    invoice's row moves to a new version behind the paying request's back, as
    when the merchant edits it meanwhile. (Here the edit shares the test's one
    connection, so it is undone with the attempt it broke; tests/payments/
    test_pay_race.py commits a real one on PostgreSQL.)"""
    real = getattr(module, name)
    edited: list[str] = []

    def edit_then_call(session: Any, invoice: Invoice, *args: Any, **kw: Any) -> Any:
        if not edited:
            table = Invoice.__table__
            session.connection().execute(sa.update(table).where(table.c.id == invoice.id)
                                         .values(description="Edited by the merchant", version=table.c.version + 1))
            edited.append(invoice.id)
        return real(session, invoice, *args, **kw)

    monkeypatch.setattr(module, name, edit_then_call)
    return edited


def test_a_merchant_edit_while_the_card_is_charged_does_not_lose_the_payment(
        hosted: Hosted, monkeypatch: pytest.MonkeyPatch) -> None:
    # The edit lands after the charge, while the outcome is being recorded: the card has
    # been charged, so the customer must see the payment, not "nothing was charged".
    # A successful charge moves the invoice to paid through app/payments/settlement.py.
    edited = _edit_by_the_merchant_once(monkeypatch, "transition", settlement)
    response = hosted.pay()
    assert edited and response.status_code == 303
    html = text(hosted.client.get(response.headers["Location"]))
    assert "Nothing more was charged" not in html and "Payment received" in html
    inv = hosted.refreshed()
    assert (inv["status"], inv["amount_paid"]) == ("paid", 196000)
    charged = hosted.api.ok("GET", "/v1/payments", query_string={"invoice": hosted.invoice["id"]})["data"]
    assert [p["status"] for p in charged] == ["completed"]


def test_a_merchant_edit_while_the_payment_starts_still_charges_once(
        hosted: Hosted, monkeypatch: pytest.MonkeyPatch) -> None:
    # The edit lands between reading the invoice and taking its collection slot: nothing is
    # charged yet, so the payment goes ahead on the edited invoice, once.
    edited = _edit_by_the_merchant_once(monkeypatch, "ask_about_unknown")
    response = hosted.pay()
    assert edited and response.status_code == 303
    assert "Payment received" in text(hosted.client.get(response.headers["Location"]))
    assert hosted.refreshed()["status"] == "paid"
    charged = hosted.api.ok("GET", "/v1/payments", query_string={"invoice": hosted.invoice["id"]})["data"]
    assert [p["status"] for p in charged] == ["completed"]


def _alert(html: str) -> str:
    assert 'role="alert"' in html, html[:2000]
    return html.split('role="alert"', 1)[1].split("</div>", 1)[0]


def _session(hosted: Hosted) -> str:
    with hosted.client.session_transaction() as kept:
        return repr(dict(kept))


def test_a_decline_redirects_to_the_invoice_which_shows_it_and_stays_payable(hosted: Hosted) -> None:
    declined = hosted.pay("4000000000000002")
    assert declined.status_code == 303 and declined.headers["Location"].startswith(hosted.path)
    assert "4000000000000002" not in _session(hosted) and "'123'" not in _session(hosted)  # never kept
    page = hosted.client.get(declined.headers["Location"])
    html = text(page)
    assert page.status_code == 200 and "declined" in _alert(html)
    assert "4000000000000002" not in html and 'value="123"' not in html  # the card is never echoed
    assert 'value="Jenny Rosen"' in html  # what is no card data is kept for the next try
    # Reloading is a GET of the invoice: nothing is sent again, and the message was shown once.
    again = text(hosted.client.get(declined.headers["Location"]))
    assert 'role="alert"' not in again and 'value="Jenny Rosen"' not in again
    assert len(hosted.api.ok("GET", "/v1/payments")["data"]) == 1
    assert hosted.refreshed()["status"] == "open"
    assert hosted.pay().status_code == 303
    assert hosted.refreshed()["status"] == "paid"


def test_form_errors_name_the_field_and_never_reach_the_processor(hosted: Hosted) -> None:
    html = text(hosted.landed(hosted.pay("4242424242424241")))
    assert "Your card number is incorrect." in html
    assert 'aria-invalid="true"' in html
    assert hosted.api.ok("GET", "/v1/payments")["data"] == []
    html = text(hosted.landed(hosted.pay("", cvc="")))
    assert "Check the highlighted fields." in _alert(html)
    assert "Enter your card number." in html and "Enter the security code from your card." in html


def test_a_failed_3ds_lands_on_the_invoice_with_the_decline(hosted: Hosted) -> None:
    challenge = hosted.pay("4000000000003220")
    page = text(hosted.client.get(challenge.headers["Location"]))
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    failed = hosted.client.post(challenge.headers["Location"], data={"csrf_token": token, "fail": "x"})
    assert failed.status_code == 303 and failed.headers["Location"] == hosted.path + "#pay"
    assert "declined" in _alert(text(hosted.client.get(hosted.path)))


def test_a_refused_card_update_lands_on_the_update_page(hosted: Hosted) -> None:
    form = {"csrf_token": hosted.csrf("/payment-method"), "card_number": "4111111111111111", "expiry": "11/39",
            "cvc": "321", "name": "Jenny"}
    saved = hosted.client.post(hosted.path + "/payment-method", data=form)
    html = text(hosted.landed(saved))
    assert saved.headers["Location"] == hosted.path + "/payment-method"
    assert "Update payment method" in html and 'role="alert"' in html
    missing = hosted.client.post(hosted.path + "/payment-method", data={**form, "cvc": ""})
    assert "Enter the security code from your card." in text(hosted.landed(missing))


def test_a_saved_card_that_went_away_is_said_so(hosted: Hosted) -> None:
    html = text(hosted.landed(hosted.pay(method="pm_gone")))
    assert "That saved card is no longer available" in _alert(html)


def test_3ds_complete_pays(hosted: Hosted) -> None:
    challenge = hosted.pay("4000000000003220")
    assert challenge.status_code == 303 and "/authenticate/" in challenge.headers["Location"]
    page = hosted.client.get(challenge.headers["Location"])
    html = text(page)
    assert "Complete authentication" in html and "Fail authentication" in html
    token = html.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    done = hosted.client.post(challenge.headers["Location"], data={"csrf_token": token,
                                                                   "complete": "Complete authentication"})
    assert done.status_code == 303
    assert hosted.refreshed()["status"] == "paid"


def test_3ds_answer_goes_ahead_after_a_merchant_edit(hosted: Hosted, monkeypatch: pytest.MonkeyPatch) -> None:
    challenge = hosted.pay("4000000000003220")
    page = text(hosted.client.get(challenge.headers["Location"]))
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    edited = _edit_by_the_merchant_once(monkeypatch, "challenge_payment", checkout)
    done = hosted.client.post(challenge.headers["Location"], data={"csrf_token": token,
                                                                   "complete": "Complete authentication"})
    assert edited and done.status_code == 303
    assert "Payment received" in text(hosted.client.get(done.headers["Location"]))
    assert hosted.refreshed()["status"] == "paid"


def _answer_challenge(hosted: Hosted, location: str) -> Any:
    page = text(hosted.client.get(location))
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    return lambda: hosted.client.post(location, data={"csrf_token": token, "complete": "Complete authentication"})


def test_a_slow_3ds_answer_is_never_taken_for_a_dead_attempt(app: Any, hosted: Hosted, db_session: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The customer answers the challenge long after it was issued (past the time after
    which a claim counts as a dead process's). While the confirmation is with the
    processor, the merchant presses "pay" with another card: refused, never a second charge."""
    other = hosted.api.ok("POST", f"/v1/customers/{hosted.invoice['customer']}/payment_methods",
                          {"card": {"number": "4242424242424242", "cvc": "123", "exp_month": 12, "exp_year": 2040}})
    location = hosted.pay("4000000000003220").headers["Location"]
    answer = _answer_challenge(hosted, location)
    monkeypatch.setattr(clock, "now", lambda real=clock.now: real() + flow.STALE_SLOT_SECONDS + 60)
    with app.app_context():
        sandbox = money_flow_of(current_app).processor(False)
    charged: list[str] = []
    merchant: list[tuple[int, str]] = []
    real_charge, real_confirm = sandbox.charge, sandbox.confirm

    def confirm_while_the_merchant_pays(request: Any) -> Any:
        response = hosted.api.post(f"/v1/invoices/{hosted.invoice['id']}/pay", {"payment_method": other["id"]})
        merchant.append((response.status_code, response.get_json()["error"]["code"]))
        return real_confirm(request)

    monkeypatch.setattr(sandbox, "charge", lambda request: charged.append(request.idempotency_key)
                        or real_charge(request))
    monkeypatch.setattr(sandbox, "confirm", confirm_while_the_merchant_pays)
    done = answer()
    assert done.status_code == 303 and "Payment received" in text(hosted.client.get(done.headers["Location"]))
    assert merchant == [(409, "payment_in_progress")] and charged == []
    payments_made = hosted.api.ok("GET", "/v1/payments", query_string={"invoice": hosted.invoice["id"]})["data"]
    assert [(p["status"], p["card"]["last4"]) for p in payments_made] == [("completed", "3220")]
    assert hosted.refreshed()["status"] == "paid"


def test_a_dead_3ds_confirmation_is_asked_again_not_charged_again(app: Any, hosted: Hosted, db_session: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The process died while the customer's 3DS answer was with the processor. The next
    collection asks the processor for that confirmation again (same key), instead of
    charging the card anew under the first attempt's key."""
    location = hosted.pay("4000000000003220").headers["Location"]
    answer = _answer_challenge(hosted, location)
    with app.app_context():
        sandbox = money_flow_of(current_app).processor(False)
    calls: list[str] = []
    monkeypatch.setattr(sandbox, "confirm", lambda request: calls.append(request.idempotency_key) or _die())
    with pytest.raises(SystemExit):
        answer()
    pending = hosted.api.ok("GET", "/v1/payments", query_string={"invoice": hosted.invoice["id"]})["data"][0]
    assert pending["status"] == "processing"
    monkeypatch.undo()
    monkeypatch.setattr(clock, "now", lambda real=clock.now: real() + flow.STALE_SLOT_SECONDS + 60)
    real_charge, real_confirm = sandbox.charge, sandbox.confirm
    monkeypatch.setattr(sandbox, "charge", lambda request: calls.append("charge " + request.idempotency_key)
                        or real_charge(request))
    monkeypatch.setattr(sandbox, "confirm", lambda request: calls.append(request.idempotency_key)
                        or real_confirm(request))
    card = hosted.api.ok("POST", f"/v1/customers/{hosted.invoice['customer']}/payment_methods",
                         {"card": {"number": "4242424242424242", "cvc": "123", "exp_month": 12, "exp_year": 2040}})
    again = hosted.api.post(f"/v1/invoices/{hosted.invoice['id']}/pay", {"payment_method": card["id"]})
    assert again.status_code == 200
    assert calls[0] == calls[1] and calls[0].endswith("_confirm")  # the same confirmation, asked again
    assert f"charge vinr_{pending['id']}" not in calls  # never charged anew under the old attempt
    # The stateless sandbox, not told the customer's answer again, fails the confirmation; then
    # this /pay's own charge goes ahead.
    after = hosted.api.ok("GET", f"/v1/payments/{pending['id']}")
    assert after["status"] == "failed" and hosted.refreshed()["status"] == "paid"


def test_a_second_answer_to_the_challenge_gets_the_receipt_not_an_error(hosted: Hosted) -> None:
    """A double click on "Complete authentication", or the back button to the challenge
    after paying: the customer sees the receipt, and nothing is confirmed twice."""
    location = hosted.pay("4000000000003220").headers["Location"]
    first, second = _answer_challenge(hosted, location), _answer_challenge(hosted, location)
    assert first().status_code == 303
    again = second()
    assert again.status_code == 409
    assert "This invoice is already paid. Nothing more was charged." in text(again)
    back = hosted.client.get(location)
    assert back.status_code == 409 and 'id="receipt-title">Paid<' in text(back)
    charged = hosted.api.ok("GET", "/v1/payments", query_string={"invoice": hosted.invoice["id"]})["data"]
    assert [p["status"] for p in charged] == ["completed"]


def test_an_answer_while_the_other_is_confirming_is_told_so(app: Any, hosted: Hosted,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    location = hosted.pay("4000000000003220").headers["Location"]
    first, second = _answer_challenge(hosted, location), _answer_challenge(hosted, location)
    with app.app_context():
        sandbox = money_flow_of(current_app).processor(False)
    seen: list[Any] = []
    real_confirm = sandbox.confirm

    def second_click_meanwhile(request: Any) -> Any:
        monkeypatch.setattr(sandbox, "confirm", real_confirm)
        seen.append(second())
        return real_confirm(request)

    monkeypatch.setattr(sandbox, "confirm", second_click_meanwhile)
    assert first().status_code == 303
    assert seen[0].status_code == 303 and seen[0].headers["Location"].endswith(hosted.path)
    assert hosted.refreshed()["status"] == "paid"


def test_an_answer_finishes_a_dead_process_attempt_first(app: Any, hosted: Hosted, db_session: Any) -> None:
    """Another attempt's process died holding the invoice (a merchant's /pay, say). The
    customer's answer to the challenge finishes that attempt first, as a new payment would,
    instead of saying "under way" forever; it was charged, so nothing more is."""
    location = hosted.pay("4000000000003220").headers["Location"]
    answer = _answer_challenge(hosted, location)
    card = hosted.api.ok("POST", f"/v1/customers/{hosted.invoice['customer']}/payment_methods",
                         {"card": {"number": "4242424242424242", "cvc": "123", "exp_month": 12, "exp_year": 2040}})
    with app.app_context():
        invoice = db_session.get(Invoice, hosted.invoice["id"], populate_existing=True)
        dead = flow.take_slot(db_session, invoice, db_session.get(PaymentMethod, card["id"]), off_session=True)
        db_session.execute(sa.update(Payment).where(Payment.id == dead.id).values(updated=clock.now() - 600))
        db_session.commit()
    done = answer()
    assert done.status_code == 303 and "Payment received" in text(hosted.client.get(done.headers["Location"]))
    made = hosted.api.ok("GET", "/v1/payments", query_string={"invoice": hosted.invoice["id"]})["data"]
    assert sorted((p["status"], p["card"]["last4"]) for p in made) == [("completed", "4242"),
                                                                       ("requires_action", "3220")]


def _die() -> Any:
    raise SystemExit("the process died")


def test_paid_by_someone_else_while_the_card_was_saved(hosted: Hosted, monkeypatch: pytest.MonkeyPatch) -> None:
    """Saving a new card takes a processor call; the merchant records a payment meanwhile.
    Nothing is charged, and the customer sees the receipt, as after any paid invoice."""
    real_save = flow.save_card
    charged: list[str] = []

    def save_then_paid_elsewhere(session: Any, *args: Any, **kw: Any) -> Any:
        saved = real_save(session, *args, **kw)
        session.commit()
        hosted.api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}/pay", {"paid_out_of_band": True})
        return saved

    monkeypatch.setattr(flow, "save_card", save_then_paid_elsewhere)
    monkeypatch.setattr(flow, "charge", lambda *args, **kw: charged.append("charge"))
    response = hosted.pay()
    html = text(response)
    assert response.status_code == 409 and charged == []
    assert "This invoice is already paid. Nothing more was charged." in html and 'id="receipt-title">Paid<' in html
    payments = hosted.api.ok("GET", "/v1/payments", query_string={"invoice": hosted.invoice["id"]})["data"]
    assert [p["payment_method_type"] for p in payments] == ["out_of_band"]  # the merchant's, no card charge


def test_3ds_fail_shows_the_decline(hosted: Hosted) -> None:
    challenge = hosted.pay("4000000000003220")
    page = text(hosted.client.get(challenge.headers["Location"]))
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    failed = hosted.client.post(challenge.headers["Location"], data={"csrf_token": token,
                                                                     "fail": "Fail authentication"})
    assert "declined" in text(hosted.landed(failed))
    assert hosted.refreshed()["status"] == "open"


def test_pay_with_the_saved_card(hosted: Hosted, api: Any, customer: dict) -> None:
    pm = api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
                {"card": {"number": "4242424242424242", "cvc": "123", "exp_month": 12, "exp_year": 2040},
                 "set_default": True})
    assert "Visa ending in 4242" in text(hosted.page())
    response = hosted.client.post(hosted.path + "/pay", data={"csrf_token": hosted.csrf(), "method": pm["id"]})
    assert response.status_code == 303 and hosted.refreshed()["status"] == "paid"


def test_update_payment_method_sets_the_default(hosted: Hosted, api: Any, customer: dict) -> None:
    form = hosted.page("/payment-method")
    assert form.status_code == 200 and "Save" in text(form)
    response = hosted.client.post(hosted.path + "/payment-method", data={
        "csrf_token": hosted.csrf("/payment-method"), "card_number": "5555 5555 5555 4444", "expiry": "11/39",
        "cvc": "321", "name": "Jenny"})
    assert response.status_code == 303
    default = api.ok("GET", f"/v1/customers/{customer['id']}")["invoice_settings"]["default_payment_method"]
    methods = api.ok("GET", f"/v1/customers/{customer['id']}/payment_methods")["data"]
    assert [m["card"]["last4"] for m in methods if m["id"] == default] == ["4444"]


def test_update_payment_method_with_3ds(hosted: Hosted, api: Any, customer: dict) -> None:
    response = hosted.client.post(hosted.path + "/payment-method", data={
        "csrf_token": hosted.csrf("/payment-method"), "card_number": "4000000000003220", "expiry": "11/39",
        "cvc": "321", "name": "Jenny"})
    assert response.status_code == 303 and "/authenticate/" in response.headers["Location"]
    assert api.ok("GET", f"/v1/customers/{customer['id']}")["invoice_settings"]["default_payment_method"] is None
    page = text(hosted.client.get(response.headers["Location"]))
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    done = hosted.client.post(response.headers["Location"], data={"csrf_token": token, "complete": "x"})
    assert done.status_code == 303
    assert api.ok("GET", f"/v1/customers/{customer['id']}")["invoice_settings"]["default_payment_method"]


def test_void_is_a_neutral_410(hosted: Hosted, api: Any) -> None:
    token = hosted.csrf()
    api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}/void")
    response = hosted.page()
    assert response.status_code == 410 and "no longer payable" in text(response)
    assert "Card number" not in text(response)
    refused = hosted.client.post(hosted.path + "/pay", data={"csrf_token": token, "method": "new",
                                                             "card_number": "4242424242424242", "expiry": "12/40",
                                                             "cvc": "123", "name": "J"})
    assert refused.status_code == 410
    assert hosted.api.ok("GET", "/v1/payments")["data"] == []


def test_past_due_is_shown_and_still_payable(hosted: Hosted, api: Any, customer: dict, db_session: Any) -> None:
    from app.invoices.models import Invoice

    db_session.get(Invoice, hosted.invoice["id"]).due_date = 1_000_000
    db_session.flush()
    html = text(hosted.page())
    assert "Past due" in html and "Card number" in html
    assert hosted.pay().status_code == 303


def test_uncollectible_is_still_payable(hosted: Hosted, api: Any) -> None:
    api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}/mark_uncollectible")
    assert "Card number" in text(hosted.page())
    assert hosted.pay().status_code == 303 and hosted.refreshed()["status"] == "paid"


def test_posts_without_csrf_are_refused(hosted: Hosted) -> None:
    response = hosted.client.post(hosted.path + "/pay", data={"method": "new", "card_number": "4242424242424242",
                                                              "expiry": "12/40", "cvc": "123", "name": "J"})
    assert response.status_code == 400
    assert hosted.refreshed()["status"] == "open"


def test_merchant_and_customer_text_is_escaped(api: Any, client: Any, customer: dict) -> None:
    inv = make_hosted(api, customer["id"], lines=[("<script>alert(1)</script>", 100, 1)],
                      description='<img src=x onerror="alert(2)">', footer="<b>bold</b>")
    hosted = Hosted(client, api, inv)
    html = text(hosted.page())
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<b>bold</b>" not in html
    pdf_text = pdf_pages(hosted.page("/pdf").get_data())
    assert "<script>alert(1)</script>" in pdf_text  # shown as text, not interpreted


def pdf_pages(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_is_branded_extractable_named_and_kept(hosted: Hosted) -> None:
    response = hosted.page("/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert 'filename=invoice-ACME-0001.pdf' in response.headers["Content-Disposition"]
    content = response.get_data()
    words = pdf_pages(content)
    for expected in ("ACME-0001", "Acme GmbH", "Design work", "1,960.00"):
        assert expected in words, expected
    assert hosted.page("/pdf").get_data() == content  # the same document, the same bytes
    hosted.pay()
    receipt = pdf_pages(hosted.page("/pdf").get_data())
    assert "Paid" in receipt


def test_token_is_redacted_from_logs(hosted: Hosted, caplog: pytest.LogCaptureFixture) -> None:
    token = hosted.path.rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('127.0.0.1 - - "GET %s HTTP/1.1" 200 -', hosted.path)
        logging.getLogger("werkzeug").info(f'127.0.0.1 - - "GET {hosted.path}/pdf HTTP/1.1" 200 -')
    assert token not in caplog.text and "[redacted]" in caplog.text


def test_german_customer_gets_german_page_and_money(api: Any, client: Any) -> None:
    cust = api.ok("POST", "/v1/customers", {"email": "k@example.de", "preferred_locales": ["de-DE"]})
    hosted = Hosted(client, api, make_hosted(api, cust["id"]))
    html = text(hosted.page())
    assert 'lang="de"' in html and "Rechnung ACME-0001" in html and "Kartennummer" in html
    assert "1.960,00\xa0€" in html
    assert "Rechnung" in pdf_pages(hosted.page("/pdf").get_data())


def test_card_testing_is_refused_after_five_failures_before_the_processor(
        hosted: Hosted, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.payments.processor import SandboxProcessor

    calls: list[str] = []
    original = SandboxProcessor.charge

    def counting(self: Any, request: Any) -> Any:
        calls.append(request.processor_ref)
        return original(self, request)

    monkeypatch.setattr(SandboxProcessor, "charge", counting)
    for _ in range(5):
        assert hosted.pay("4000000000000002").status_code == 303
    assert len(calls) == 5
    refused = hosted.pay("4242424242424242")
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert len(calls) == 5 and hosted.refreshed()["status"] == "open"


def test_a_customer_who_mistyped_twice_can_still_pay(hosted: Hosted) -> None:
    assert "incorrect" in text(hosted.landed(hosted.pay("4242424242424241")))
    assert "declined" in text(hosted.landed(hosted.pay("4000000000000002")))
    assert hosted.pay().status_code == 303
    assert hosted.refreshed()["status"] == "paid"


def test_the_pdf_renderer_fetches_only_our_assets() -> None:
    from app.documents.service import AssetRefused, fetch_asset

    assert fetch_asset("vinr-asset:///static/pdf.css")["mime_type"] == "text/css"
    for url in ("file:///etc/passwd", "http://example.com/x.png", "https://127.0.0.1/", "vinr-asset:///static/../../wsgi.py",
                "vinr-asset:///themes/../app/config.py", "vinr-asset://evil/static/pdf.css", "data:text/html,<b>x</b>",
                "ftp://example.com/a"):
        with pytest.raises(AssetRefused):
            fetch_asset(url)


def test_pdf_with_hostile_markup_never_fetches_outside(api: Any, client: Any, customer: dict,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import app.documents.service as documents

    seen: list[str] = []
    original = documents.fetch_asset

    def spy(url: str) -> Any:
        seen.append(url)
        return original(url)

    monkeypatch.setattr(documents, "fetch_asset", spy)
    monkeypatch.setattr(documents, "_per_thread", threading.local())  # pdf.css fetched anew
    inv = make_hosted(api, customer["id"], lines=[('<img src="http://evil.test/x.png">', 100, 1)],
                      footer='<link rel="stylesheet" href="file:///etc/passwd">')
    hosted = Hosted(client, api, inv)
    assert hosted.page("/pdf").status_code == 200
    assert seen and all(u.startswith("vinr-asset:") for u in seen)


def test_gunicorn_style_access_log_atoms_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    from app.portal import install_log_redaction

    install_log_redaction()
    logger = logging.getLogger("gunicorn.access")
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logger.info('%(h)s "%(r)s" %(s)s', {"h": "127.0.0.1", "r": "GET /i/inv_abc/eyJpIjoi.SECRET HTTP/1.1",
                                             "s": "200"})
    assert "SECRET" not in caplog.text and "/i/inv_abc/[redacted]" in caplog.text


def test_decline_reasons_are_the_customers_language_and_say_declined(api: Any, client: Any) -> None:
    hosted = Hosted(client, api, make_hosted(api, api.ok("POST", "/v1/customers", {"email": "a@example.com"})["id"]))
    english = text(hosted.landed(hosted.pay("4000000000009995")))
    assert "Your card was declined: it has insufficient funds." in english
    assert "Your card was declined: Your card" not in english  # no processor text glued on
    cust = api.ok("POST", "/v1/customers", {"email": "k@example.de", "preferred_locales": ["de"]})
    german = Hosted(client, api, make_hosted(api, cust["id"]))
    html = text(german.landed(german.pay("4000000000000002")))
    assert "Ihre Karte wurde abgelehnt." in html and "declined" not in html.split('role="alert"', 1)[1][:200]


def test_a_declined_card_never_becomes_the_default(hosted: Hosted, api: Any, customer: dict) -> None:
    good = api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
                  {"card": {"number": "4242424242424242", "cvc": "123", "exp_month": 12, "exp_year": 2040},
                   "set_default": True})
    assert hosted.pay("4000000000000002", save=True).status_code == 303
    assert api.ok("GET", f"/v1/customers/{customer['id']}")["invoice_settings"]["default_payment_method"] == good["id"]
    assert hosted.pay("5555555555554444", save=True).status_code == 303
    default = api.ok("GET", f"/v1/customers/{customer['id']}")["invoice_settings"]["default_payment_method"]
    methods = {m["id"]: m["card"]["last4"] for m in api.ok(
        "GET", f"/v1/customers/{customer['id']}/payment_methods")["data"]}
    assert methods[default] == "4444"


def test_on_session_3ds_is_one_attempt_and_not_a_failure(hosted: Hosted, api: Any) -> None:
    challenge = hosted.pay("4000000000003220")
    page = text(hosted.client.get(challenge.headers["Location"]))
    csrf = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    hosted.client.post(challenge.headers["Location"], data={"csrf_token": csrf, "complete": "x"})
    inv = hosted.refreshed()
    assert inv["status"] == "paid" and inv["attempt_count"] == 1
    types = [e["type"] for e in api.ok("GET", "/v1/events", query_string={"limit": 100})["data"]]
    assert "invoice.payment_action_required" in types and "invoice.payment_failed" not in types


def test_a_crafted_link_cannot_show_a_payment_notice(hosted: Hosted) -> None:
    for query in ("done=paid", "done=saved", "declined=1"):
        html = text(hosted.client.get(hosted.path + "?" + query))
        assert "Payment received" not in html and "was updated" not in html and 'role="alert"' not in html


def test_a_void_invoice_hands_out_no_pdf(hosted: Hosted, api: Any) -> None:
    assert hosted.page("/pdf").status_code == 200
    api.ok("POST", f"/v1/invoices/{hosted.invoice['id']}/void")
    assert hosted.page("/pdf").status_code == 410


def test_behind_a_proxy_the_limit_counts_the_customers_address(tmp_path: Any) -> None:
    from app import create_app
    from app.config import ConfigError

    base = {"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "SECRET_KEY": "s" * 32}
    with pytest.raises(ConfigError, match="VINR_PROXY_HOPS"):
        create_app({**base, "PROXY_HOPS": 9}, instance_path=str(tmp_path / "a"))
    proxied = create_app({**base, "PROXY_HOPS": 1}, instance_path=str(tmp_path / "b"))
    direct = create_app(base, instance_path=str(tmp_path / "c"))
    from app.portal.card_testing import client_address

    headers = {"X-Forwarded-For": "203.0.113.7"}
    seen: dict[str, str] = {}
    for name, app in (("proxied", proxied), ("direct", direct)):
        @app.get("/whoami")
        def whoami() -> str:
            return client_address()
        seen[name] = app.test_client().get("/whoami", headers=headers,
                                           environ_base={"REMOTE_ADDR": "10.0.0.1"}).get_data(as_text=True)
    assert seen == {"proxied": "203.0.113.7", "direct": "10.0.0.1"}


@pytest.mark.parametrize("suffix", ["%00", "/authenticate/pay_%00", "/payment-method/authenticate/%00", "/pdf%00"])
def test_a_nul_in_a_link_is_the_plain_404(hosted: Hosted, suffix: str) -> None:
    response = hosted.client.get(hosted.path + suffix)
    assert response.status_code == 404
    assert "Acme" not in text(response)


def test_every_card_problem_is_named_at_once_on_its_field(hosted: Hosted) -> None:
    html = text(hosted.landed(hosted.pay("4242424242424241", expiry="01 / 21", cvc="12", name="")))
    for field, message in (("card_number", "Your card number is incorrect."), ("expiry", "Your card has expired."),
                           ("cvc", "The security code must be 3 digits."), ("name", "Enter the name on your card.")):
        assert f'id="{field}-error">{message}<' in html, (field, message)
    assert hosted.api.ok("GET", "/v1/payments")["data"] == []


def test_card_problems_are_in_the_customers_language(api: Any, client: Any) -> None:
    customer = api.ok("POST", "/v1/customers", {"email": "k@example.de", "preferred_locales": ["de"]})
    hosted = Hosted(client, api, make_hosted(api, customer["id"]))
    html = text(hosted.landed(hosted.pay("4242424242424241", expiry="01 / 21")))
    assert "Ihre Kartennummer ist nicht korrekt." in html and "Ihre Karte ist abgelaufen." in html
    assert "Your card" not in html


def test_an_error_page_before_the_invoice_is_known_speaks_the_browsers_language(client: Any) -> None:
    response = client.get("/i/inv_unknown/not-a-token", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert '<html lang="de">' in page and "Seite nicht gefunden" in page
