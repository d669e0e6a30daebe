"""One class per resource of the API (``GET /v1/openapi.json``), each method one operation.

Ids are positional, parameters keyword-only (:mod:`vinr.params` types them).
Every method that POSTs takes ``idempotency_key``: without one the SDK makes a
key per call, so its own retries are safe; pass your own (an order id, say) to
make your retries of the whole call safe too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Unpack

from vinr._async.pagination import AsyncPage
from vinr._http import path
from vinr.objects import (
    AccountSettings,
    BankStatementImport,
    BankTransaction,
    Branding,
    BusinessProfile,
    Coupon,
    CreditNote,
    Customer,
    Deleted,
    Event,
    Invoice,
    InvoiceItem,
    LineItem,
    Payment,
    PaymentMethod,
    Price,
    Refund,
    TaxRate,
    TestClock,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookRecovery,
)
from vinr.params import (
    AccountSettingsUpdateParams,
    BankTransactionListParams,
    BrandingUpdateParams,
    BusinessProfileUpdateParams,
    CouponCreateParams,
    CreditNoteCreateParams,
    CreditNoteListParams,
    CreditNoteUpdateParams,
    CustomerCreateParams,
    CustomerListParams,
    CustomerUpdateParams,
    DeliveryListParams,
    EInvoiceFormat,
    EventListParams,
    Expand,
    FinalizeParams,
    InvoiceCreateParams,
    InvoiceItemCreateParams,
    InvoiceItemListParams,
    InvoiceListParams,
    InvoiceUpdateParams,
    LineCreateParams,
    LineUpdateParams,
    ListParams,
    PaymentListParams,
    PaymentMethodCreateParams,
    PayParams,
    PriceCreateParams,
    RecoverParams,
    RefundCreateParams,
    RefundListParams,
    RollSecretParams,
    TaxRateCreateParams,
    TaxRateUpdateParams,
    WebhookEndpointCreateParams,
    WebhookEndpointUpdateParams,
)

if TYPE_CHECKING:
    from vinr._async.client import AsyncVinr


class AsyncResource:
    def __init__(self, client: AsyncVinr) -> None:
        self._client = client

    async def _get(self, url: str, params: Any = None) -> Any:
        return await self._client._request("GET", url, params=params)

    async def _post(self, url: str, params: Any, idempotency_key: str | None) -> Any:
        return await self._client._request("POST", url, params=params, idempotency_key=idempotency_key)

    async def _delete(self, url: str) -> Any:
        return await self._client._request("DELETE", url)


class AsyncCustomerPaymentMethods(AsyncResource):
    """A customer's saved cards. Saving one charges nothing; test mode only (live cards
    are collected on the hosted page). The card number and CVC are sent once and never stored."""

    async def create(self, customer_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[PaymentMethodCreateParams]) -> PaymentMethod:
        return PaymentMethod(await self._post(path("/v1/customers/{}/payment_methods", customer_id), params,
                                              idempotency_key))

    async def list(self, customer_id: str, **params: Unpack[ListParams]) -> AsyncPage[PaymentMethod]:
        return await self._client._list(path("/v1/customers/{}/payment_methods", customer_id), params)


class AsyncCustomers(AsyncResource):
    def __init__(self, client: AsyncVinr) -> None:
        super().__init__(client)
        self.payment_methods = AsyncCustomerPaymentMethods(client)

    async def create(self, *, idempotency_key: str | None = None, **params: Unpack[CustomerCreateParams]) -> Customer:
        return Customer(await self._post("/v1/customers", params, idempotency_key))

    async def retrieve(self, customer_id: str) -> Customer:
        return Customer(await self._get(path("/v1/customers/{}", customer_id)))

    async def update(self, customer_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[CustomerUpdateParams]) -> Customer:
        return Customer(await self._post(path("/v1/customers/{}", customer_id), params, idempotency_key))

    async def delete(self, customer_id: str) -> Deleted:
        """Delete a customer: their cards are detached, their open invoices stay payable on the hosted page."""
        return Deleted(await self._delete(path("/v1/customers/{}", customer_id)))

    async def list(self, **params: Unpack[CustomerListParams]) -> AsyncPage[Customer]:
        return await self._client._list("/v1/customers", params)


class AsyncPrices(AsyncResource):
    async def create(self, *, idempotency_key: str | None = None, **params: Unpack[PriceCreateParams]) -> Price:
        return Price(await self._post("/v1/prices", params, idempotency_key))

    async def retrieve(self, price_id: str) -> Price:
        return Price(await self._get(path("/v1/prices/{}", price_id)))

    async def list(self, **params: Unpack[ListParams]) -> AsyncPage[Price]:
        return await self._client._list("/v1/prices", params)


class AsyncCoupons(AsyncResource):
    async def create(self, *, idempotency_key: str | None = None, **params: Unpack[CouponCreateParams]) -> Coupon:
        return Coupon(await self._post("/v1/coupons", params, idempotency_key))

    async def retrieve(self, coupon_id: str) -> Coupon:
        return Coupon(await self._get(path("/v1/coupons/{}", coupon_id)))

    async def delete(self, coupon_id: str) -> Deleted:
        return Deleted(await self._delete(path("/v1/coupons/{}", coupon_id)))

    async def list(self, **params: Unpack[ListParams]) -> AsyncPage[Coupon]:
        return await self._client._list("/v1/coupons", params)


class AsyncTaxRates(AsyncResource):
    async def create(self, *, idempotency_key: str | None = None, **params: Unpack[TaxRateCreateParams]) -> TaxRate:
        return TaxRate(await self._post("/v1/tax_rates", params, idempotency_key))

    async def retrieve(self, tax_rate_id: str) -> TaxRate:
        return TaxRate(await self._get(path("/v1/tax_rates/{}", tax_rate_id)))

    async def update(self, tax_rate_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[TaxRateUpdateParams]) -> TaxRate:
        return TaxRate(await self._post(path("/v1/tax_rates/{}", tax_rate_id), params, idempotency_key))

    async def list(self, **params: Unpack[ListParams]) -> AsyncPage[TaxRate]:
        return await self._client._list("/v1/tax_rates", params)


class AsyncInvoiceItems(AsyncResource):
    """Pending items: the next invoice made for that customer in that currency sweeps them up as lines."""

    async def create(self, *, idempotency_key: str | None = None,
                     **params: Unpack[InvoiceItemCreateParams]) -> InvoiceItem:
        return InvoiceItem(await self._post("/v1/invoiceitems", params, idempotency_key))

    async def retrieve(self, invoice_item_id: str) -> InvoiceItem:
        return InvoiceItem(await self._get(path("/v1/invoiceitems/{}", invoice_item_id)))

    async def delete(self, invoice_item_id: str) -> Deleted:
        return Deleted(await self._delete(path("/v1/invoiceitems/{}", invoice_item_id)))

    async def list(self, **params: Unpack[InvoiceItemListParams]) -> AsyncPage[InvoiceItem]:
        return await self._client._list("/v1/invoiceitems", params)


class AsyncInvoices(AsyncResource):
    """Invoices and their lifecycle: draft → open → paid, void or uncollectible."""

    async def create(self, *, idempotency_key: str | None = None, **params: Unpack[InvoiceCreateParams]) -> Invoice:
        """Create a draft; the customer's pending invoice items become its first lines."""
        return Invoice(await self._post("/v1/invoices", params, idempotency_key))

    async def retrieve(self, invoice_id: str, *, expand: Expand | None = None) -> Invoice:
        """``expand=["customer"]`` puts the :class:`~vinr.objects.Customer` in ``invoice.customer``."""
        return Invoice(await self._get(path("/v1/invoices/{}", invoice_id), {"expand": expand}))

    async def update(self, invoice_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[InvoiceUpdateParams]) -> Invoice:
        """A draft: any field. Once finalized only ``description`` and ``footer``."""
        return Invoice(await self._post(path("/v1/invoices/{}", invoice_id), params, idempotency_key))

    async def delete(self, invoice_id: str) -> Deleted:
        """Delete a draft (a finalized invoice is voided instead)."""
        return Deleted(await self._delete(path("/v1/invoices/{}", invoice_id)))

    async def list(self, **params: Unpack[InvoiceListParams]) -> AsyncPage[Invoice]:
        """Newest first; filters ``customer``, ``status``, ``created={"gte": …, "lte": …}``, and ``expand``."""
        return await self._client._list("/v1/invoices", params)

    async def list_lines(self, invoice_id: str, **params: Unpack[ListParams]) -> AsyncPage[LineItem]:
        """The invoice's lines in their order on it (not newest first), a page at a time."""
        return await self._client._list(path("/v1/invoices/{}/lines", invoice_id), params)

    async def add_line_item(self, invoice_id: str, *, idempotency_key: str | None = None,
                            **params: Unpack[LineCreateParams]) -> Invoice:
        """Add a line to a draft; answers the whole invoice with its new totals."""
        return Invoice(await self._post(path("/v1/invoices/{}/lines", invoice_id), params, idempotency_key))

    async def update_line_item(self, invoice_id: str, line_id: str, *, idempotency_key: str | None = None,
                               **params: Unpack[LineUpdateParams]) -> Invoice:
        return Invoice(await self._post(path("/v1/invoices/{}/lines/{}", invoice_id, line_id), params,
                                        idempotency_key))

    async def remove_line_item(self, invoice_id: str, line_id: str) -> Invoice:
        return Invoice(await self._delete(path("/v1/invoices/{}/lines/{}", invoice_id, line_id)))

    async def einvoice(self, invoice_id: str, *, format: EInvoiceFormat | None = None) -> bytes:
        """The finalized invoice's EN 16931 e-invoice XML (docs/einvoicing.md): ``facturx``, ``xrechnung_cii``,
        ``xrechnung_ubl`` or ``ubl``; by default the customer's ``einvoice.format``, else Factur-X."""
        return bytes(await self._client._request("GET", path("/v1/invoices/{}/einvoice", invoice_id),
                                                 params={"format": format}, document=True))

    async def finalize(self, invoice_id: str, *, idempotency_key: str | None = None,
                       **params: Unpack[FinalizeParams]) -> Invoice:
        """Lock, number and mint the hosted link; a ``charge_automatically`` invoice is then
        collected at once, unless ``auto_advance=False``."""
        return Invoice(await self._post(path("/v1/invoices/{}/finalize", invoice_id), params, idempotency_key))

    async def send(self, invoice_id: str, *, idempotency_key: str | None = None) -> Invoice:
        """Email the customer the hosted link (open invoices)."""
        return Invoice(await self._post(path("/v1/invoices/{}/send", invoice_id), {}, idempotency_key))

    async def pay(self, invoice_id: str, *, idempotency_key: str | None = None, **params: Unpack[PayParams]) -> Invoice:
        """Charge the given or the default payment method off-session, or record a payment
        made another way (``paid_out_of_band=True``, with an ``amount`` for a part).

        A decline is not an exception: the invoice comes back ``open`` with
        ``attempt_count`` raised and ``last_payment_error`` saying why.
        """
        return Invoice(await self._post(path("/v1/invoices/{}/pay", invoice_id), params, idempotency_key))

    async def void(self, invoice_id: str, *, idempotency_key: str | None = None) -> Invoice:
        return Invoice(await self._post(path("/v1/invoices/{}/void", invoice_id), {}, idempotency_key))

    async def mark_uncollectible(self, invoice_id: str, *, idempotency_key: str | None = None) -> Invoice:
        return Invoice(await self._post(path("/v1/invoices/{}/mark_uncollectible", invoice_id), {},
                                        idempotency_key))


