"""Every operation of the server's ``/v1/openapi.json`` has an SDK method, on both clients,
and that method sends exactly that operation's method and path.

When the API grows, this fails until the SDK has the new method: add a line to
``OPERATIONS`` (``(METHOD, path template)`` → the method's dotted name on the
client) and the method itself.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import httpx
import pytest

import vinr

OPERATIONS: dict[tuple[str, str], str] = {
    ("GET", "/v1/openapi.json"): "openapi.retrieve",
    ("POST", "/v1/customers"): "customers.create",
    ("GET", "/v1/customers"): "customers.list",
    ("GET", "/v1/customers/{customer_id}"): "customers.retrieve",
    ("POST", "/v1/customers/{customer_id}"): "customers.update",
    ("DELETE", "/v1/customers/{customer_id}"): "customers.delete",
    ("POST", "/v1/customers/{customer_id}/payment_methods"): "customers.payment_methods.create",
    ("GET", "/v1/customers/{customer_id}/payment_methods"): "customers.payment_methods.list",
    ("POST", "/v1/prices"): "prices.create",
    ("GET", "/v1/prices"): "prices.list",
    ("GET", "/v1/prices/{price_id}"): "prices.retrieve",
    ("POST", "/v1/coupons"): "coupons.create",
    ("GET", "/v1/coupons"): "coupons.list",
    ("GET", "/v1/coupons/{coupon_id}"): "coupons.retrieve",
    ("DELETE", "/v1/coupons/{coupon_id}"): "coupons.delete",
    ("POST", "/v1/tax_rates"): "tax_rates.create",
    ("GET", "/v1/tax_rates"): "tax_rates.list",
    ("GET", "/v1/tax_rates/{rate_id}"): "tax_rates.retrieve",
    ("POST", "/v1/tax_rates/{rate_id}"): "tax_rates.update",
    ("POST", "/v1/invoiceitems"): "invoice_items.create",
    ("GET", "/v1/invoiceitems"): "invoice_items.list",
    ("GET", "/v1/invoiceitems/{item_id}"): "invoice_items.retrieve",
    ("DELETE", "/v1/invoiceitems/{item_id}"): "invoice_items.delete",
    ("POST", "/v1/invoices"): "invoices.create",
    ("GET", "/v1/invoices"): "invoices.list",
    ("GET", "/v1/invoices/{invoice_id}"): "invoices.retrieve",
    ("POST", "/v1/invoices/{invoice_id}"): "invoices.update",
    ("DELETE", "/v1/invoices/{invoice_id}"): "invoices.delete",
    ("GET", "/v1/invoices/{invoice_id}/lines"): "invoices.list_lines",
    ("POST", "/v1/invoices/{invoice_id}/lines"): "invoices.add_line_item",
    ("POST", "/v1/invoices/{invoice_id}/lines/{line_id}"): "invoices.update_line_item",
    ("DELETE", "/v1/invoices/{invoice_id}/lines/{line_id}"): "invoices.remove_line_item",
    ("GET", "/v1/invoices/{invoice_id}/einvoice"): "invoices.einvoice",
    ("POST", "/v1/invoices/{invoice_id}/finalize"): "invoices.finalize",
    ("POST", "/v1/invoices/{invoice_id}/send"): "invoices.send",
    ("POST", "/v1/invoices/{invoice_id}/pay"): "invoices.pay",
    ("POST", "/v1/invoices/{invoice_id}/void"): "invoices.void",
    ("POST", "/v1/invoices/{invoice_id}/mark_uncollectible"): "invoices.mark_uncollectible",
    ("POST", "/v1/credit_notes"): "credit_notes.create",
    ("GET", "/v1/credit_notes"): "credit_notes.list",
    ("GET", "/v1/credit_notes/preview"): "credit_notes.preview",
    ("GET", "/v1/credit_notes/{credit_note_id}"): "credit_notes.retrieve",
    ("POST", "/v1/credit_notes/{credit_note_id}"): "credit_notes.update",
    ("POST", "/v1/credit_notes/{credit_note_id}/void"): "credit_notes.void",
    ("GET", "/v1/credit_notes/{credit_note_id}/einvoice"): "credit_notes.einvoice",
    ("GET", "/v1/payments"): "payments.list",
    ("GET", "/v1/payments/{payment_id}"): "payments.retrieve",
    ("POST", "/v1/refunds"): "refunds.create",
    ("GET", "/v1/refunds"): "refunds.list",
    ("GET", "/v1/refunds/{refund_id}"): "refunds.retrieve",
    ("POST", "/v1/bank_statements"): "bank_statements.import_",
    ("GET", "/v1/bank_transactions"): "bank_transactions.list",
    ("GET", "/v1/bank_transactions/{bank_transaction_id}"): "bank_transactions.retrieve",
    ("POST", "/v1/bank_transactions/{bank_transaction_id}/apply"): "bank_transactions.apply",
    ("POST", "/v1/bank_transactions/{bank_transaction_id}/ignore"): "bank_transactions.ignore",
    ("GET", "/v1/events"): "events.list",
    ("GET", "/v1/events/{event_id}"): "events.retrieve",
    ("POST", "/v1/webhook_endpoints"): "webhook_endpoints.create",
    ("GET", "/v1/webhook_endpoints"): "webhook_endpoints.list",
    ("GET", "/v1/webhook_endpoints/{endpoint_id}"): "webhook_endpoints.retrieve",
    ("POST", "/v1/webhook_endpoints/{endpoint_id}"): "webhook_endpoints.update",
    ("DELETE", "/v1/webhook_endpoints/{endpoint_id}"): "webhook_endpoints.delete",
    ("POST", "/v1/webhook_endpoints/{endpoint_id}/roll_secret"): "webhook_endpoints.roll_secret",
    ("GET", "/v1/webhook_endpoints/{endpoint_id}/deliveries"): "webhook_endpoints.list_deliveries",
    ("POST", "/v1/webhook_endpoints/{endpoint_id}/resend"): "webhook_endpoints.resend",
    ("POST", "/v1/webhook_endpoints/{endpoint_id}/recover"): "webhook_endpoints.recover",
    ("GET", "/v1/account/branding"): "account.branding.retrieve",
    ("POST", "/v1/account/branding"): "account.branding.update",
    ("GET", "/v1/account/business_profile"): "account.business_profile.retrieve",
    ("POST", "/v1/account/business_profile"): "account.business_profile.update",
    ("GET", "/v1/account/settings"): "account.settings.retrieve",
    ("POST", "/v1/account/settings"): "account.settings.update",
    ("POST", "/v1/test_helpers/advance_clock"): "test_helpers.advance_clock",
}

# Keyword arguments some methods require (everything else is optional, or an id).
REQUIRED = {"webhook_endpoints.resend": {"event": "evt_x"}, "test_helpers.advance_clock": {"seconds": 1},
            "credit_notes.create": {"invoice": "inv_x"}, "credit_notes.preview": {"invoice": "inv_x"},
            "bank_statements.import_": {"statement": b"<Document/>"}, "bank_transactions.apply": {"invoice": "inv_x"}}


@pytest.fixture(scope="module")
def document(server: Any) -> dict[str, Any]:
    with vinr.Vinr("sk_test_unused", base_url=server.url) as client:
        return client.openapi.retrieve()  # served without a key


def served(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_every_operation_of_the_document_has_an_sdk_method(document: dict[str, Any]) -> None:
    missing = sorted(served(document) - OPERATIONS.keys())
    assert not missing, f"operations without an SDK method (add them to OPERATIONS and the SDK): {missing}"


def test_the_sdk_has_no_method_for_an_operation_the_server_lost(document: dict[str, Any]) -> None:
    gone = sorted(OPERATIONS.keys() - served(document))
    assert not gone, f"SDK methods for operations the server no longer has: {gone}"


def resolve(client: Any, dotted: str) -> Any:
    target = client
    for name in dotted.split("."):
        target = getattr(target, name)
    return target


def recording_transport(sent: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"object": "list", "data": [], "has_more": False, "url": request.url.path})

    return httpx.MockTransport(answer)


def call_arguments(template: str, dotted: str) -> tuple[list[str], dict[str, Any]]:
    ids = [f"{name}_x" for name in re.findall(r"{(\w+)}", template)]
    return ids, REQUIRED.get(dotted, {})


def matches(template: str, path: str) -> bool:
    """Whether ``path`` is ``template`` with each ``{name}`` filled by one path segment."""
    pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"({\w+})", template))
    return re.fullmatch(pattern, path) is not None


@pytest.mark.parametrize(("operation", "dotted"), sorted(OPERATIONS.items()))
def test_the_sync_method_sends_its_operation(operation: tuple[str, str], dotted: str) -> None:
    method, template = operation
    sent: list[httpx.Request] = []
    with httpx.Client(transport=recording_transport(sent)) as http:
        client = vinr.Vinr("sk_test_x", base_url="http://vinr.test", http_client=http)
        ids, kwargs = call_arguments(template, dotted)
        resolve(client, dotted)(*ids, **kwargs)
    assert [(request.method, matches(template, request.url.path)) for request in sent] == [(method, True)]


@pytest.mark.anyio
@pytest.mark.parametrize(("operation", "dotted"), sorted(OPERATIONS.items()))
async def test_the_async_method_sends_its_operation(operation: tuple[str, str], dotted: str) -> None:
    method, template = operation
    sent: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=recording_transport(sent)) as http:
        client = vinr.AsyncVinr("sk_test_x", base_url="http://vinr.test", http_client=http)
        ids, kwargs = call_arguments(template, dotted)
        await resolve(client, dotted)(*ids, **kwargs)
    assert [(request.method, matches(template, request.url.path)) for request in sent] == [(method, True)]


@pytest.mark.parametrize("dotted", sorted(OPERATIONS.values()))
def test_both_clients_offer_the_same_signature(dotted: str) -> None:
    sync = resolve(vinr.Vinr("sk_test_x", base_url="http://vinr.test"), dotted)
    asynchronous = resolve(vinr.AsyncVinr("sk_test_x", base_url="http://vinr.test"), dotted)
    assert inspect.iscoroutinefunction(asynchronous) and not inspect.iscoroutinefunction(sync)
    assert str(inspect.signature(sync)).replace("Page[", "AsyncPage[") == str(inspect.signature(asynchronous))
