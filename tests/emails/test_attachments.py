"""The invoice email and the receipt attach the invoice's PDF (``attach_pdf``, default on)
and, for a customer with an XML ``einvoice.format``, that e-invoice (SPEC §10); reminders
attach nothing. Every try of one email sends the same files."""

from __future__ import annotations

import io
from email.message import EmailMessage
from typing import Any

import pikepdf
import pypdf
import pytest

from tests.conftest import Api
from tests.documents.test_facturx import embedded_xml
from tests.einvoicing.rules import Rules, xsd_errors
from tests.einvoicing.test_einvoice_api import LEITWEG, PROFILE, amounts
from tests.emails.smtp import SmtpServer
from tests.emails.test_delivery import CARD, open_invoice

DAY = 86400



def attached(message: EmailMessage) -> list[tuple[str, str, bytes]]:
    """(file name, content type, bytes) of each attachment, in order."""
    return [(str(part.get_filename()), part.get_content_type(), part.get_payload(decode=True))
            for part in message.iter_attachments() if part.get_content_disposition() == "attachment"]


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


@pytest.fixture()
def seller(api: Api) -> Api:
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    return api


def buyer(api: Api, fmt: str) -> dict[str, Any]:
    return api.ok("POST", "/v1/customers", {  # type: ignore[no-any-return]
        "email": "ap@kaeufer.example", "name": "Käufer AG",
        "address": {"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "einvoice": {"buyer_reference": LEITWEG, "format": fmt}})


def sent(api: Api, customer: dict[str, Any], run_jobs: Any) -> dict[str, Any]:
    """An invoice sent to ``customer``, its email handed to the mail server."""
    invoice = open_invoice(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    return invoice


@pytest.mark.parametrize(("fmt", "suffix"), [("xrechnung_cii", "xrechnung-cii"), ("ubl", "ubl")])
def test_the_invoice_email_attaches_the_pdf_and_the_customers_einvoice(
        seller: Api, smtp: SmtpServer, run_jobs: Any, rules: Rules, fmt: str, suffix: str) -> None:
    invoice = sent(seller, buyer(seller, fmt), run_jobs)
    [message] = smtp.mailbox.messages
    [(pdf_name, pdf_type, pdf), (xml_name, xml_type, xml)] = attached(message)
    number = invoice["number"]
    assert (pdf_name, pdf_type) == (f"invoice-{number}.pdf", "application/pdf")
    assert pdf.startswith(b"%PDF-") and number in pdf_text(pdf)
    # The PDF is the Factur-X hybrid, as the hosted page's Download PDF gives it.
    assert embedded_xml(pdf) == seller.get(f"/v1/invoices/{invoice['id']}/einvoice?format=facturx").get_data()
    assert (xml_name, xml_type) == (f"invoice-{number}-{suffix}.xml", "application/xml")
    assert xsd_errors(xml) == [] and rules.errors(xml, xrechnung=fmt.startswith("xrechnung")) == []
    # The text and the HTML are still there, as before.
    assert invoice["hosted_invoice_url"] in message.get_body(preferencelist=("plain",)).get_content()
    rules.skip_if_absent()


def test_attach_pdf_off_sends_no_pdf(seller: Api, smtp: SmtpServer, run_jobs: Any) -> None:
    seller.ok("POST", "/v1/account/settings", {"attach_pdf": False})
    invoice = sent(seller, buyer(seller, "ubl"), run_jobs)
    [message] = smtp.mailbox.messages
    assert [(name, kind) for name, kind, _ in attached(message)] == [
        (f"invoice-{invoice['number']}-ubl.xml", "application/xml")]


def test_a_customer_without_a_format_gets_the_pdf_alone(api: Api, customer: dict[str, Any], smtp: SmtpServer,
                                                        run_jobs: Any) -> None:
    invoice = sent(api, customer, run_jobs)
    [message] = smtp.mailbox.messages
    assert [(name, kind) for name, kind, _ in attached(message)] == [
        (f"invoice-{invoice['number']}.pdf", "application/pdf")]


def test_no_xml_when_the_einvoice_cannot_be_made(api: Api, smtp: SmtpServer, run_jobs: Any) -> None:
    """No business profile: the plain PDF alone, never an error."""
    sent(api, buyer(api, "facturx"), run_jobs)
    [message] = smtp.mailbox.messages
    [(_, kind, pdf)] = attached(message)
    assert kind == "application/pdf"
    with pikepdf.open(io.BytesIO(pdf)) as plain:
        assert not plain.attachments


def test_the_receipt_attaches_the_paid_invoice(seller: Api, smtp: SmtpServer, run_jobs: Any,
                                               rules: Rules) -> None:
    customer = buyer(seller, "ubl")
    seller.ok("POST", f"/v1/customers/{customer['id']}/payment_methods", {"card": CARD, "set_default": True})
    invoice = open_invoice(seller, customer)
    paid = seller.ok("POST", f"/v1/invoices/{invoice['id']}/pay")
    run_jobs()
    [receipt] = smtp.mailbox.messages
    [(_, pdf_type, pdf), (_, xml_type, xml)] = attached(receipt)
    assert pdf_type == "application/pdf" and pdf.startswith(b"%PDF-")
    assert xml_type == "application/xml" and rules.errors(xml, xrechnung=False) == []
    assert amounts(xml)["BT-115"] == 0 and amounts(xml)["BT-113"] * 100 == paid["amount_paid"]


def test_every_try_sends_the_files_of_the_first(seller: Api, smtp: SmtpServer, run_jobs: Any) -> None:
    """Paid between the tries: the retried invoice email still says what it said at first."""
    smtp.mailbox.answer_data = "451 Try again later"
    customer = buyer(seller, "ubl")
    invoice = open_invoice(seller, customer)
    seller.ok("POST", f"/v1/invoices/{invoice['id']}/send")
    run_jobs()
    assert smtp.mailbox.messages == []
    assert seller.ok("POST", f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})["status"] == "paid"
    smtp.mailbox.answer_data = None
    seller.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 60})
    run_jobs()
    [message] = [m for m in smtp.mailbox.messages if m["Subject"] and "Receipt" not in str(m["Subject"])]
    [_, (_, _, xml)] = attached(message)
    assert amounts(xml)["BT-115"] * 100 == invoice["amount_due"]  # as when it was first made


def test_reminders_attach_nothing(api: Api, customer: dict[str, Any], smtp: SmtpServer,
                                  run_jobs: Any) -> None:
    open_invoice(api, customer)
    api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 11 * DAY + 60})
    run_jobs()
    [reminder] = smtp.mailbox.messages
    assert reminder["Auto-Submitted"] == "auto-generated"
    assert attached(reminder) == [] and reminder.get_content_type() == "multipart/alternative"