def _credit_note_query(params: CreditNoteCreateParams) -> dict[str, Any]:
    """A credit note's parameters in the query string: ``lines[0][type]=…`` (one level deeper than
    the query encoder goes), the rest as they are."""
    flat: dict[str, Any] = {key: value for key, value in params.items() if key not in ("lines", "metadata")}
    for i, line in enumerate(params.get("lines") or []):
        for key, value in line.items():
            if isinstance(value, list):
                for j, item in enumerate(value):
                    flat[f"lines[{i}][{key}][{j}]"] = item
            else:
                flat[f"lines[{i}][{key}]"] = value
    for key, value in (params.get("metadata") or {}).items():
        flat[f"metadata[{key}]"] = value
    return flat


class AsyncCreditNotes(AsyncResource):
    """Credit notes: the document that corrects an issued (open, paid or uncollectible) invoice."""

    async def create(self, *, idempotency_key: str | None = None,
                     **params: Unpack[CreditNoteCreateParams]) -> CreditNote:
        """Credit ``lines`` of the invoice (a quantity or an amount of its lines, custom lines) or an
        ``amount`` of it; the part past what it has left to pay is split into ``refund_amount``,
        ``out_of_band_amount`` and ``credit_amount`` (to the customer's balance)."""
        return CreditNote(await self._post("/v1/credit_notes", params, idempotency_key))

    async def preview(self, **params: Unpack[CreditNoteCreateParams]) -> CreditNote:
        """What ``create`` would issue with these parameters; nothing is written."""
        return CreditNote(await self._get("/v1/credit_notes/preview", _credit_note_query(params)))

    async def retrieve(self, credit_note_id: str) -> CreditNote:
        return CreditNote(await self._get(path("/v1/credit_notes/{}", credit_note_id)))

    async def update(self, credit_note_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[CreditNoteUpdateParams]) -> CreditNote:
        """Only ``memo`` and ``metadata`` change."""
        return CreditNote(await self._post(path("/v1/credit_notes/{}", credit_note_id), params, idempotency_key))

    async def void(self, credit_note_id: str, *, idempotency_key: str | None = None) -> CreditNote:
        """While its invoice is open and nothing was refunded: what it took off goes back."""
        return CreditNote(await self._post(path("/v1/credit_notes/{}/void", credit_note_id), {}, idempotency_key))

    async def list(self, **params: Unpack[CreditNoteListParams]) -> AsyncPage[CreditNote]:
        """Newest first; filters ``invoice`` and ``customer``."""
        return await self._client._list("/v1/credit_notes", params)

    async def einvoice(self, credit_note_id: str, *, format: EInvoiceFormat | None = None) -> bytes:
        """The credit note's EN 16931 e-invoice XML (type code 381), as for invoices."""
        return bytes(await self._client._request("GET", path("/v1/credit_notes/{}/einvoice", credit_note_id),
                                                 params={"format": format}, document=True))


