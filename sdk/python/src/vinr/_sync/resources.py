# Generated from vinr/_async/resources.py by tools/make_sync.py: edit that file and run the tool again,
# do not edit this one.
"""One class per resource of the API (``GET /v1/openapi.json``), each method one operation.

Ids are positional, parameters keyword-only (:mod:`vinr.params` types them).
Every method that POSTs takes ``idempotency_key``: without one the SDK makes a
key per call, so its own retries are safe; pass your own (an order id, say) to
make your retries of the whole call safe too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Unpack

from vinr._http import path
from vinr._sync.pagination import Page
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
    from vinr._sync.client import Vinr


class Resource:
    def __init__(self, client: Vinr) -> None:
        self._client = client

    def _get(self, url: str, params: Any = None) -> Any:
        return self._client._request("GET", url, params=params)

    def _post(self, url: str, params: Any, idempotency_key: str | None) -> Any:
        return self._client._request("POST", url, params=params, idempotency_key=idempotency_key)

    def _delete(self, url: str) -> Any:
        return self._client._request("DELETE", url)


class CustomerPaymentMethods(Resource):
    """A customer's saved cards. Saving one charges nothing; test mode only (live cards
    are collected on the hosted page). The card number and CVC are sent once and never stored."""

    def create(self, customer_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[PaymentMethodCreateParams]) -> PaymentMethod:
        return PaymentMethod(self._post(path("/v1/customers/{}/payment_methods", customer_id), params,
                                              idempotency_key))

    def list(self, customer_id: str, **params: Unpack[ListParams]) -> Page[PaymentMethod]:
        return self._client._list(path("/v1/customers/{}/payment_methods", customer_id), params)


class Customers(Resource):
    def __init__(self, client: Vinr) -> None:
        super().__init__(client)
        self.payment_methods = CustomerPaymentMethods(client)

    def create(self, *, idempotency_key: str | None = None, **params: Unpack[CustomerCreateParams]) -> Customer:
        return Customer(self._post("/v1/customers", params, idempotency_key))

    def retrieve(self, customer_id: str) -> Customer:
        return Customer(self._get(path("/v1/customers/{}", customer_id)))

    def update(self, customer_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[CustomerUpdateParams]) -> Customer:
        return Customer(self._post(path("/v1/customers/{}", customer_id), params, idempotency_key))

    def delete(self, customer_id: str) -> Deleted:
        """Delete a customer: their cards are detached, their open invoices stay payable on the hosted page."""
        return Deleted(self._delete(path("/v1/customers/{}", customer_id)))

    def list(self, **params: Unpack[CustomerListParams]) -> Page[Customer]:
        return self._client._list("/v1/customers", params)


class Prices(Resource):
    def create(self, *, idempotency_key: str | None = None, **params: Unpack[PriceCreateParams]) -> Price:
        return Price(self._post("/v1/prices", params, idempotency_key))

    def retrieve(self, price_id: str) -> Price:
        return Price(self._get(path("/v1/prices/{}", price_id)))

    def list(self, **params: Unpack[ListParams]) -> Page[Price]:
        return self._client._list("/v1/prices", params)


class Coupons(Resource):
    def create(self, *, idempotency_key: str | None = None, **params: Unpack[CouponCreateParams]) -> Coupon:
        return Coupon(self._post("/v1/coupons", params, idempotency_key))

    def retrieve(self, coupon_id: str) -> Coupon:
        return Coupon(self._get(path("/v1/coupons/{}", coupon_id)))

    def delete(self, coupon_id: str) -> Deleted:
        return Deleted(self._delete(path("/v1/coupons/{}", coupon_id)))

    def list(self, **params: Unpack[ListParams]) -> Page[Coupon]:
        return self._client._list("/v1/coupons", params)


class TaxRates(Resource):
    def create(self, *, idempotency_key: str | None = None, **params: Unpack[TaxRateCreateParams]) -> TaxRate:
        return TaxRate(self._post("/v1/tax_rates", params, idempotency_key))

    def retrieve(self, tax_rate_id: str) -> TaxRate:
        return TaxRate(self._get(path("/v1/tax_rates/{}", tax_rate_id)))

    def update(self, tax_rate_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[TaxRateUpdateParams]) -> TaxRate:
        return TaxRate(self._post(path("/v1/tax_rates/{}", tax_rate_id), params, idempotency_key))

    def list(self, **params: Unpack[ListParams]) -> Page[TaxRate]:
        return self._client._list("/v1/tax_rates", params)


class InvoiceItems(Resource):
    """Pending items: the next invoice made for that customer in that currency sweeps them up as lines."""

    def create(self, *, idempotency_key: str | None = None,
                     **params: Unpack[InvoiceItemCreateParams]) -> InvoiceItem:
        return InvoiceItem(self._post("/v1/invoiceitems", params, idempotency_key))

    def retrieve(self, invoice_item_id: str) -> InvoiceItem:
        return InvoiceItem(self._get(path("/v1/invoiceitems/{}", invoice_item_id)))

    def delete(self, invoice_item_id: str) -> Deleted:
        return Deleted(self._delete(path("/v1/invoiceitems/{}", invoice_item_id)))

    def list(self, **params: Unpack[InvoiceItemListParams]) -> Page[InvoiceItem]:
        return self._client._list("/v1/invoiceitems", params)


class Invoices(Resource):
    """Invoices and their lifecycle: draft → open → paid, void or uncollectible."""

    def create(self, *, idempotency_key: str | None = None, **params: Unpack[InvoiceCreateParams]) -> Invoice:
        """Create a draft; the customer's pending invoice items become its first lines."""
        return Invoice(self._post("/v1/invoices", params, idempotency_key))

    def retrieve(self, invoice_id: str, *, expand: Expand | None = None) -> Invoice:
        """``expand=["customer"]`` puts the :class:`~vinr.objects.Customer` in ``invoice.customer``."""
        return Invoice(self._get(path("/v1/invoices/{}", invoice_id), {"expand": expand}))

    def update(self, invoice_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[InvoiceUpdateParams]) -> Invoice:
        """A draft: any field. Once finalized only ``description`` and ``footer``."""
        return Invoice(self._post(path("/v1/invoices/{}", invoice_id), params, idempotency_key))

    def delete(self, invoice_id: str) -> Deleted:
        """Delete a draft (a finalized invoice is voided instead)."""
        return Deleted(self._delete(path("/v1/invoices/{}", invoice_id)))

    def list(self, **params: Unpack[InvoiceListParams]) -> Page[Invoice]:
        """Newest first; filters ``customer``, ``status``, ``created={"gte": …, "lte": …}``, and ``expand``."""
        return self._client._list("/v1/invoices", params)

    def list_lines(self, invoice_id: str, **params: Unpack[ListParams]) -> Page[LineItem]:
        """The invoice's lines in their order on it (not newest first), a page at a time."""
        return self._client._list(path("/v1/invoices/{}/lines", invoice_id), params)

    def add_line_item(self, invoice_id: str, *, idempotency_key: str | None = None,
                            **params: Unpack[LineCreateParams]) -> Invoice:
        """Add a line to a draft; answers the whole invoice with its new totals."""
        return Invoice(self._post(path("/v1/invoices/{}/lines", invoice_id), params, idempotency_key))

    def update_line_item(self, invoice_id: str, line_id: str, *, idempotency_key: str | None = None,
                               **params: Unpack[LineUpdateParams]) -> Invoice:
        return Invoice(self._post(path("/v1/invoices/{}/lines/{}", invoice_id, line_id), params,
                                        idempotency_key))

    def remove_line_item(self, invoice_id: str, line_id: str) -> Invoice:
        return Invoice(self._delete(path("/v1/invoices/{}/lines/{}", invoice_id, line_id)))

    def einvoice(self, invoice_id: str, *, format: EInvoiceFormat | None = None) -> bytes:
        """The finalized invoice's EN 16931 e-invoice XML (docs/einvoicing.md): ``facturx``, ``xrechnung_cii``,
        ``xrechnung_ubl`` or ``ubl``; by default the customer's ``einvoice.format``, else Factur-X."""
        return bytes(self._client._request("GET", path("/v1/invoices/{}/einvoice", invoice_id),
                                                 params={"format": format}, document=True))

    def finalize(self, invoice_id: str, *, idempotency_key: str | None = None,
                       **params: Unpack[FinalizeParams]) -> Invoice:
        """Lock, number and mint the hosted link; a ``charge_automatically`` invoice is then
        collected at once, unless ``auto_advance=False``."""
        return Invoice(self._post(path("/v1/invoices/{}/finalize", invoice_id), params, idempotency_key))

    def send(self, invoice_id: str, *, idempotency_key: str | None = None) -> Invoice:
        """Email the customer the hosted link (open invoices)."""
        return Invoice(self._post(path("/v1/invoices/{}/send", invoice_id), {}, idempotency_key))

    def pay(self, invoice_id: str, *, idempotency_key: str | None = None, **params: Unpack[PayParams]) -> Invoice:
        """Charge the given or the default payment method off-session, or record a payment
        made another way (``paid_out_of_band=True``, with an ``amount`` for a part).

        A decline is not an exception: the invoice comes back ``open`` with
        ``attempt_count`` raised and ``last_payment_error`` saying why.
        """
        return Invoice(self._post(path("/v1/invoices/{}/pay", invoice_id), params, idempotency_key))

    def void(self, invoice_id: str, *, idempotency_key: str | None = None) -> Invoice:
        return Invoice(self._post(path("/v1/invoices/{}/void", invoice_id), {}, idempotency_key))

    def mark_uncollectible(self, invoice_id: str, *, idempotency_key: str | None = None) -> Invoice:
        return Invoice(self._post(path("/v1/invoices/{}/mark_uncollectible", invoice_id), {},
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


class CreditNotes(Resource):
    """Credit notes: the document that corrects an issued (open, paid or uncollectible) invoice."""

    def create(self, *, idempotency_key: str | None = None,
                     **params: Unpack[CreditNoteCreateParams]) -> CreditNote:
        """Credit ``lines`` of the invoice (a quantity or an amount of its lines, custom lines) or an
        ``amount`` of it; the part past what it has left to pay is split into ``refund_amount``,
        ``out_of_band_amount`` and ``credit_amount`` (to the customer's balance)."""
        return CreditNote(self._post("/v1/credit_notes", params, idempotency_key))

    def preview(self, **params: Unpack[CreditNoteCreateParams]) -> CreditNote:
        """What ``create`` would issue with these parameters; nothing is written."""
        return CreditNote(self._get("/v1/credit_notes/preview", _credit_note_query(params)))

    def retrieve(self, credit_note_id: str) -> CreditNote:
        return CreditNote(self._get(path("/v1/credit_notes/{}", credit_note_id)))

    def update(self, credit_note_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[CreditNoteUpdateParams]) -> CreditNote:
        """Only ``memo`` and ``metadata`` change."""
        return CreditNote(self._post(path("/v1/credit_notes/{}", credit_note_id), params, idempotency_key))

    def void(self, credit_note_id: str, *, idempotency_key: str | None = None) -> CreditNote:
        """While its invoice is open and nothing was refunded: what it took off goes back."""
        return CreditNote(self._post(path("/v1/credit_notes/{}/void", credit_note_id), {}, idempotency_key))

    def list(self, **params: Unpack[CreditNoteListParams]) -> Page[CreditNote]:
        """Newest first; filters ``invoice`` and ``customer``."""
        return self._client._list("/v1/credit_notes", params)

    def einvoice(self, credit_note_id: str, *, format: EInvoiceFormat | None = None) -> bytes:
        """The credit note's EN 16931 e-invoice XML (type code 381), as for invoices."""
        return bytes(self._client._request("GET", path("/v1/credit_notes/{}/einvoice", credit_note_id),
                                                 params={"format": format}, document=True))


class Payments(Resource):
    def retrieve(self, payment_id: str) -> Payment:
        return Payment(self._get(path("/v1/payments/{}", payment_id)))

    def list(self, **params: Unpack[PaymentListParams]) -> Page[Payment]:
        return self._client._list("/v1/payments", params)


class Refunds(Resource):
    def create(self, *, idempotency_key: str | None = None, **params: Unpack[RefundCreateParams]) -> Refund:
        """Refund a completed payment: ``amount`` (default: what is left of it). The answer's
        ``status`` is ``succeeded``, ``failed`` (see ``failure_reason``), or ``pending`` while
        the processor's answer is not clear (VINR asks again; watch ``refund.updated``)."""
        return Refund(self._post("/v1/refunds", params, idempotency_key))

    def retrieve(self, refund_id: str) -> Refund:
        return Refund(self._get(path("/v1/refunds/{}", refund_id)))

    def list(self, **params: Unpack[RefundListParams]) -> Page[Refund]:
        """Newest first; filter ``payment``."""
        return self._client._list("/v1/refunds", params)


class BankStatements(Resource):
    def import_(self, statement: bytes, *, idempotency_key: str | None = None) -> BankStatementImport:
        """Import a camt.053 statement or camt.054 notification (the file's bytes, at most 10 MiB):
        each booked credit entry becomes a bank transaction once, applied to the invoice it names."""
        return BankStatementImport(self._client._request("POST", "/v1/bank_statements", xml=statement,
                                                               idempotency_key=idempotency_key))


class BankTransactions(Resource):
    def retrieve(self, bank_transaction_id: str) -> BankTransaction:
        return BankTransaction(self._get(path("/v1/bank_transactions/{}", bank_transaction_id)))

    def list(self, **params: Unpack[BankTransactionListParams]) -> Page[BankTransaction]:
        """Newest first; filter ``status`` (``"unmatched"``: those waiting to be applied or ignored)."""
        return self._client._list("/v1/bank_transactions", params)

    def apply(self, bank_transaction_id: str, *, invoice: str,
                    idempotency_key: str | None = None) -> BankTransaction:
        """Apply it to a finalized invoice in its currency, as a bank_transfer payment."""
        return BankTransaction(self._post(path("/v1/bank_transactions/{}/apply", bank_transaction_id),
                                                {"invoice": invoice}, idempotency_key))

    def ignore(self, bank_transaction_id: str, *, idempotency_key: str | None = None) -> BankTransaction:
        return BankTransaction(self._post(path("/v1/bank_transactions/{}/ignore", bank_transaction_id), {},
                                                idempotency_key))


class Events(Resource):
    def retrieve(self, event_id: str) -> Event:
        return Event(self._get(path("/v1/events/{}", event_id)))

    def list(self, **params: Unpack[EventListParams]) -> Page[Event]:
        """The last 30 days, newest first; filter ``type`` (e.g. ``"invoice.paid"``)."""
        return self._client._list("/v1/events", params)


class WebhookEndpoints(Resource):
    def create(self, *, idempotency_key: str | None = None,
                     **params: Unpack[WebhookEndpointCreateParams]) -> WebhookEndpoint:
        """The answer's ``secret`` is shown only here: keep it to verify deliveries."""
        return WebhookEndpoint(self._post("/v1/webhook_endpoints", params, idempotency_key))

    def retrieve(self, endpoint_id: str) -> WebhookEndpoint:
        return WebhookEndpoint(self._get(path("/v1/webhook_endpoints/{}", endpoint_id)))

    def update(self, endpoint_id: str, *, idempotency_key: str | None = None,
                     **params: Unpack[WebhookEndpointUpdateParams]) -> WebhookEndpoint:
        return WebhookEndpoint(self._post(path("/v1/webhook_endpoints/{}", endpoint_id), params,
                                                idempotency_key))

    def delete(self, endpoint_id: str) -> Deleted:
        return Deleted(self._delete(path("/v1/webhook_endpoints/{}", endpoint_id)))

    def list(self, **params: Unpack[ListParams]) -> Page[WebhookEndpoint]:
        return self._client._list("/v1/webhook_endpoints", params)

    def roll_secret(self, endpoint_id: str, *, idempotency_key: str | None = None,
                          **params: Unpack[RollSecretParams]) -> WebhookEndpoint:
        """A new ``secret``; the old one keeps signing too for ``expires_in`` seconds."""
        return WebhookEndpoint(self._post(path("/v1/webhook_endpoints/{}/roll_secret", endpoint_id), params,
                                                idempotency_key))

    def list_deliveries(self, endpoint_id: str,
                              **params: Unpack[DeliveryListParams]) -> Page[WebhookDeliveryAttempt]:
        """Every delivery attempt to the endpoint, newest first (filter ``event``)."""
        return self._client._list(path("/v1/webhook_endpoints/{}/deliveries", endpoint_id), params)

    def resend(self, endpoint_id: str, *, event: str, idempotency_key: str | None = None) -> WebhookDelivery:
        return WebhookDelivery(self._post(path("/v1/webhook_endpoints/{}/resend", endpoint_id),
                                                {"event": event}, idempotency_key))

    def recover(self, endpoint_id: str, *, idempotency_key: str | None = None,
                      **params: Unpack[RecoverParams]) -> WebhookRecovery:
        """Send again every delivery to the endpoint that failed since ``since`` (unix seconds)."""
        return WebhookRecovery(self._post(path("/v1/webhook_endpoints/{}/recover", endpoint_id), params,
                                                idempotency_key))


class BrandingResource(Resource):
    def retrieve(self) -> Branding:
        return Branding(self._get("/v1/account/branding"))

    def update(self, *, idempotency_key: str | None = None, **params: Unpack[BrandingUpdateParams]) -> Branding:
        return Branding(self._post("/v1/account/branding", params, idempotency_key))


class BusinessProfileResource(Resource):
    """The seller on the account's invoices (docs/einvoicing.md), shared by both modes."""

    def retrieve(self) -> BusinessProfile:
        return BusinessProfile(self._get("/v1/account/business_profile"))

    def update(self, *, idempotency_key: str | None = None,
                     **params: Unpack[BusinessProfileUpdateParams]) -> BusinessProfile:
        return BusinessProfile(self._post("/v1/account/business_profile", params, idempotency_key))


class SettingsResource(Resource):
    """Collection over time for the key's account and mode (``docs/collection.md``)."""

    def retrieve(self) -> AccountSettings:
        return AccountSettings(self._get("/v1/account/settings"))

    def update(self, *, idempotency_key: str | None = None,
                     **params: Unpack[AccountSettingsUpdateParams]) -> AccountSettings:
        return AccountSettings(self._post("/v1/account/settings", params, idempotency_key))


class Account:
    def __init__(self, client: Vinr) -> None:
        self.branding = BrandingResource(client)
        self.business_profile = BusinessProfileResource(client)
        self.settings = SettingsResource(client)


class TestHelpers(Resource):
    __test__ = False  # not a pytest test class, whatever its name

    def advance_clock(self, *, seconds: int, idempotency_key: str | None = None) -> TestClock:
        """Move the account's test-mode clock forward; what is scheduled (retries, dunning, due
        dates) follows it, and a running worker acts within a few seconds. At most 5 years a
        call and 100 years ahead of real time in all (else :class:`InvalidRequestError`)."""
        return TestClock(self._post("/v1/test_helpers/advance_clock", {"seconds": seconds}, idempotency_key))


class OpenAPI(Resource):
    def retrieve(self) -> dict[str, Any]:
        """The server's OpenAPI 3.1 document, as plain JSON."""
        document: dict[str, Any] = self._client._request("GET", "/v1/openapi.json")
        return document
