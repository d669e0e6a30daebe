"""The parameters of each operation, as ``TypedDict`` s for type checkers and editors.

Methods take them as keyword arguments (``vinr.invoices.create(customer=…, days_until_due=30)``);
a key missing here but known to a newer server can still be passed (the type
checker will flag it, the API decides). Amounts are integers in the currency's
minor unit; times are unix seconds. The server validates everything again and
answers :class:`vinr.InvalidRequestError` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Required, TypedDict

Metadata = Mapping[str, str]
Expand = Sequence[Literal["customer"]]
EInvoiceFormat = Literal["facturx", "xrechnung_cii", "xrechnung_ubl", "ubl"]


class ListParams(TypedDict, total=False):
    limit: int  # 1 to 100, default 10
    starting_after: str
    ending_before: str


class AddressParams(TypedDict, total=False):
    line1: str | None
    line2: str | None
    city: str | None
    postal_code: str | None
    state: str | None
    country: str | None  # ISO 3166-1 alpha-2


class InvoiceSettingsParams(TypedDict, total=False):
    default_payment_method: str | None


class TaxIdParams(TypedDict):
    type: Literal["eu_vat", "gb_vat", "ch_vat", "no_vat", "de_stn"]
    value: str  # checked by its check digits, e.g. DE123456788


class EInvoiceParams(TypedDict, total=False):
    buyer_reference: str | None  # Leitweg-ID or the buyer's order reference (BT-10)
    format: Literal["none", "facturx", "xrechnung_cii", "xrechnung_ubl", "ubl"]


class PeriodParams(TypedDict):
    start: int  # unix seconds
    end: int  # unix seconds, not before start


class CustomerCreateParams(TypedDict, total=False):
    email: str | None
    name: str | None
    address: AddressParams | None
    preferred_locales: Sequence[str]
    tax_exempt: Literal["none", "exempt", "reverse"]
    coupon: str | None
    invoice_settings: InvoiceSettingsParams | None
    tax_ids: Sequence[TaxIdParams] | None  # replaces the customer's tax ids
    einvoice: EInvoiceParams | None
    metadata: Metadata


class CustomerUpdateParams(CustomerCreateParams, total=False):
    pass


class CustomerListParams(ListParams, total=False):
    email: str


class CardParams(TypedDict):
    number: str
    exp_month: int
    exp_year: int
    cvc: str


class PaymentMethodCreateParams(TypedDict, total=False):
    card: Required[CardParams]
    set_default: bool


class PriceCreateParams(TypedDict, total=False):
    unit_amount: Required[int]
    currency: Required[str]
    nickname: str | None
    metadata: Metadata


class CouponCreateParams(TypedDict, total=False):
    id: str | None
    name: str | None
    percent_off: float | None
    amount_off: int | None
    currency: str | None
    duration: Literal["once", "forever"]
    metadata: Metadata


class TaxRateCreateParams(TypedDict, total=False):
    display_name: Required[str]
    percentage: Required[float]  # 19 or 7.5
    inclusive: bool
    country: str | None
    state: str | None
    active: bool
    metadata: Metadata


class TaxRateUpdateParams(TypedDict, total=False):
    active: bool | None
    display_name: str | None
    metadata: Metadata | None


class InvoiceItemCreateParams(TypedDict, total=False):
    customer: Required[str]
    currency: str | None
    description: str | None
    amount: int | None
    unit_amount: int | None
    quantity: int | None
    unit: str  # UN/ECE Recommendation 20 code, default C62
    price: str | None
    service_period: PeriodParams | None
    tax_rates: Sequence[str] | None  # [] : none; None: the invoice's default_tax_rates
    metadata: Metadata


class InvoiceItemListParams(ListParams, total=False):
    customer: str
    pending: bool


class DiscountParams(TypedDict):
    coupon: str


class InvoiceUpdateParams(TypedDict, total=False):
    collection_method: Literal["charge_automatically", "send_invoice"] | None
    days_until_due: int | None
    due_date: int | None
    auto_advance: bool | None
    description: str | None
    footer: str | None
    metadata: Metadata | None
    discounts: Sequence[DiscountParams] | None
    default_tax_rates: Sequence[str] | None
    service_period: PeriodParams | None
    buyer_reference: str | None
    currency: str | None


class InvoiceCreateParams(InvoiceUpdateParams, total=False):
    customer: Required[str]
    pending_invoice_items_behavior: Literal["include", "exclude"]


class CreatedFilter(TypedDict, total=False):
    gte: int  # unix seconds
    lte: int


class InvoiceListParams(ListParams, total=False):
    customer: str
    status: Literal["draft", "open", "paid", "void", "uncollectible"]
    created: CreatedFilter  # sent as created[gte] / created[lte]
    expand: Expand


class LineCreateParams(TypedDict, total=False):
    description: str | None
    quantity: int
    unit: str  # UN/ECE Recommendation 20 code: C62 (default) one, HUR hour, DAY day, ...
    unit_amount: int | None
    price: str | None
    service_period: PeriodParams | None
    tax_rates: Sequence[str] | None  # [] : none; None: the invoice's default_tax_rates
    metadata: Metadata


class LineUpdateParams(TypedDict, total=False):
    description: str | None
    quantity: int | None
    unit: str
    unit_amount: int | None
    price: str | None
    service_period: PeriodParams | None
    tax_rates: Sequence[str] | None  # [] : none; None: the invoice's default_tax_rates
    metadata: Metadata | None


class FinalizeParams(TypedDict, total=False):
    #: False: do not collect now, even a ``charge_automatically`` invoice (call ``pay`` yourself).
    auto_advance: bool | None


class PayParams(TypedDict, total=False):
    payment_method: str | None
    paid_out_of_band: bool
    #: With ``paid_out_of_band``: the part paid, minor units (default: all that remains). More
    #: than remains settles the invoice and credits the excess to the customer's balance.
    amount: int


class PaymentListParams(ListParams, total=False):
    invoice: str


class RefundCreateParams(TypedDict, total=False):
    payment: Required[str]
    amount: int  # minor units; default: what is left of the payment
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None
    metadata: Metadata


class RefundListParams(ListParams, total=False):
    payment: str


class BankTransactionListParams(ListParams, total=False):
    status: str  # matched, unmatched, ignored


class EventListParams(ListParams, total=False):
    type: str


class WebhookEndpointCreateParams(TypedDict, total=False):
    url: Required[str]
    enabled_events: Required[Sequence[str]]  # event types, or ["*"]
    description: str | None
    metadata: Metadata


class WebhookEndpointUpdateParams(TypedDict, total=False):
    url: str | None
    enabled_events: Sequence[str] | None
    description: str | None
    disabled: bool | None
    metadata: Metadata


class RollSecretParams(TypedDict, total=False):
    expires_in: int  # seconds the old secret keeps signing


class DeliveryListParams(ListParams, total=False):
    event: str


class RecoverParams(TypedDict, total=False):
    since: Required[int]
    until: int | None


class BrandingUpdateParams(TypedDict, total=False):
    theme: str | None
    display_name: str | None
    primary_color: str | None  # "#rrggbb"
    accent_color: str | None
    logo: str | None  # a PNG or JPEG data URI, at most 256 KiB
    support_email: str | None
    support_phone: str | None
    support_url: str | None


class BankAccountParams(TypedDict, total=False):
    account_holder: str | None
    iban: Required[str]  # checked by its check digits
    bic: str | None


class BusinessProfileUpdateParams(TypedDict, total=False):
    legal_name: str | None
    address: AddressParams | None
    vat_id: str | None  # with its country prefix, e.g. DE123456788; checked by its check digits
    tax_number: str | None
    registration: str | None
    contact_name: str | None
    email: str | None
    phone: str | None
    website: str | None
    bank_account: BankAccountParams | None
    small_business: bool


class AccountSettingsUpdateParams(TypedDict, total=False):
    auto_advance_delay: int  # seconds
    dunning_retry_days: Sequence[int]
    reminder_days_before_due: Sequence[int]
    reminder_days_after_due: Sequence[int]
    attach_pdf: bool


class CreditNoteLineParams(TypedDict, total=False):
    type: Required[Literal["invoice_line_item", "custom_line_item"]]
    invoice_line_item: str  # invoice_line_item: the invoice's line (il_…)
    quantity: int  # of its units; or amount; neither: all that is left of it
    amount: int
    description: str  # custom_line_item
    unit_amount: int
    unit: str
    tax_rates: list[str]  # among the invoice's own


class CreditNoteCreateParams(TypedDict, total=False):
    invoice: Required[str]
    lines: list[CreditNoteLineParams]
    amount: int  # instead of lines: a share of the whole invoice, tax included
    reason: Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"]
    memo: str
    refund_amount: int
    out_of_band_amount: int
    credit_amount: int
    metadata: dict[str, str]


class CreditNoteUpdateParams(TypedDict, total=False):
    memo: str | None
    metadata: dict[str, str] | None


class CreditNoteListParams(ListParams, total=False):
    invoice: str
    customer: str