class AsyncPayments(AsyncResource):
    async def retrieve(self, payment_id: str) -> Payment:
        return Payment(await self._get(path("/v1/payments/{}", payment_id)))

    async def list(self, **params: Unpack[PaymentListParams]) -> AsyncPage[Payment]:
        return await self._client._list("/v1/payments", params)


class AsyncRefunds(AsyncResource):
    async def create(self, *, idempotency_key: str | None = None, **params: Unpack[RefundCreateParams]) -> Refund:
        """Refund a completed payment: ``amount`` (default: what is left of it). The answer's
        ``status`` is ``succeeded``, ``failed`` (see ``failure_reason``), or ``pending`` while
        the processor's answer is not clear (VINR asks again; watch ``refund.updated``)."""
        return Refund(await self._post("/v1/refunds", params, idempotency_key))

    async def retrieve(self, refund_id: str) -> Refund:
        return Refund(await self._get(path("/v1/refunds/{}", refund_id)))

    async def list(self, **params: Unpack[RefundListParams]) -> AsyncPage[Refund]:
        """Newest first; filter ``payment``."""
        return await self._client._list("/v1/refunds", params)


class AsyncBankStatements(AsyncResource):
    async def import_(self, statement: bytes, *, idempotency_key: str | None = None) -> BankStatementImport:
        """Import a camt.053 statement or camt.054 notification (the file's bytes, at most 10 MiB):
        each booked credit entry becomes a bank transaction once, applied to the invoice it names."""
        return BankStatementImport(await self._client._request("POST", "/v1/bank_statements", xml=statement,
                                                               idempotency_key=idempotency_key))


