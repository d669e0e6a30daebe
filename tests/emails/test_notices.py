"""What the merchant is told by email, and what the invoice says of its emails (SPEC §4, §5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.branding.images import data_uri, draw
from tests.conftest import Api
from tests.emails.smtp import SmtpServer
from tests.receiver import Receiver, Reply


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_a_disabled_endpoint_is_emailed_to_the_merchants_support_address(
        api: Api, receiver: Receiver, smtp: SmtpServer, run_jobs: Any) -> None:
    api.ok("POST", "/v1/account/branding", {"support_email": "ops@acme.example", "display_name": "Acme <Ops>"})
    endpoint = api.ok("POST", "/v1/webhook_endpoints", {"url": receiver.url, "enabled_events": ["*"]})
    receiver.default = Reply(410)
    api.ok("POST", "/v1/customers", {"email": "jenny@example.com"})
    run_jobs()
    run_jobs()
    [message] = smtp.mailbox.messages
    assert message["To"] == "ops@acme.example"
    assert message["From"].addresses[0].display_name == "VINR"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "Reply-To" not in message
    subject = str(message["Subject"]).strip()  # a long subject is folded before its URL
    assert receiver.url in subject and subject.startswith("[Test mode]")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert endpoint["id"] in text and "410" in text and f"/v1/webhook_endpoints/{endpoint['id']}/recover" in text
    [sent] = api.ok("GET", "/v1/events", query_string={"type": "email.sent"})["data"]
    assert sent["data"]["webhook_endpoint"] == endpoint["id"] and sent["data"]["invoice"] is None


def test_a_notice_from_vinr_carries_no_merchant_logo(api: Api, receiver: Receiver, smtp: SmtpServer,
                                                     run_jobs: Any) -> None:
    api.ok("POST", "/v1/account/branding", {"support_email": "ops@acme.example",
                                            "logo": data_uri(draw("PNG"), "image/png")})
    api.ok("POST", "/v1/webhook_endpoints", {"url": receiver.url, "enabled_events": ["*"]})
    receiver.default = Reply(410)
    api.ok("POST", "/v1/customers", {"email": "jenny@example.com"})
    run_jobs()
    run_jobs()
    [message] = smtp.mailbox.messages
    assert [part.get_content_type() for part in message.walk()] == ["multipart/alternative", "text/plain", "text/html"]


def test_a_notice_about_an_endpoint_deleted_meanwhile_is_canceled(
        api: Api, receiver: Receiver, smtp: SmtpServer, run_jobs: Any, db_session: Any) -> None:
    import sqlalchemy as sa

    from app.emails.models import Email

    api.ok("POST", "/v1/account/branding", {"support_email": "ops@acme.example"})
    endpoint = api.ok("POST", "/v1/webhook_endpoints", {"url": receiver.url, "enabled_events": ["*"]})
    receiver.default = Reply(410)
    smtp.stop()
    api.ok("POST", "/v1/customers", {"email": "jenny@example.com"})
    run_jobs()  # disabled; the notice's first try meets no mail server
    api.ok("DELETE", f"/v1/webhook_endpoints/{endpoint['id']}")
    smtp.start()
    api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 3600})
    run_jobs()
    assert smtp.mailbox.messages == []
    [email] = db_session.execute(sa.select(Email).where(Email.account_id == api.account_id)
                                 .execution_options(populate_existing=True)).scalars().all()
    assert email.status.value == "canceled" and email.last_error == "not sent: the webhook endpoint was deleted"


def test_no_support_address_means_no_notice(api: Api, receiver: Receiver, smtp: SmtpServer, run_jobs: Any) -> None:
    api.ok("POST", "/v1/webhook_endpoints", {"url": receiver.url, "enabled_events": ["*"]})
    receiver.default = Reply(410)
    api.ok("POST", "/v1/customers", {"email": "jenny@example.com"})
    run_jobs()
    assert api.ok("GET", "/v1/events", query_string={"type": "webhook_endpoint.disabled"})["data"]
    assert smtp.mailbox.messages == []


def test_the_invoice_says_when_it_was_last_sent(api: Api, customer: dict[str, Any], smtp: SmtpServer,
                                               run_jobs: Any) -> None:
    invoice = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                              "days_until_due": 14})
    api.ok("POST", f"/v1/invoices/{invoice['id']}/lines", {"description": "Design", "unit_amount": 5000})
    invoice = api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")
    assert invoice["last_sent_at"] is None
    smtp.stop()
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    assert api.ok("GET", f"/v1/invoices/{invoice['id']}")["last_sent_at"] is None  # not taken yet
    smtp.start()
    now = int(api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 120})["now"])
    run_jobs()
    assert abs(api.ok("GET", f"/v1/invoices/{invoice['id']}")["last_sent_at"] - now) < 30
