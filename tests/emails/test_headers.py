"""Every name and address in an email header is literal text (SPEC §5): nothing a merchant or a
customer gives can add, split or change a header of the emails VINR sends. On the real mail
server, each test checks the exact set of headers received and the envelope.

The attack: an RFC 2047 encoded word (``=?utf-8?b?...?=``) whose decoded text holds line
breaks and more headers. It has no control character for a schema to refuse, and Python's
email package before 3.11.10 / 3.12.5 decodes it and writes the line breaks out (CVE-2024-6923).
"""

from __future__ import annotations

import base64
import logging
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.accounts.models import Branding
from app.customers.models import Customer
from app.emails import message as emails_message
from app.emails.models import Email
from app.emails.transport import hand_over
from app.invoices.models import Invoice
from tests.conftest import Api
from tests.emails.smtp import SmtpServer
from tests.receiver import Receiver, Reply

INJECTED = "Your Bank <security@bank.example>\r\nReply-To: attacker@evil.example\r\nBcc: victim@evil.example"
INVOICE_HEADERS = ["Content-Type", "Date", "From", "MIME-Version", "Message-ID", "Subject", "To"]
WORD_JOINER = "\u2060"  # what VINR puts between "=" and "?" so that no reader decodes them


def encoded_word(text: str, encoding: str = "b") -> str:
    """``text`` as one RFC 2047 encoded word, the way an attacker would write it."""
    if encoding == "b":
        return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="
    safe = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
    body = "".join(chr(byte) if byte in safe else "_" if byte == 0x20 else f"={byte:02X}" for byte in text.encode())
    return f"=?utf-8?q?{body}?="


ENCODED_WORDS = [encoded_word(INJECTED, "b"), encoded_word(INJECTED, "q"),
                 encoded_word("Your Bank\r\nBcc: victim@evil.example\r\n\r\nfake body", "b")]



def send_invoice(api: Api, customer: dict[str, Any]) -> dict[str, Any]:
    invoice = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                              "days_until_due": 14})
    api.ok("POST", f"/v1/invoices/{invoice['id']}/lines", {"description": "Design work", "unit_amount": 120000})
    invoice = api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize", {"auto_advance": False})
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    return invoice


def received(app: Flask, smtp: SmtpServer, *, to: str, headers: list[str]) -> EmailMessage:
    """The one message the server took, after checking that its headers are exactly
    ``headers`` (each once), that it went to ``to`` only, and from VINR's own address."""
    [message] = smtp.mailbox.messages
    assert sorted(message.keys()) == sorted(headers)
    assert smtp.mailbox.recipients == [[to]]
    assert message["To"].addresses[0].addr_spec == to
    assert message["From"].addresses[0].addr_spec == app.config["EMAIL_FROM"]
    return message


def as_read(text: str) -> str:
    """What a reader sees: the word joiner is invisible, and Python's reader puts a space
    between the encoded words of a long display name (which RFC 2047 says to drop)."""
    return "".join(text.replace(WORD_JOINER, "").split())


def emails(db_session: Any, account_id: str) -> list[Email]:
    return list(db_session.execute(sa.select(Email).where(Email.account_id == account_id).order_by(Email.created)
                                   .execution_options(populate_existing=True)).scalars())


@pytest.mark.parametrize("name", [*ENCODED_WORDS, f"Acme {ENCODED_WORDS[0]} GmbH", f"Acme{ENCODED_WORDS[1]}",
                                  f'"{ENCODED_WORDS[0]}" <x@evil.example>'])
def test_a_display_name_with_an_encoded_word_is_sent_as_its_characters(
        app: Flask, api: Api, customer: dict[str, Any], smtp: SmtpServer, run_jobs: Any, name: str) -> None:
    api.ok("POST", "/v1/account/branding", {"display_name": name})
    invoice = send_invoice(api, customer)
    run_jobs()
    message = received(app, smtp, to=customer["email"], headers=INVOICE_HEADERS)
    assert as_read(message["From"].addresses[0].display_name) == as_read(name)
    subject = str(message["Subject"])
    assert subject.replace(WORD_JOINER, "") == f"[Test mode] Invoice {invoice['number']} from {name}"


def test_the_support_address_is_the_only_reply_to(app: Flask, api: Api, customer: dict[str, Any],
                                                   smtp: SmtpServer, run_jobs: Any) -> None:
    api.ok("POST", "/v1/account/branding", {"display_name": ENCODED_WORDS[0], "support_email": "help@acme.example"})
    send_invoice(api, customer)
    run_jobs()
    message = received(app, smtp, to=customer["email"], headers=[*INVOICE_HEADERS, "Reply-To"])
    assert [address.addr_spec for address in message["Reply-To"].addresses] == ["help@acme.example"]