class AsyncBankTransactions(AsyncResource):
    async def retrieve(self, bank_transaction_id: str) -> BankTransaction:
        return BankTransaction(await self._get(path("/v1/bank_transactions/{}", bank_transaction_id)))

    async def list(self, **params: Unpack[BankTransactionListParams]) -> AsyncPage[BankTransaction]:
        """Newest first; filter ``status`` (``"unmatched"``: those waiting to be applied or ignored)."""
        return await self._client._list("/v1/bank_transactions", params)

    async def apply(self, bank_transaction_id: str, *, invoice: str,
                    idempotency_key: str | None = None) -> BankTransaction:
        """Apply it to a finalized invoice in its currency, as a bank_transfer payment."""
        return BankTransaction(await self._post(path("/v1/bank_transactions/{}/apply", bank_transaction_id),
                                                {"invoice": invoice}, idempotency_key))

    async def ignore(self, bank_transaction_id: str, *, idempotency_key: str | None = None) -> BankTransaction:
        return BankTransaction(await self._post(path("/v1/bank_transactions/{}/ignore", bank_transaction_id), {},
                                                idempotency_key))


class AsyncEvents(AsyncResource):
    async def retrieve(self, event_id: str) -> Event:
        return Event(await self._get(path("/v1/events/{}", event_id)))

    async def list(self, **params: Unpack[EventListParams]) -> AsyncPage[Event]:
        """The last 30 days, newest first; filter ``type`` (e.g. ``"invoice.paid"``)."""
        return await self._client._list("/v1/events", params)


