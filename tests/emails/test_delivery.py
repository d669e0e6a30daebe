"""Emails reach a real mail server, once, through outages and refusals (SPEC §5)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.emails.models import Email
from tests.branding.images import data_uri, draw
from tests.conftest import Api
from tests.emails.smtp import SmtpServer

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}



def open_invoice(api: Api, customer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    invoice = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                              "days_until_due": 14, **extra})
    api.ok("POST", f"/v1/invoices/{invoice['id']}/lines", {"description": "Design work", "unit_amount": 120000})
    return api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize", {"auto_advance": False})


def emails(db_session: Any, account_id: str) -> list[Email]:
    return list(db_session.execute(sa.select(Email).where(Email.account_id == account_id).order_by(Email.created)
                                   .execution_options(populate_existing=True)).scalars())


def test_send_emails_the_invoice_with_its_link(api: Api, customer: dict[str, Any], smtp: SmtpServer,
                                               run_jobs: Any, db_session: Any) -> None:
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    assert smtp.mailbox.messages == []  # not inside the request: the worker sends it
    run_jobs()
    [message] = smtp.mailbox.messages
    assert message["To"] == customer["email"]
    assert message["From"].addresses[0].display_name == "Acme GmbH"
    assert invoice["number"] in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert invoice["hosted_invoice_url"] in text and invoice["hosted_invoice_url"] in html
    [email] = emails(db_session, api.account_id)
    assert message["Message-ID"] == email.message_id
    [event] = api.ok("GET", "/v1/events", query_string={"type": "email.sent"})["data"]
    assert event["data"]["id"] == email.id and event["data"]["status"] == "sent"
    assert event["data"]["invoice"] == invoice["id"]


def test_the_email_comes_from_the_merchants_display_name(api: Api, customer: dict[str, Any], smtp: SmtpServer,
                                                         run_jobs: Any) -> None:
    api.ok("POST", "/v1/account/branding", {"display_name": "Acme Design Studio"})
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    [message] = smtp.mailbox.messages
    assert message["From"].addresses[0].display_name == "Acme Design Studio"
    assert "Acme Design Studio" in message["Subject"]


def test_emails_go_to_the_customers_address_as_it_is_now(api: Api, customer: dict[str, Any], smtp: SmtpServer,
                                                          run_jobs: Any) -> None:
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/customers/{customer['id']}", {"email": "jenny.new@example.com"})
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    [message] = smtp.mailbox.messages
    assert message["To"] == "jenny.new@example.com"
    assert api.ok("GET", f"/v1/invoices/{invoice['id']}")["customer_email"] == customer["email"]  # as finalized


def test_a_customer_who_removed_their_address_is_not_written_to(api: Api, customer: dict[str, Any],
                                                                smtp: SmtpServer, run_jobs: Any) -> None:
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/customers/{customer['id']}", {"email": None})
    refused = api.post(f"/v1/invoices/{invoice['id']}/send")
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "customer_email_missing"
    run_jobs()
    assert smtp.mailbox.messages == []


def test_an_address_given_after_finalizing_is_sent_to(api: Api, smtp: SmtpServer, run_jobs: Any) -> None:
    customer = api.ok("POST", "/v1/customers", {"name": "No Email Yet"})
    invoice = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})  # charge_automatically: no email needed
    api.ok("POST", f"/v1/invoices/{invoice['id']}/lines", {"unit_amount": 5000})
    api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize", {"auto_advance": False})
    api.ok("POST", f"/v1/customers/{customer['id']}", {"email": "later@example.com"})
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    [message] = smtp.mailbox.messages
    assert message["To"] == "later@example.com"


def test_a_mail_server_that_is_down_is_retried_and_the_email_arrives_once(
        api: Api, customer: dict[str, Any], smtp: SmtpServer, run_jobs: Any, db_session: Any) -> None:
    smtp.stop()
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    [email] = emails(db_session, api.account_id)
    assert email.status.value == "queued" and email.attempts == 1 and email.last_error
    smtp.start()
    run_jobs()
    assert smtp.mailbox.messages == []  # the retry waits its turn (about 30 s)
    api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 60})
    run_jobs()
    api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 3600})
    run_jobs()
    [message] = smtp.mailbox.messages
    assert message["Message-ID"] == email.message_id
    assert emails(db_session, api.account_id)[0].status.value == "sent"


def test_a_4xx_answer_is_retried(api: Api, customer: dict[str, Any], smtp: SmtpServer, run_jobs: Any,
                                 db_session: Any) -> None:
    smtp.mailbox.answer_data = "451 Try again later"
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    [email] = emails(db_session, api.account_id)
    assert email.status.value == "queued" and "451" in (email.last_error or "")
    smtp.mailbox.answer_data = None
    api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 60})
    run_jobs()
    assert len(smtp.mailbox.messages) == 1


def test_a_refused_recipient_fails_that_email_only(api: Api, smtp: SmtpServer, run_jobs: Any,
                                                   db_session: Any) -> None:
    bad = api.ok("POST", "/v1/customers", {"email": "nobody@example.com"})
    good = api.ok("POST", "/v1/customers", {"email": "jenny@example.com"})
    smtp.mailbox.refuse_rcpt["nobody@example.com"] = "550 No such user here"
    for customer in (bad, good):
        api.ok("POST", f"/v1/invoices/{open_invoice(api, customer)['id']}/send")
    run_jobs()
    assert [m["To"] for m in smtp.mailbox.messages] == ["jenny@example.com"]
    [failed] = api.ok("GET", "/v1/events", query_string={"type": "email.failed"})["data"]
    assert failed["data"]["to"] == "nobody@example.com" and "550" in failed["data"]["error"]
    statuses = {e.to_address: e.status.value for e in emails(db_session, api.account_id)}
    assert statuses == {"nobody@example.com": "failed", "jenny@example.com": "sent"}


def test_a_paid_invoice_gets_a_receipt(api: Api, customer: dict[str, Any], smtp: SmtpServer, run_jobs: Any) -> None:
    api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods", {"card": CARD, "set_default": True})
    invoice = open_invoice(api, customer)
    assert api.ok("POST", f"/v1/invoices/{invoice['id']}/pay")["status"] == "paid"
    run_jobs()
    [receipt] = smtp.mailbox.messages
    text = receipt.get_body(preferencelist=("plain",)).get_content()
    assert "4242" in text and invoice["number"] in receipt["Subject"]
    assert f"{invoice['hosted_invoice_url']}/pdf" in text


def test_without_a_mail_server_emails_stay_in_the_outbox(app: Flask, api: Api, customer: dict[str, Any],
                                                         run_jobs: Any, db_session: Any) -> None:
    assert app.config["SMTP_URL"] is None
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    [email] = emails(db_session, api.account_id)
    assert (email.status.value, email.sent_via) == ("sent", "outbox")
    assert invoice["number"] in (email.subject or "") and invoice["hosted_invoice_url"] in (email.text or "")


def test_a_newline_in_the_merchants_name_never_makes_a_header(api: Api, customer: dict[str, Any],
                                                              smtp: SmtpServer, run_jobs: Any,
                                                              db_session: Any) -> None:
    from app.accounts.models import Account

    account = db_session.get(Account, api.account_id)
    account.name = "Acme\r\nBcc: victim@example.com"
    db_session.flush()
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    [message] = smtp.mailbox.messages
    assert message["Bcc"] is None
    assert "\n" not in message["From"] and "\n" not in message["Subject"]


def test_the_merchants_logo_goes_inline_with_the_html_at_every_try(
        api: Api, customer: dict[str, Any], smtp: SmtpServer, run_jobs: Any, db_session: Any) -> None:
    logo = draw("PNG", (120, 48))
    api.ok("POST", "/v1/account/branding", {"logo": data_uri(logo, "image/png")})
    smtp.mailbox.answer_data = "451 Try again later"  # the first try renders and keeps the parts
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    smtp.mailbox.answer_data = None
    api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 60})
    run_jobs()
    [message] = smtp.mailbox.messages
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    [image] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    content_id = image["Content-ID"].strip("<>")
    assert f'src="cid:{content_id}"' in html.get_content()
    assert image.get_content() == logo and image.get_content_disposition() == "inline"
    assert content_id.endswith(message["Message-ID"].strip("<>"))
    text = message.get_body(preferencelist=("plain",))
    assert text is not None and invoice["hosted_invoice_url"] in text.get_content()


@pytest.mark.parametrize(("size", "shown"), [((120, 48), (120, 48)), ((1000, 50), (240, 12)), ((32, 32), (32, 32)),
                                             ((100, 400), (12, 48))])
def test_the_logo_is_shown_within_the_header_in_its_proportions(api: Api, customer: dict[str, Any],
                                                                smtp: SmtpServer, run_jobs: Any,
                                                                size: tuple[int, int], shown: tuple[int, int]) -> None:
    api.ok("POST", "/v1/account/branding", {"logo": data_uri(draw("PNG", size), "image/png")})
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    [message] = smtp.mailbox.messages
    html = message.get_body(preferencelist=("html",))
    assert html is not None and f'width="{shown[0]}" height="{shown[1]}"' in html.get_content()


def test_with_a_logo_the_html_and_its_image_are_one_alternative(api: Api, customer: dict[str, Any],
                                                                smtp: SmtpServer, run_jobs: Any) -> None:
    api.ok("POST", "/v1/account/branding", {"logo": data_uri(draw("PNG"), "image/png")})
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    [message] = smtp.mailbox.messages
    assert [part.get_content_type() for part in message.walk()] == [  # the invoice's PDF attached after it
        "multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png",
        "application/pdf"]


def test_a_logo_set_after_the_first_try_is_not_attached(
        api: Api, customer: dict[str, Any], smtp: SmtpServer, run_jobs: Any) -> None:
    smtp.mailbox.answer_data = "451 Try again later"
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()  # rendered, with the name in the header, and kept
    api.ok("POST", "/v1/account/branding", {"logo": data_uri(draw("PNG"), "image/png")})
    smtp.mailbox.answer_data = None
    api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 60})
    run_jobs()
    [message] = smtp.mailbox.messages
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"]