@pytest.mark.parametrize("address", [
    encoded_word("x@evil.example\r\nBcc: victim@evil.example\r\nX: ") + "@acme.example",
    "=?utf-8?q?attacker=40evil.example?=@acme.example",  # decodes to another address, no line break needed
    "help=?utf-8?b?QQ==?=@acme.example",
])
def test_an_address_holding_an_encoded_word_is_refused(api: Api, customer: dict[str, Any], address: str) -> None:
    for path, field in (("/v1/account/branding", "support_email"), ("/v1/customers", "email"),
                        (f"/v1/customers/{customer['id']}", "email")):
        refused = api.post(path, {field: address})
        assert refused.status_code == 400, (path, refused.get_json())
        assert refused.get_json()["error"]["param"] == field
        assert "encoded word" in refused.get_json()["error"]["message"]


@pytest.mark.parametrize("address", ["a\r\nBcc: victim@evil.example", "a@acme.example\r\nBcc: victim@evil.example",
                                     "a@acme.example\nX: 1", "a@acme.example\x00"])
def test_an_address_with_a_line_break_is_refused(api: Api, customer: dict[str, Any], address: str) -> None:
    for path, field in (("/v1/account/branding", "support_email"), ("/v1/customers", "email"),
                        (f"/v1/customers/{customer['id']}", "email")):
        refused = api.post(path, {field: address})
        assert refused.status_code == 400 and refused.get_json()["error"]["param"] == field


@pytest.mark.parametrize("column", ["customer email", "support email"])
@pytest.mark.parametrize("stored", [encoded_word("a\r\nBcc: victim@evil.example\r\n") + "@example.com",
                                    encoded_word("victim") + "@evil.example"])
def test_an_address_stored_before_it_was_refused_fails_its_email_unsent(
        app: Flask, api: Api, customer: dict[str, Any], smtp: SmtpServer, run_jobs: Any, db_session: Any,
        caplog: pytest.LogCaptureFixture, column: str, stored: str) -> None:
    """Rows written before the API refused encoded words (or by hand) are not trusted either."""
    if column == "customer email":
        db_session.execute(sa.update(Customer).where(Customer.id == customer["id"]).values(email=stored))
    else:
        api.ok("POST", "/v1/account/branding", {"support_email": "help@acme.example"})
        db_session.execute(sa.update(Branding).where(Branding.account_id == api.account_id)
                           .values(support_email=stored))
    send_invoice(api, customer)
    with caplog.at_level(logging.ERROR, logger="app.emails"):
        run_jobs()
    assert smtp.mailbox.messages == [] and smtp.mailbox.recipients == []
    [email] = emails(db_session, api.account_id)
    assert email.status.value == "failed" and "encoded word" in (email.last_error or "")
    [failed] = api.ok("GET", "/v1/events", query_string={"type": "email.failed"})["data"]
    assert failed["data"]["id"] == email.id
    assert any(email.id in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("name", [*ENCODED_WORDS, INJECTED, "Jenny\nBcc: victim@evil.example"])
def test_a_customer_name_changes_no_header(app: Flask, api: Api, smtp: SmtpServer, run_jobs: Any,
                                           name: str) -> None:
    customer = api.ok("POST", "/v1/customers", {"email": "jenny@example.com", "name": name})
    send_invoice(api, customer)
    run_jobs()
    message = received(app, smtp, to="jenny@example.com", headers=INVOICE_HEADERS)
    assert str(message["To"]) == "jenny@example.com"


@pytest.mark.parametrize("number", [encoded_word("\r\nBcc:v@e.ex"), "A-=?utf-8?q?=0D=0ABcc:v@e.ex?="])  # 32 at most
def test_an_invoice_number_with_an_encoded_word_is_sent_as_its_characters(
        app: Flask, api: Api, customer: dict[str, Any], smtp: SmtpServer, run_jobs: Any, db_session: Any,
        number: str) -> None:
    """The API keeps a prefix to 1-12 letters or digits; a number stored otherwise (an import,
    a future prefix setting) must still not reach the subject as anything but text."""
    invoice = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                              "days_until_due": 14})
    api.ok("POST", f"/v1/invoices/{invoice['id']}/lines", {"description": "Design work", "unit_amount": 120000})
    api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize", {"auto_advance": False})
    db_session.execute(sa.update(Invoice).where(Invoice.id == invoice["id"]).values(number=number))
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    message = received(app, smtp, to=customer["email"], headers=INVOICE_HEADERS)
    assert str(message["Subject"]).replace(WORD_JOINER, "") == f"[Test mode] Invoice {number} from Acme GmbH"