class AsyncWebhookEndpoints(AsyncResource):
    async def create(self, *, idempotency_key: str | None = None,
                     **params: Unpack[WebhookEndpointCreateParams]) -> WebhookEndpoint:
        """The answer's ``secret`` is shown only here: keep it to verify deliveries."""
        return WebhookEndpoint(await self._post("/v1/webhook_endpoints", params, idempotency_key))

    async def retrieve(self, endpoint_id: str) -> WebhookEndpoint:
        return WebhookEndpoint(await self._get(path("/v1/webhook_endpoints/{}", endpoint_id)))

    async def update(self, endpoint_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[WebhookEndpointUpdateParams]) -> WebhookEndpoint:
        return WebhookEndpoint(await self._post(path("/v1/webhook_endpoints/{}", endpoint_id), params,
                                                idempotency_key))

    async def delete(self, endpoint_id: str) -> Deleted:
        return Deleted(await self._delete(path("/v1/webhook_endpoints/{}", endpoint_id)))

    async def list(self, **params: Unpack[ListParams]) -> AsyncPage[WebhookEndpoint]:
        return await self._client._list("/v1/webhook_endpoints", params)

    async def roll_secret(self, endpoint_id: str, *, idempotency_key: str | None = None,
                          **params: Unpack[RollSecretParams]) -> WebhookEndpoint:
        """A new ``secret``; the old one keeps signing too for ``expires_in`` seconds."""
        return WebhookEndpoint(await self._post(path("/v1/webhook_endpoints/{}/roll_secret", endpoint_id), params,
                                                idempotency_key))

    async def list_deliveries(self, endpoint_id: str,
                              **params: Unpack[DeliveryListParams]) -> AsyncPage[WebhookDeliveryAttempt]:
        """Every delivery attempt to the endpoint, newest first (filter ``event``)."""
        return await self._client._list(path("/v1/webhook_endpoints/{}/deliveries", endpoint_id), params)

    async def resend(self, endpoint_id: str, *, event: str, idempotency_key: str | None = None) -> WebhookDelivery:
        return WebhookDelivery(await self._post(path("/v1/webhook_endpoints/{}/resend", endpoint_id),
                                                {"event": event}, idempotency_key))

    async def recover(self, endpoint_id: str, *, idempotency_key: str | None = None,
                      **params: Unpack[RecoverParams]) -> WebhookRecovery:
        """Send again every delivery to the endpoint that failed since ``since`` (unix seconds)."""
        return WebhookRecovery(await self._post(path("/v1/webhook_endpoints/{}/recover", endpoint_id), params,
                                                idempotency_key))


class AsyncBrandingResource(AsyncResource):
    async def retrieve(self) -> Branding:
        return Branding(await self._get("/v1/account/branding"))

    async def update(self, *, idempotency_key: str | None = None, **params: Unpack[BrandingUpdateParams]) -> Branding:
        return Branding(await self._post("/v1/account/branding", params, idempotency_key))


class AsyncBusinessProfileResource(AsyncResource):
    """The seller on the account's invoices (docs/einvoicing.md), shared by both modes."""

    async def retrieve(self) -> BusinessProfile:
        return BusinessProfile(await self._get("/v1/account/business_profile"))

    async def update(self, *, idempotency_key: str | None = None,
                     **params: Unpack[BusinessProfileUpdateParams]) -> BusinessProfile:
        return BusinessProfile(await self._post("/v1/account/business_profile", params, idempotency_key))


class AsyncSettingsResource(AsyncResource):
    """Collection over time for the key's account and mode (``docs/collection.md``)."""

    async def retrieve(self) -> AccountSettings:
        return AccountSettings(await self._get("/v1/account/settings"))

    async def update(self, *, idempotency_key: str | None = None,
                     **params: Unpack[AccountSettingsUpdateParams]) -> AccountSettings:
        return AccountSettings(await self._post("/v1/account/settings", params, idempotency_key))


class AsyncAccount:
    def __init__(self, client: AsyncVinr) -> None:
        self.branding = AsyncBrandingResource(client)
        self.business_profile = AsyncBusinessProfileResource(client)
        self.settings = AsyncSettingsResource(client)


class AsyncTestHelpers(AsyncResource):
    __test__ = False  # not a pytest test class, whatever its name

    async def advance_clock(self, *, seconds: int, idempotency_key: str | None = None) -> TestClock:
        """Move the account's test-mode clock forward; what is scheduled (retries, dunning, due
        dates) follows it, and a running worker acts within a few seconds. At most 5 years a
        call and 100 years ahead of real time in all (else :class:`InvalidRequestError`)."""
        return TestClock(await self._post("/v1/test_helpers/advance_clock", {"seconds": seconds}, idempotency_key))


class AsyncOpenAPI(AsyncResource):
    async def retrieve(self) -> dict[str, Any]:
        """The server's OpenAPI 3.1 document, as plain JSON."""
        document: dict[str, Any] = await self._client._request("GET", "/v1/openapi.json")
        return document
