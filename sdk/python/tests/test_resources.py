"""Every resource against a live VINR (gunicorn on SQLite), through the sync client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from live import Server, free_port

from vinr import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BusinessProfile,
    CardError,
    Customer,
    IdempotencyError,
    InvalidRequestError,
    Refund,
    Vinr,
    _retry,
)
from vinr.params import CreditNoteLineParams

CARD_OK = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
CARD_DECLINED = {**CARD_OK, "number": "4000000000000002"}


def customer_with_card(client: Vinr, card: dict[str, Any] = CARD_OK) -> Customer:
    customer = client.customers.create(email="jenny@example.com", name="Jenny Rosen", address={"country": "DE"})
    client.customers.payment_methods.create(customer.id, card=card, set_default=True)  # type: ignore[arg-type]
    return customer


def test_customers(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="Jenny@Example.com", name="Jenny", metadata={"crm_id": "4711"},
                                     address={"line1": "Hauptstr. 1", "city": "Berlin", "country": "DE"})
    assert isinstance(customer, Customer) and customer.id.startswith("cust_")
    assert customer.metadata.crm_id == "4711" and customer.address.city == "Berlin"
    assert vinr.customers.retrieve(customer.id) == customer
    updated = vinr.customers.update(customer.id, name="Jenny Rosen", tax_exempt="reverse")
    assert (updated.name, updated.tax_exempt) == ("Jenny Rosen", "reverse")
    assert customer.id in [c.id for c in vinr.customers.list(email=customer.email).auto_paging_iter()]
    deleted = vinr.customers.delete(customer.id)
    assert (deleted.id, deleted.deleted) == (customer.id, True)
    with pytest.raises(InvalidRequestError) as raised:
        vinr.customers.retrieve(customer.id)
    assert raised.value.http_status == 404


def test_payment_methods_show_only_the_last_four(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="pm@example.com")
    method = vinr.customers.payment_methods.create(customer.id, card=CARD_OK, set_default=True)  # type: ignore[arg-type]
    assert (method.card.brand, method.card.last4) == ("visa", "4242")
    assert "4242424242424242" not in str(method.to_dict()) and "cvc" not in method.card
    assert [m.id for m in vinr.customers.payment_methods.list(customer.id)] == [method.id]
    assert vinr.customers.retrieve(customer.id).invoice_settings.default_payment_method == method.id


def test_prices_coupons_and_tax_rates(vinr: Vinr) -> None:
    price = vinr.prices.create(unit_amount=9500, currency="EUR", nickname="Hosting")
    assert (price.currency, vinr.prices.retrieve(price.id).unit_amount) == ("eur", 9500)
    assert price.id in [p.id for p in vinr.prices.list(limit=100)]

    coupon = vinr.coupons.create(name="Ten off", percent_off=10, duration="once")
    assert vinr.coupons.retrieve(coupon.id).percent_off == 10
    assert coupon.id in [c.id for c in vinr.coupons.list().auto_paging_iter()]
    assert vinr.coupons.delete(coupon.id).deleted is True

    rate = vinr.tax_rates.create(display_name="VAT", percentage=19, country="DE", inclusive=False)
    assert vinr.tax_rates.retrieve(rate.id).percentage == 19
    assert vinr.tax_rates.update(rate.id, active=False).active is False
    assert rate.id in [r.id for r in vinr.tax_rates.list().auto_paging_iter()]


def test_invoice_items_are_swept_into_the_next_invoice(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="items@example.com")
    price = vinr.prices.create(unit_amount=2500, currency="eur")
    item = vinr.invoice_items.create(customer=customer.id, price=price.id, description="Setup")
    other = vinr.invoice_items.create(customer=customer.id, amount=100, currency="eur", description="Dropped")
    assert vinr.invoice_items.retrieve(item.id).amount == 2500
    assert vinr.invoice_items.delete(other.id).deleted is True
    assert [i.id for i in vinr.invoice_items.list(customer=customer.id, pending=True)] == [item.id]
    invoice = vinr.invoices.create(customer=customer.id)
    assert [line.invoice_item for line in invoice.lines] == [item.id]
    assert vinr.invoice_items.retrieve(item.id).invoice == invoice.id


def test_a_draft_is_edited_line_by_line(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="draft@example.com")
    invoice = vinr.invoices.create(customer=customer.id, collection_method="send_invoice", days_until_due=14,
                                   metadata={"order": "A-1"})
    invoice = vinr.invoices.add_line_item(invoice.id, description="Design", unit_amount=120000)
    invoice = vinr.invoices.add_line_item(invoice.id, description="Hosting", unit_amount=9500, quantity=8)
    assert invoice.total == 196000
    hosting = invoice.lines[1]
    invoice = vinr.invoices.update_line_item(invoice.id, hosting.id, quantity=2)
    assert invoice.total == 139000
    invoice = vinr.invoices.remove_line_item(invoice.id, hosting.id)
    assert [line.description for line in vinr.invoices.list_lines(invoice.id)] == ["Design"]
    invoice = vinr.invoices.update(invoice.id, footer="Thank you", description="March")
    assert (invoice.footer, invoice.status, invoice.number) == ("Thank you", "draft", None)
    assert vinr.invoices.delete(invoice.id).deleted is True


def test_an_invoice_is_finalized_sent_paid_and_its_payment_listed(vinr: Vinr) -> None:
    customer = customer_with_card(vinr)
    invoice = vinr.invoices.create(customer=customer.id)
    vinr.invoices.add_line_item(invoice.id, description="Design", unit_amount=120000)
    invoice = vinr.invoices.finalize(invoice.id, auto_advance=False)
    assert invoice.status == "open" and invoice.number and invoice.hosted_invoice_url.startswith("http://127.0.0.1")
    assert vinr.invoices.send(invoice.id).status == "open"
    paid = vinr.invoices.pay(invoice.id)
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 120000, 0)
    payment = vinr.payments.retrieve(paid.payment)
    assert (payment.status, payment.amount, payment.invoice, payment.card.last4) == ("completed", 120000,
                                                                                     invoice.id, "4242")
    assert [p.id for p in vinr.payments.list(invoice=invoice.id)] == [payment.id]


def paid_payment_id(client: Vinr, card: dict[str, Any] = CARD_OK, amount: int = 5000) -> str:
    customer = customer_with_card(client, card)
    invoice = client.invoices.create(customer=customer.id)
    client.invoices.add_line_item(invoice.id, description="Design", unit_amount=amount)
    client.invoices.finalize(invoice.id, auto_advance=False)
    payment: str = client.invoices.pay(invoice.id).payment
    return payment


def test_refunds(vinr: Vinr) -> None:
    payment_id = paid_payment_id(vinr)
    part = vinr.refunds.create(payment=payment_id, amount=1200, reason="requested_by_customer",
                               metadata={"ticket": "T-9"}, idempotency_key=f"refund-{payment_id}")
    assert isinstance(part, Refund) and part.id.startswith("re_")
    assert (part.status, part.amount, part.payment, part.failure_reason) == ("succeeded", 1200, payment_id, None)
    assert part.metadata.ticket == "T-9" and part.credit_note is None
    again = vinr.refunds.create(payment=payment_id, amount=1200, reason="requested_by_customer",
                                metadata={"ticket": "T-9"}, idempotency_key=f"refund-{payment_id}")
    assert again == part  # replayed, not refunded twice
    with pytest.raises(InvalidRequestError) as raised:
        vinr.refunds.create(payment=payment_id, amount=5000)
    assert (raised.value.http_status, raised.value.code, raised.value.param) == (400, "amount_too_large", "amount")
    rest = vinr.refunds.create(payment=payment_id)
    assert (rest.status, rest.amount) == ("succeeded", 3800)
    assert vinr.refunds.retrieve(part.id) == part
    assert [r.id for r in vinr.refunds.list(payment=payment_id)] == [rest.id, part.id]
    assert vinr.payments.retrieve(payment_id).amount_refunded == 5000


def test_paying_in_parts_out_of_band(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="parts@example.com")
    invoice = vinr.invoices.create(customer=customer.id)
    vinr.invoices.add_line_item(invoice.id, description="Design", unit_amount=10_000)
    invoice = vinr.invoices.finalize(invoice.id, auto_advance=False)
    assert invoice.payment_reference is not None and invoice.payment_reference.startswith("RF")
    part = vinr.invoices.pay(invoice.id, paid_out_of_band=True, amount=4_000)
    assert (part.status, part.amount_paid, part.amount_remaining) == ("open", 4_000, 6_000)
    paid = vinr.invoices.pay(invoice.id, paid_out_of_band=True)
    assert (paid.status, paid.amount_remaining) == ("paid", 0)
    payments = list(vinr.payments.list(invoice=invoice.id))
    assert sorted(p.amount for p in payments) == [4_000, 6_000]
    assert {(p.payment_method_type, p.bank_transfer) for p in payments} == {("out_of_band", None)}


def test_a_refund_of_the_5126_card_fails(vinr: Vinr) -> None:
    payment_id = paid_payment_id(vinr, {**CARD_OK, "number": "4000000000005126"})
    refund = vinr.refunds.create(payment=payment_id)
    assert (refund.status, refund.failure_reason) == ("failed", "expired_or_canceled_card")
    assert vinr.payments.retrieve(payment_id).amount_refunded == 0


def test_a_decline_leaves_the_invoice_open_with_the_reason(vinr: Vinr) -> None:
    customer = customer_with_card(vinr, CARD_DECLINED)
    invoice = vinr.invoices.create(customer=customer.id)
    vinr.invoices.add_line_item(invoice.id, description="Design", unit_amount=5000)
    invoice = vinr.invoices.pay(vinr.invoices.finalize(invoice.id, auto_advance=False).id)
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert (invoice.last_payment_error.code, invoice.last_payment_error.decline_code) == ("card_declined",
                                                                                         "generic_decline")


def test_void_and_mark_uncollectible(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="void@example.com")
    invoices = []
    for _ in range(2):
        draft = vinr.invoices.create(customer=customer.id, collection_method="send_invoice", days_until_due=30)
        vinr.invoices.add_line_item(draft.id, description="Work", unit_amount=1000)
        invoices.append(vinr.invoices.finalize(draft.id))
    assert vinr.invoices.void(invoices[0].id).status == "void"
    assert vinr.invoices.mark_uncollectible(invoices[1].id).status == "uncollectible"
    with pytest.raises(InvalidRequestError, match="void") as raised:
        vinr.invoices.mark_uncollectible(invoices[0].id)
    assert raised.value.http_status == 409


def test_expand_customer_on_retrieve_and_list(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="expand@example.com")
    invoice = vinr.invoices.create(customer=customer.id)
    assert vinr.invoices.retrieve(invoice.id).customer == customer.id
    expanded = vinr.invoices.retrieve(invoice.id, expand=["customer"])
    assert isinstance(expanded.customer, Customer) and expanded.customer.email == "expand@example.com"
    listed = vinr.invoices.list(customer=customer.id, expand=["customer"])
    assert [inv.customer.email for inv in listed] == ["expand@example.com"]


def test_pages_are_fetched_lazily_with_the_same_filters(new_merchant: Callable[[], Vinr]) -> None:
    client = new_merchant()
    made = [client.customers.create(email=f"c{n}@example.com") for n in range(7)]
    newest_first = [c.id for c in reversed(made)]
    first = client.customers.list(limit=3)
    assert [c.id for c in first] == newest_first[:3] and first.has_more
    assert [c.id for c in first.auto_paging_iter()] == newest_first
    second = first.next_page()
    assert second is not None and [c.id for c in second] == newest_first[3:6]
    # Backwards from the oldest: every newer one, walking towards the newest.
    assert [c.id for c in client.customers.list(limit=2, ending_before=made[0].id).auto_paging_iter()] == [
        c.id for c in made[1:]]
    # Filters hold on every page.
    customer = made[0]
    for _ in range(3):
        client.invoices.create(customer=customer.id)
    client.invoices.create(customer=made[1].id)
    drafts = client.invoices.list(customer=customer.id, status="draft", limit=2, expand=["customer"])
    assert [inv.customer.id for inv in drafts.auto_paging_iter()] == [customer.id] * 3


def test_events_record_what_happened(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="events@example.com")
    created = [e for e in vinr.events.list(type="customer.created", limit=20) if e.data.id == customer.id]
    assert len(created) == 1 and isinstance(created[0].data, Customer)
    assert vinr.events.retrieve(created[0].id).data.email == "events@example.com"


def test_webhook_endpoints(vinr: Vinr) -> None:
    endpoint = vinr.webhook_endpoints.create(url="http://127.0.0.1:9/hooks", enabled_events=["invoice.paid"],
                                             description="ERP")
    assert endpoint.secret.startswith("whsec_")
    assert vinr.webhook_endpoints.retrieve(endpoint.id).secret is None  # shown once
    assert vinr.webhook_endpoints.update(endpoint.id, enabled_events=["*"]).enabled_events == ["*"]
    rolled = vinr.webhook_endpoints.roll_secret(endpoint.id, expires_in=3600)
    assert rolled.secret != endpoint.secret and rolled.previous_secret_expires_at
    assert endpoint.id in [e.id for e in vinr.webhook_endpoints.list().auto_paging_iter()]
    event = vinr.events.list(limit=1).data[0]
    delivery = vinr.webhook_endpoints.resend(endpoint.id, event=event.id)
    assert (delivery.event, delivery.endpoint) == (event.id, endpoint.id)
    assert list(vinr.webhook_endpoints.list_deliveries(endpoint.id)) == []  # nothing tried without a worker
    recovery = vinr.webhook_endpoints.recover(endpoint.id, since=int(time.time()) - 60)
    assert recovery.endpoint == endpoint.id
    assert vinr.webhook_endpoints.delete(endpoint.id).deleted is True


def test_branding(vinr: Vinr) -> None:
    branding = vinr.account.branding.update(display_name="SDK Tests", primary_color="#123456")
    assert (branding.display_name, branding.primary_color) == ("SDK Tests", "#123456")
    assert vinr.account.branding.retrieve().primary_color == "#123456"
    assert "default" in branding.themes


def test_business_profile_and_what_an_invoice_freezes(new_merchant: Callable[[], Vinr]) -> None:
    vinr = new_merchant()
    assert vinr.account.business_profile.retrieve().complete is False
    profile = vinr.account.business_profile.update(
        legal_name="SDK Tests GmbH", vat_id="DE 123 456 788", email="billing@sdk.example",
        address={"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        bank_account={"iban": "DE89 3704 0044 0532 0130 00"})
    assert isinstance(profile, BusinessProfile) and profile.complete and profile.missing == []
    assert profile.vat_id == "DE123456788" and profile.bank_account.iban == "DE89370400440532013000"
    with pytest.raises(InvalidRequestError) as refused:
        vinr.account.business_profile.update(vat_id="DE123456789")
    assert refused.value.param == "vat_id"
    customer = vinr.customers.create(email="jenny@example.com", tax_ids=[{"type": "eu_vat", "value": "ATU13585627"}],
                                     einvoice={"buyer_reference": "PO-7", "format": "facturx"})
    assert customer.tax_ids[0].value == "ATU13585627" and customer.einvoice.format == "facturx"
    invoice = vinr.invoices.create(customer=customer.id, service_period={"start": 0, "end": 86400})
    invoice = vinr.invoices.add_line_item(invoice.id, unit_amount=9000, quantity=2, unit="HUR")
    assert invoice.lines[0].unit == "HUR" and invoice.account_legal is None
    invoice = vinr.invoices.finalize(invoice.id, auto_advance=False)
    assert invoice.account_legal.legal_name == "SDK Tests GmbH" and invoice.buyer_reference == "PO-7"
    assert invoice.customer_tax_ids[0].value == "ATU13585627" and invoice.service_period.end == 86400


def test_the_einvoice_of_a_finalized_invoice(new_merchant: Callable[[], Vinr]) -> None:
    vinr = new_merchant()
    vinr.account.business_profile.update(
        legal_name="SDK Tests GmbH", vat_id="DE123456788", email="billing@sdk.example",
        address={"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"})
    customer = vinr.customers.create(
        email="ap@buyer.example", name="Buyer AG",
        address={"line1": "Ring 2", "city": "Wien", "postal_code": "1010", "country": "AT"})
    invoice = vinr.invoices.add_line_item(vinr.invoices.create(customer=customer.id).id, unit_amount=9000)
    with pytest.raises(InvalidRequestError) as refused:
        vinr.invoices.einvoice(invoice.id)
    assert (refused.value.http_status, refused.value.code) == (409, "invoice_unexpected_status")
    invoice = vinr.invoices.finalize(invoice.id, auto_advance=False)
    xml = vinr.invoices.einvoice(invoice.id)
    assert xml.startswith(b"<?xml") and b"CrossIndustryInvoice" in xml and invoice.number.encode() in xml
    assert b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" in vinr.invoices.einvoice(invoice.id, format="ubl")


def test_account_settings(vinr: Vinr) -> None:
    settings = vinr.account.settings.retrieve()
    assert (settings.object, settings.dunning_retry_days) == ("account_settings", [3, 5, 7])
    updated = vinr.account.settings.update(dunning_retry_days=[2, 4], reminder_days_after_due=[10, 1])
    assert (updated.dunning_retry_days, updated.reminder_days_after_due) == ([2, 4], [1, 10])
    assert vinr.account.settings.retrieve().auto_advance_delay == 3600
    with pytest.raises(InvalidRequestError) as raised:
        vinr.account.settings.update(auto_advance_delay=-1)
    assert raised.value.param == "auto_advance_delay"
    vinr.account.settings.update(dunning_retry_days=[3, 5, 7], reminder_days_after_due=[1, 7])  # for the others


def test_the_test_clock_moves_forward(vinr: Vinr) -> None:
    before = vinr.test_helpers.advance_clock(seconds=1).now
    assert vinr.test_helpers.advance_clock(seconds=3600).now >= before + 3600


# --------------------------------------------------------------------------- errors, one class each

def test_a_wrong_key_is_an_authentication_error(server: Server) -> None:
    with Vinr("sk_test_wrong", base_url=server.url) as client, pytest.raises(AuthenticationError) as e:
        client.customers.list()
    assert e.value.http_status == 401 and e.value.type == "authentication_error"
    assert e.value.request_id is not None and e.value.request_id.startswith("req_")  # to quote to support


def test_a_bad_parameter_is_an_invalid_request_error_naming_it(vinr: Vinr) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        vinr.customers.create(email="not an address")
    assert (raised.value.http_status, raised.value.param) == (400, "email")
    with pytest.raises(InvalidRequestError) as unknown:
        vinr.customers.create(favourite_colour="blue")  # type: ignore[call-arg]
    assert unknown.value.param == "favourite_colour"


def test_a_refused_card_is_a_card_error(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="card@example.com")
    with pytest.raises(CardError) as raised:
        vinr.customers.payment_methods.create(customer.id, card={**CARD_OK, "number": "4242424242424241"})
    assert (raised.value.http_status, raised.value.code) == (402, "incorrect_number")
    assert "4242424242424241" not in str(raised.value) + repr(raised.value)


def test_a_key_reused_for_another_request_is_an_idempotency_error(vinr: Vinr) -> None:
    vinr.customers.create(email="first@example.com", idempotency_key="sdk-test-reuse")
    again = vinr.customers.create(email="first@example.com", idempotency_key="sdk-test-reuse")  # replayed
    assert again.email == "first@example.com"
    with pytest.raises(IdempotencyError) as raised:
        vinr.customers.create(email="second@example.com", idempotency_key="sdk-test-reuse")
    assert raised.value.http_status == 400 and raised.value.code == "idempotency_key_reused"


def test_a_live_charge_without_a_processor_is_an_api_error(server: Server) -> None:
    live_key = server.cli("create-merchant", "--name", "Live GmbH", "--json").strip().splitlines()[-1]
    with Vinr(json.loads(live_key)["live_secret_key"], base_url=server.url, max_retries=0) as live:
        customer = live.customers.create(email="live@example.com")
        invoice = live.invoices.create(customer=customer.id)
        live.invoices.add_line_item(invoice.id, description="Work", unit_amount=1000)
        invoice = live.invoices.finalize(invoice.id, auto_advance=False)
        with pytest.raises(APIError) as raised:
            live.invoices.pay(invoice.id)
        assert (raised.value.http_status, raised.value.code) == (503, "processor_not_configured")
        assert live.invoices.retrieve(invoice.id).attempt_count == 0


def test_a_server_that_is_not_there_is_an_api_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "sleep", lambda seconds: None)
    client = Vinr("sk_test_x", base_url=f"http://127.0.0.1:{free_port()}")
    with client, pytest.raises(APIConnectionError) as raised:
        client.customers.list()
    assert "3 attempt(s)" in str(raised.value)



def test_every_line_through_list_lines_where_an_event_embeds_ten(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="lines@example.com")
    invoice = vinr.invoices.create(customer=customer.id)
    for n in range(12):
        invoice = vinr.invoices.add_line_item(invoice.id, description=f"Line {n}", unit_amount=100)
    invoice = vinr.invoices.finalize(invoice.id, auto_advance=False)
    event = next(e for e in vinr.events.list(type="invoice.finalized").auto_paging_iter() if e.data.id == invoice.id)
    assert (len(event.data.lines), event.data.lines.has_more) == (10, True)
    with pytest.raises(AttributeError, match="list_lines"):
        event.data.lines.auto_paging_iter()
    page = vinr.invoices.list_lines(invoice.id)
    assert (len(page), page.has_more, page.url) == (10, True, event.data.lines.url)  # a page of 10, as any list
    assert [line.description for line in page.auto_paging_iter()] == [f"Line {n}" for n in range(12)]
    last = vinr.invoices.list_lines(invoice.id, limit=2, starting_after=page.data[-1].id)
    assert ([line.description for line in last], last.has_more) == (["Line 10", "Line 11"], False)


def test_credit_notes_correct_an_issued_invoice(vinr: Vinr) -> None:
    customer = vinr.customers.create(email="credit@example.com")
    invoice = vinr.invoices.create(customer=customer.id, collection_method="send_invoice", days_until_due=14,
                                   default_tax_rates=[])
    invoice = vinr.invoices.add_line_item(invoice.id, description="Hosting", unit_amount=9500, quantity=8)
    invoice = vinr.invoices.finalize(invoice.id)
    hosting = invoice.lines[0]
    lines: list[CreditNoteLineParams] = [{"type": "invoice_line_item", "invoice_line_item": hosting.id, "quantity": 2}]
    preview = vinr.credit_notes.preview(invoice=invoice.id, lines=lines, reason="order_change")
    assert (preview.total, preview.pdf) == (19000, None)
    note = vinr.credit_notes.create(invoice=invoice.id, lines=lines, reason="order_change")
    assert note.number == f"{invoice.number}-CN-01" and note.total == 19000
    assert vinr.invoices.retrieve(invoice.id).amount_remaining == 76000 - 19000
    assert vinr.credit_notes.update(note.id, memo="Two months less").memo == "Two months less"
    assert [n.id for n in vinr.credit_notes.list(invoice=invoice.id)] == [note.id]
    assert vinr.credit_notes.void(note.id).status == "void"
    assert vinr.credit_notes.retrieve(note.id).status == "void"