def test_the_prefix_cannot_hold_an_encoded_word(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["create-merchant", "--name", "Acme",
                                                "--prefix", "=?utf-8?b?QQ==?=", "--json"])
    assert result.exit_code != 0 and "prefix" in result.output


def test_a_webhook_url_in_a_notice_subject_is_sent_as_its_characters(
        app: Flask, api: Api, smtp: SmtpServer, run_jobs: Any) -> None:
    receiver = Receiver()
    try:
        url = f"{receiver.url}?next={encoded_word(INJECTED)}"
        api.ok("POST", "/v1/account/branding", {"support_email": "ops@acme.example"})
        api.ok("POST", "/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})
        receiver.default = Reply(410)
        api.ok("POST", "/v1/customers", {"email": "jenny@example.com"})
        run_jobs()
        run_jobs()
    finally:
        receiver.close()
    message = received(app, smtp, to="ops@acme.example", headers=[*INVOICE_HEADERS, "Auto-Submitted"])
    assert " ".join(str(message["Subject"]).replace(WORD_JOINER, "").split()) == \
        f"[Test mode] VINR stopped sending webhooks to {url}"


# The last line: whatever the cause, a header that would not go out as one header is never sent.

def with_raw_header(name: str, value: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "billing@vinr.example"
    message["To"] = "jenny@example.com"
    message["Subject"] = "Invoice"
    message.set_raw(name, value)  # bypasses the header registry, as a parser bug would
    message.set_content("Hello")
    return message


@pytest.mark.parametrize("value", ["Invoice\r\nBcc: victim@evil.example", "Invoice\nBcc: victim@evil.example",
                                   "Invoice\rBcc: victim@evil.example", "Invoice\r\n\r\nfake body",
                                   "Invoice\r\n \r\nBcc: victim@evil.example", "Invoice\x00", "Invoice\x0bX: 1",
                                   "Invoice\u2028Bcc: victim@evil.example"])
@pytest.mark.parametrize("via", ["smtp", "outbox"])
def test_a_header_with_a_line_break_is_never_handed_over(smtp: SmtpServer, caplog: pytest.LogCaptureFixture,
                                                         value: str, via: str) -> None:
    with caplog.at_level(logging.ERROR, logger="app.emails"):
        handed = hand_over(smtp.url if via == "smtp" else None, with_raw_header("X-Note", value))
    assert handed.via is None and handed.permanent and "X-Note" in (handed.error or "")
    assert smtp.mailbox.messages == []
    assert any("X-Note" in record.getMessage() for record in caplog.records)


def test_folded_headers_are_handed_over(smtp: SmtpServer) -> None:
    message = with_raw_header("X-Note", "a long header\r\n\tfolded onto a second line")
    message.replace_header("Subject", "Invoice " + "x" * 60 + " " + "y" * 60 + " from Grüße & Co.")
    assert hand_over(smtp.url, message).via == "smtp"
    [got] = smtp.mailbox.messages
    assert " ".join(str(got["Subject"]).split()).endswith(" from Grüße & Co.")
    assert str(got["X-Note"]).endswith("second line")


def test_an_unsafe_message_fails_its_email_and_is_logged(
        app: Flask, api: Api, customer: dict[str, Any], smtp: SmtpServer, run_jobs: Any, db_session: Any,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    build = emails_message.build

    def broken_build(*args: Any, **kwargs: Any) -> EmailMessage:  # as if the email package had another bug
        built = build(*args, **kwargs)
        built.set_raw("X-Note", "x\r\nBcc: victim@evil.example")
        return built

    monkeypatch.setattr(emails_message, "build", broken_build)
    send_invoice(api, customer)
    with caplog.at_level(logging.ERROR, logger="app.emails"):
        run_jobs()
    assert smtp.mailbox.messages == []
    [email] = emails(db_session, api.account_id)
    assert email.status.value == "failed" and "X-Note" in (email.last_error or "")
    [failed] = api.ok("GET", "/v1/events", query_string={"type": "email.failed"})["data"]
    assert failed["data"]["id"] == email.id
    assert any("X-Note" in record.getMessage() for record in caplog.records)
