"""The seed flows of collection over time, watched end to end in test mode (SPEC §5): a
real ``flask --app wsgi worker`` process, a real SMTP server, the API committing for real,
and the test clock moved forward as a merchant would. The worker acts within seconds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.accounts.service import create_merchant
from app.extensions import db
from tests.automation.conftest import DAY, DECLINED_CARD, GOOD_CARD
from tests.emails.smtp import SmtpServer
from tests.workers import Workers

pytestmark = pytest.mark.slow  # real worker processes and an SMTP server, seconds each

ACTS_WITHIN = 20.0  # seconds: the worker polls (SQLite) or is woken (PostgreSQL)


class Merchant:
    def __init__(self, client: FlaskClient, key: str) -> None:
        self.client, self.key = client, key

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        call = self.client.get if method == "GET" else self.client.post
        response = call(path, headers={"X-Api-Key": self.key}, **({} if method == "GET" else {"json": body or {}}))
        assert response.status_code == 200, (path, response.get_json())
        return response.get_json()  # type: ignore[no-any-return]

    def advance(self, seconds: int) -> None:
        self.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": seconds})

    def customer_with_card(self, number: str, email: str = "jenny@example.com") -> dict[str, Any]:
        customer = self.ok("POST", "/v1/customers", {"email": email, "name": "Jenny Rosen"})
        self.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
                {"card": {"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"}, "set_default": True})
        return customer

    def draft(self, customer: dict[str, Any], **fields: Any) -> dict[str, Any]:
        invoice = self.ok("POST", "/v1/invoices", {"customer": customer["id"], **fields})
        self.ok("POST", f"/v1/invoices/{invoice['id']}/lines", {"description": "Design", "unit_amount": 120000})
        return invoice


@pytest.fixture()
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def merchant(committed_app: Flask) -> Merchant:
    with committed_app.app_context():
        made = create_merchant(db.session, "Flow GmbH", "FLOW")
        db.session.commit()
    return Merchant(committed_app.test_client(), made.test_secret_key)


@pytest.fixture()
def worker(database_url: str, tmp_path: Path, smtp: SmtpServer) -> Iterator[Workers]:
    running = Workers(database_url, tmp_path, extra_env={"VINR_SMTP_URL": smtp.url})
    running.start("--concurrency", "2")
    yield running
    running.stop_all()


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.time() + ACTS_WITHIN
    while not check():
        if time.time() > deadline:
            raise AssertionError(f"the worker did not {what} within {ACTS_WITHIN} s")
        time.sleep(0.2)


def mail_to(smtp: SmtpServer, address: str) -> list[str]:
    return [str(m["Subject"]).strip() for m in list(smtp.mailbox.messages) if m["To"] == address]


def recorded(merchant: Merchant, count: int) -> bool:
    """The worker recorded ``count`` emails as sent: none is left queued in the committed
    database for a later test's worker to send again once this one is stopped."""
    return len(merchant.ok("GET", "/v1/events?type=email.sent")["data"]) == count


def test_send_then_the_customer_gets_the_email_pays_and_gets_a_receipt(merchant: Merchant, smtp: SmtpServer,
                                                                       worker: Workers) -> None:
    customer = merchant.customer_with_card(GOOD_CARD, "send-flow@example.com")
    invoice = merchant.draft(customer, collection_method="send_invoice", days_until_due=14)
    invoice = merchant.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")
    merchant.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    eventually(lambda: len(mail_to(smtp, "send-flow@example.com")) == 1, "send the invoice email")
    [message] = [m for m in smtp.mailbox.messages if m["To"] == "send-flow@example.com"]
    assert invoice["hosted_invoice_url"] in message.get_body(preferencelist=("plain",)).get_content()
    assert merchant.ok("POST", f"/v1/invoices/{invoice['id']}/pay")["status"] == "paid"
    eventually(lambda: len(mail_to(smtp, "send-flow@example.com")) == 2, "send the receipt")
    assert "Receipt" in mail_to(smtp, "send-flow@example.com")[1]
    eventually(lambda: recorded(merchant, 2), "record both emails as sent")


def test_an_auto_advance_draft_finalizes_after_an_hour_of_test_clock(merchant: Merchant, smtp: SmtpServer,
                                                                     worker: Workers) -> None:
    customer = merchant.customer_with_card(GOOD_CARD, "auto-flow@example.com")
    invoice = merchant.draft(customer, auto_advance=True)
    merchant.advance(3601)
    eventually(lambda: merchant.ok("GET", f"/v1/invoices/{invoice['id']}")["status"] == "paid",
               "finalize and collect the draft")
    eventually(lambda: len(mail_to(smtp, "auto-flow@example.com")) == 1, "send the receipt")
    eventually(lambda: recorded(merchant, 1), "record the receipt as sent")


def test_dunning_retries_then_gives_up_as_uncollectible(merchant: Merchant, worker: Workers) -> None:
    customer = merchant.customer_with_card(DECLINED_CARD, "dunning-flow@example.com")
    invoice = merchant.draft(customer)
    invoice = merchant.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")
    assert invoice["attempt_count"] == 1 and invoice["next_payment_attempt"] is not None
    for attempts, wait in ((2, 3), (3, 5), (4, 7)):
        merchant.advance(wait * DAY + 1)
        eventually(lambda n=attempts: merchant.ok("GET", f"/v1/invoices/{invoice['id']}")["attempt_count"] == n,
                   f"make try {attempts}")
    found = merchant.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert found["status"] == "uncollectible" and found["next_payment_attempt"] is None
