"""SPEC §5 emails as the customer reads them: subject with the number and the merchant,
hosted link in the text part, amounts and dates in the customer's language, branded
HTML with every merchant and customer string escaped, and "Test mode" only in test mode
(SPEC §7). Composed in an app context without a request, as the worker does."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask, has_request_context

from app.emails.compose import Composed, InlineLogo, choose_locale, compose
from app.invoices.models import Invoice
from app.payments.models import Payment
from tests.conftest import Api, make_merchant

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
EN_DATE = re.compile(r"(January|February|March|April|May|June|July|August|September|October|November|December)"
                     r" \d{1,2}, \d{4}")
DE_DATE = re.compile(r"\d{1,2}\. (Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November"
                     r"|Dezember) \d{4}")
NBSP = "\xa0"


def finalized(api: Api, customer_id: str, *, unit_amount: int = 120000) -> dict[str, Any]:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer_id, "collection_method": "send_invoice",
                                          "days_until_due": 14})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines",
           {"description": "Design work", "unit_amount": unit_amount, "quantity": 1})
    return api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})


def paid(api: Api, customer_id: str, inv: dict[str, Any]) -> dict[str, Any]:
    api.ok("POST", f"/v1/customers/{customer_id}/payment_methods", {"card": CARD, "set_default": True})
    return api.ok("POST", f"/v1/invoices/{inv['id']}/pay")


def composed(app: Flask, db_session: Any, kind: str, inv: dict[str, Any], locale: str = "en",
             **kw: Any) -> Composed:
    invoice = db_session.get(Invoice, inv["id"])
    if kind == "receipt":
        kw["payment"] = db_session.get(Payment, inv["payment"])
    with app.app_context():  # no request: the worker has none
        assert not has_request_context()
        return compose(kind, invoice=invoice, locale=locale, hosted_url=inv["hosted_invoice_url"],
                       pdf_url=inv["invoice_pdf"], **kw)


@pytest.fixture()
def german(api: Api) -> dict[str, Any]:
    return api.ok("POST", "/v1/customers", {"email": "kunde@example.de", "name": "Klara Kunde",
                                            "preferred_locales": ["de-DE"]})


def lines_of(text: str) -> list[str]:
    return text.splitlines()


# The invoice, on /send


def test_invoice_email_in_english(app: Flask, db_session: Any, api: Api, customer: dict[str, Any]) -> None:
    inv = finalized(api, customer["id"])
    mail = composed(app, db_session, "invoice", inv)
    assert mail.subject == f"[Test mode] Invoice {inv['number']} from Acme GmbH"
    assert inv["hosted_invoice_url"] in lines_of(mail.text)  # on a line of its own
    assert inv["invoice_pdf"] in lines_of(mail.text)
    assert "Hello Jenny Rosen," in mail.text
    assert "Amount due: €1,200.00" in mail.text
    due = re.search(r"Due date: (.+)", mail.text)
    assert due and EN_DATE.fullmatch(due[1])
    assert "Pay invoice" in mail.html and f'href="{inv["hosted_invoice_url"]}"' in mail.html
    assert "€1,200.00" in mail.html and due[1] in mail.html and '<html lang="en">' in mail.html


def test_invoice_email_in_german(app: Flask, db_session: Any, api: Api, german: dict[str, Any]) -> None:
    inv = finalized(api, german["id"])
    invoice = db_session.get(Invoice, inv["id"])
    locale = choose_locale(invoice.customer.preferred_locales)
    assert locale == "de"
    mail = composed(app, db_session, "invoice", inv, locale)
    assert mail.subject == f"[Testmodus] Rechnung {inv['number']} von Acme GmbH"
    assert "Guten Tag Klara Kunde," in mail.text
    assert "Acme GmbH hat Ihnen die Rechnung" in mail.text
    assert f"Fälliger Betrag: 1.200,00{NBSP}€" in mail.text
    due = re.search(r"Fällig am: (.+)", mail.text)
    assert due and DE_DATE.fullmatch(due[1])
    assert "Rechnung online ansehen und bezahlen:" in mail.text and inv["hosted_invoice_url"] in lines_of(mail.text)
    assert "Rechnung bezahlen" in mail.html and f"1.200,00{NBSP}€" in mail.html and '<html lang="de">' in mail.html
    for english in ("Invoice", "Amount due", "Due date", "Hello", "Test mode", "Pay invoice"):
        assert english not in mail.text and english not in mail.html


def test_an_unsupported_locale_reads_english(app: Flask, db_session: Any, api: Api,
                                             customer: dict[str, Any]) -> None:
    mail = composed(app, db_session, "invoice", finalized(api, customer["id"]), "fr")
    assert mail.subject.startswith("[Test mode] Invoice ") and "Amount due" in mail.text


def test_choose_locale_takes_the_first_supported_preference() -> None:
    assert choose_locale(["fr-FR", "de-DE", "en"]) == "de"
    assert choose_locale(["de_AT"]) == "de"
    assert choose_locale(["fr", "es"]) == "en"
    assert choose_locale([]) == "en"


# The receipt


def test_receipt_shows_the_card_and_links_the_pdf(app: Flask, db_session: Any, api: Api,
                                                   customer: dict[str, Any]) -> None:
    inv = paid(api, customer["id"], finalized(api, customer["id"]))
    mail = composed(app, db_session, "receipt", inv)
    assert mail.subject == f"[Test mode] Receipt for invoice {inv['number']} from Acme GmbH"
    assert "Thank you for your payment of €1,200.00 to Acme GmbH." in mail.text
    assert "Amount paid: €1,200.00" in mail.text and "Paid with: Visa •••• 4242" in mail.text
    paid_on = re.search(r"Payment date: (.+)", mail.text)
    assert paid_on and EN_DATE.fullmatch(paid_on[1])
    assert inv["invoice_pdf"] in lines_of(mail.text) and inv["hosted_invoice_url"] in lines_of(mail.text)
    assert "Visa •••• 4242" in mail.html and f'href="{inv["invoice_pdf"]}"' in mail.html
    assert "View invoice" in mail.html and "Pay invoice" not in mail.html


def test_receipt_in_german(app: Flask, db_session: Any, api: Api, german: dict[str, Any]) -> None:
    inv = paid(api, german["id"], finalized(api, german["id"]))
    mail = composed(app, db_session, "receipt", inv, "de")
    assert mail.subject == f"[Testmodus] Zahlungsbestätigung für Rechnung {inv['number']} von Acme GmbH"
    assert f"Vielen Dank für Ihre Zahlung von 1.200,00{NBSP}€ an Acme GmbH." in mail.text
    assert "Bezahlt mit: Visa •••• 4242" in mail.text and "PDF herunterladen:" in mail.text
    paid_on = re.search(r"Zahlungsdatum: (.+)", mail.text)
    assert paid_on and DE_DATE.fullmatch(paid_on[1])
    assert "Rechnung ansehen" in mail.html and "PDF herunterladen" in mail.html


def test_a_receipt_needs_the_payment_of_its_invoice(app: Flask, db_session: Any, api: Api,
                                                    customer: dict[str, Any]) -> None:
    inv = finalized(api, customer["id"])
    with app.app_context(), pytest.raises(ValueError, match="receipt"):
        compose("receipt", invoice=db_session.get(Invoice, inv["id"]), locale="en",
                hosted_url=inv["hosted_invoice_url"], pdf_url=inv["invoice_pdf"])


# Reminders


def test_reminders_before_and_after_the_due_date(app: Flask, db_session: Any, api: Api,
                                                 customer: dict[str, Any]) -> None:
    inv = finalized(api, customer["id"])
    number = inv["number"]
    before = composed(app, db_session, "reminder_before", inv, days=3)
    assert before.subject == f"[Test mode] Reminder: invoice {number} from Acme GmbH is due in 3 days"
    assert f"Invoice {number} from Acme GmbH is due in 3 days." in before.text
    assert "Amount due: €1,200.00" in before.text and inv["hosted_invoice_url"] in lines_of(before.text)
    assert "Pay invoice" in before.html
    tomorrow = composed(app, db_session, "reminder_before", inv, days=1)
    assert tomorrow.subject.endswith("is due tomorrow") and "is due tomorrow." in tomorrow.text
    today = composed(app, db_session, "reminder_before", inv, days=0)
    assert today.subject.endswith("is due today")
    after = composed(app, db_session, "reminder_after", inv, days=7)
    assert after.subject == f"[Test mode] Invoice {number} from Acme GmbH is 7 days overdue"
    assert "was due 7 days ago and is still unpaid." in after.text
    assert inv["hosted_invoice_url"] in lines_of(after.text) and EN_DATE.search(after.text)
    yesterday = composed(app, db_session, "reminder_after", inv, days=1)
    assert yesterday.subject.endswith("is 1 day overdue") and "was due yesterday" in yesterday.text


def test_reminders_in_german(app: Flask, db_session: Any, api: Api, german: dict[str, Any]) -> None:
    inv = finalized(api, german["id"])
    number = inv["number"]
    before = composed(app, db_session, "reminder_before", inv, "de", days=3)
    assert before.subject == f"[Testmodus] Erinnerung: Rechnung {number} von Acme GmbH ist in 3 Tagen fällig"
    assert f"Fälliger Betrag: 1.200,00{NBSP}€" in before.text and DE_DATE.search(before.text)
    assert "Falls Sie bereits bezahlt haben" in before.text
    assert composed(app, db_session, "reminder_before", inv, "de", days=1).subject.endswith("ist morgen fällig")
    after = composed(app, db_session, "reminder_after", inv, "de", days=7)
    assert after.subject == f"[Testmodus] Rechnung {number} von Acme GmbH ist seit 7 Tagen überfällig"
    assert "war vor 7 Tagen fällig und ist noch nicht bezahlt" in after.text and "Rechnung bezahlen" in after.html
    assert composed(app, db_session, "reminder_after", inv, "de", days=1).subject.endswith("seit 1 Tag überfällig")


def test_a_reminder_needs_its_days(app: Flask, db_session: Any, api: Api, customer: dict[str, Any]) -> None:
    inv = finalized(api, customer["id"])
    with pytest.raises(ValueError, match="days"):
        composed(app, db_session, "reminder_before", inv)
    with pytest.raises(ValueError, match="days"):
        composed(app, db_session, "reminder_after", inv, days=0)


def test_a_request_to_authenticate_in_english_and_german(app: Flask, db_session: Any, api: Api,
                                                         customer: dict[str, Any], german: dict[str, Any]) -> None:
    inv = finalized(api, customer["id"])
    payment = Payment(id="pay_x", invoice_id=inv["id"], amount=inv["amount_due"], currency="eur",
                      failure_code="authentication_required")
    english = composed(app, db_session, "payment_action_required", inv, payment=payment)
    assert english.subject == f"[Test mode] Action needed to pay invoice {inv['number']} from Acme GmbH"
    assert "Your bank asks you to confirm the payment" in english.text and inv["hosted_invoice_url"] in english.text
    assert "Complete payment" in english.html
    no_card = composed(app, db_session, "payment_action_required", inv)
    assert "could not be charged automatically" in no_card.text and "bank" not in no_card.text
    deutsch = composed(app, db_session, "payment_action_required", finalized(api, german["id"]), "de",
                       payment=payment)
    assert deutsch.subject.startswith("[Testmodus] Handlungsbedarf zur Zahlung der Rechnung")
    assert "Ihre Bank bittet Sie" in deutsch.text and "Zahlung abschließen" in deutsch.html


# Names, escaping and test mode


def test_merchant_and_customer_text_is_escaped_in_html(app: Flask, client: Any, db_session: Any) -> None:
    evil = make_merchant(client, db_session, name="<script>alert(1)</script>", prefix="EVIL")
    cust = evil.test.ok("POST", "/v1/customers", {"email": "x@example.com", "name": "<img src=x onerror=alert(2)>"})
    inv = finalized(evil.test, cust["id"])
    for kind, kw in (("invoice", {}), ("reminder_before", {"days": 3}), ("reminder_after", {"days": 7})):
        mail = composed(app, db_session, kind, inv, **kw)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.html and "<script" not in mail.html
        assert "&lt;img src=x onerror=alert(2)&gt;" in mail.html and "<img" not in mail.html
        assert "<script>alert(1)</script>" in mail.subject  # plain text, as a header carries it
        assert "Hello <img src=x onerror=alert(2)>," in mail.text  # text/plain is not HTML


def test_the_subject_is_one_line_whatever_the_merchant_is_called(app: Flask, client: Any, db_session: Any) -> None:
    shady = make_merchant(client, db_session, name="Acme\r\nBcc: victim@example.com\nGmbH", prefix="SHADY")
    cust = shady.test.ok("POST", "/v1/customers", {"email": "x@example.com"})
    inv = finalized(shady.test, cust["id"])
    assert "\n" in db_session.get(Invoice, inv["id"]).account.name  # the name really holds line breaks
    for kind, kw in (("invoice", {}), ("reminder_before", {"days": 3}), ("reminder_after", {"days": 7})):
        subject = composed(app, db_session, kind, inv, **kw).subject
        assert "\r" not in subject and "\n" not in subject
        assert inv["number"] in subject and "Acme Bcc: victim@example.com GmbH" in subject


def test_branding_colours_and_support_details(app: Flask, db_session: Any, api: Api, customer: dict[str, Any]) -> None:
    api.ok("POST", "/v1/account/branding", {"display_name": "Acme Design", "primary_color": "#0b6e4f",
                                            "support_email": "help@acme.example"})
    inv = finalized(api, customer["id"])
    mail = composed(app, db_session, "invoice", inv)
    assert mail.subject == f"[Test mode] Invoice {inv['number']} from Acme Design"  # the display name
    assert "background-color:#0b6e4f" in mail.html  # header band and button in the brand colour
    assert "<style" not in mail.html and "var(--" not in mail.html  # inline styles only
    assert "help@acme.example" in mail.text and 'href="mailto:help@acme.example"' in mail.html


def test_a_live_invoice_never_says_test_mode(app: Flask, db_session: Any, merchant: Any) -> None:
    cust = merchant.live.ok("POST", "/v1/customers", {"email": "buyer@example.com", "name": "Buyer",
                                                      "preferred_locales": ["de"]})
    inv = finalized(merchant.live, cust["id"])
    assert inv["livemode"] is True
    for locale, words in (("en", "Test mode"), ("de", "Testmodus")):
        for kind, kw in (("invoice", {}), ("reminder_before", {"days": 3}), ("reminder_after", {"days": 7})):
            mail = composed(app, db_session, kind, inv, locale, **kw)
            assert inv["number"] in mail.subject and not mail.subject.startswith("[")
            assert words not in mail.subject + mail.text + mail.html and "test-mode" not in mail.html


def test_test_mode_is_said_in_every_part(app: Flask, db_session: Any, api: Api, customer: dict[str, Any]) -> None:
    inv = finalized(api, customer["id"])
    mail = composed(app, db_session, "reminder_after", inv, days=7)
    assert mail.subject.startswith("[Test mode] ")
    assert "Test mode · This invoice was created in test mode: no real money moves" in mail.text
    assert 'class="test-mode"' in mail.html and "no real money moves" in mail.html
    assert "4242 4242 4242 4242" not in mail.html  # the page's test cards are not in emails


def test_the_logo_replaces_the_name_in_the_header_when_the_message_carries_it(
        app: Flask, db_session: Any, api: Api, customer: dict[str, Any]) -> None:
    api.ok("POST", "/v1/account/branding", {"display_name": "Acme <Design>"})
    inv = finalized(api, customer["id"])
    logo = InlineLogo(b"", "image/png", "logo.abc@mail.example", width=120, height=48)
    with_logo = composed(app, db_session, "invoice", inv, logo=logo)
    assert '<img src="cid:logo.abc@mail.example" alt="Acme &lt;Design&gt;" width="120" height="48"' in with_logo.html
    assert "Acme &lt;Design&gt;</td>" not in with_logo.html
    without = composed(app, db_session, "invoice", inv)
    assert "cid:" not in without.html and "Acme &lt;Design&gt;</td>" in without.html
    assert with_logo.text == without.text  # the text part names the merchant either way
