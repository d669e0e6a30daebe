"""The async client against the live server: the same flows, the same answers."""

from __future__ import annotations

import asyncio

import pytest

from vinr import AsyncPage, AsyncVinr, CardError, Customer, InvalidRequestError, Invoice

pytestmark = pytest.mark.anyio

CARD_OK = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}


async def test_a_whole_invoice_flow(avinr: AsyncVinr) -> None:
    customer = await avinr.customers.create(email="async@example.com", metadata={"crm_id": "7"})
    await avinr.customers.payment_methods.create(customer.id, card=CARD_OK, set_default=True)  # type: ignore[arg-type]
    invoice = await avinr.invoices.create(customer=customer.id)
    await avinr.invoices.add_line_item(invoice.id, description="Design", unit_amount=120000)
    invoice = await avinr.invoices.add_line_item(invoice.id, description="Hosting", unit_amount=9500, quantity=8)
    invoice = await avinr.invoices.finalize(invoice.id, auto_advance=False)
    assert isinstance(invoice, Invoice) and (invoice.status, invoice.total) == ("open", 196000)
    paid = await avinr.invoices.pay(invoice.id)
    assert paid.status == "paid" and (await avinr.payments.retrieve(paid.payment)).status == "completed"
    refund = await avinr.refunds.create(payment=paid.payment, amount=500)
    assert (refund.status, refund.amount) == ("succeeded", 500)
    assert [r.id async for r in (await avinr.refunds.list(payment=paid.payment)).auto_paging_iter()] == [refund.id]
    expanded = await avinr.invoices.retrieve(invoice.id, expand=["customer"])
    assert isinstance(expanded.customer, Customer) and expanded.customer.metadata.crm_id == "7"


async def test_pages_iterate_asynchronously(avinr: AsyncVinr) -> None:
    customer = await avinr.customers.create(email="async-pages@example.com")
    made = [await avinr.invoices.create(customer=customer.id) for _ in range(5)]
    page = await avinr.invoices.list(customer=customer.id, limit=2)
    assert isinstance(page, AsyncPage) and page.has_more
    seen = [invoice.id async for invoice in page.auto_paging_iter()]
    assert seen == [invoice.id for invoice in reversed(made)]


async def test_errors_are_the_same_classes(avinr: AsyncVinr) -> None:
    with pytest.raises(InvalidRequestError) as missing:
        await avinr.invoices.retrieve("inv_nope")
    assert missing.value.http_status == 404
    customer = await avinr.customers.create(email="async-card@example.com")
    with pytest.raises(CardError) as refused:
        await avinr.customers.payment_methods.create(customer.id, card={**CARD_OK, "exp_year": 2001})
    assert refused.value.code == "expired_card"


async def test_concurrent_calls_share_one_client(avinr: AsyncVinr) -> None:
    customers = await asyncio.gather(*(avinr.customers.create(email=f"many{n}@example.com") for n in range(5)))
    assert len({customer.id for customer in customers}) == 5
