"""Response shapes, for the OpenAPI document and for tests that hold the
serializers to it (tests/api/test_openapi.py validates real responses)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Obj(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListOf(Obj, Generic[T]):
    object: Literal["list"]
    data: list[T]
    has_more: bool
    url: str


class Deleted(Obj):
    id: str
    object: str
    deleted: Literal[True]


class ErrorBody(Obj):
    type: Literal["invalid_request_error", "authentication_error", "card_error", "idempotency_error",
                  "rate_limit_error", "api_error"]
    code: str
    message: str
    param: str | None = None
    decline_code: str | None = None


class Error(Obj):
    error: ErrorBody


class Address(Obj):
    line1: str | None
    line2: str | None
    city: str | None
    postal_code: str | None
    state: str | None
    country: str | None


class TaxIdObject(Obj):
    type: Literal["eu_vat", "gb_vat", "ch_vat", "no_vat", "de_stn"]
    value: str = Field(description="Compact: no spaces or dots, country prefix first (DE123456788)")


class EInvoiceObject(Obj):
    buyer_reference: str | None
    format: Literal["none", "facturx", "xrechnung_cii", "xrechnung_ubl", "ubl"]


class BankAccountObject(Obj):
    account_holder: str | None
    iban: str
    bic: str | None


class LegalObject(Obj):
    """The seller as an invoice prints it (the business profile, docs/einvoicing.md)."""

    legal_name: str | None
    address: Address | None
    vat_id: str | None
    tax_number: str | None
    registration: str | None
    contact_name: str | None = Field(description="The seller's contact point (EN 16931 BT-41); the legal "
                                                 "name when none was set")
    email: str | None
    phone: str | None
    website: str | None
    bank_account: BankAccountObject | None
    small_business: bool


class CustomerObject(Obj):
    id: str
    object: Literal["customer"]
    livemode: bool
    created: int
    email: str | None
    name: str | None
    address: Address | None
    preferred_locales: list[str]
    tax_exempt: Literal["none", "exempt", "reverse"]
    coupon: str | None
    invoice_settings: dict[str, str | None]
    tax_ids: list[TaxIdObject]
    einvoice: EInvoiceObject
    balance: int = Field(description=(
        "Minor units; negative: credit the merchant owes the customer, taken off their next invoice in "
        "that currency at finalization"))
    currency: str | None = Field(description="The currency of balance; null while it never held one")
    metadata: dict[str, str]


class PriceObject(Obj):
    id: str
    object: Literal["price"]
    livemode: bool
    created: int
    unit_amount: int
    currency: str
    nickname: str | None
    active: bool
    metadata: dict[str, str]


class CouponObject(Obj):
    id: str
    object: Literal["coupon"]
    livemode: bool
    created: int
    name: str | None
    percent_off: int | float | None
    amount_off: int | None
    currency: str | None
    duration: Literal["once", "forever"]
    valid: bool
    metadata: dict[str, str]


class TaxRateObject(Obj):
    id: str
    object: Literal["tax_rate"]
    livemode: bool
    created: int
    display_name: str
    percentage: int | float
    inclusive: bool
    country: str | None
    state: str | None
    active: bool
    metadata: dict[str, str]


class TaxAmount(Obj):
    """Tax per rate and VAT category: the taxable amount, the rate and the tax."""

    tax_rate: str | None = Field(description="The tax rate (txr_…); null for what pays no rate")
    amount: int = Field(description="The tax, in minor units")
    inclusive: bool
    taxable_amount: int = Field(description=(
        "The basis, in minor units: the net amount after discounts (and without inclusive tax)"))
    category: str = Field(description=(
        "UNTDID 5305 VAT category (EN 16931 BT-118): S standard (a rate above 0), E exempt, "
        "AE reverse charge"))


class DiscountAmount(Obj):
    coupon: str
    amount: int


class Period(Obj):
    start: int = Field(description="unix seconds")
    end: int = Field(description="unix seconds, not before start; both ends are included")


class LineObject(Obj):
    id: str
    object: Literal["line_item"]
    description: str | None
    quantity: int
    unit: str = Field(description="UN/ECE Recommendation 20 unit code (C62 one, HUR hour, DAY day, …)")
    unit_amount: int
    amount: int
    price: str | None
    invoice_item: str | None
    service_period: Period | None
    tax_rates: list[str] | None = Field(description=(
        "The tax rates this line pays; null: the invoice's default_tax_rates, else the rates for the "
        "customer's location"))
    discount_amount: int
    tax_amounts: list[TaxAmount]
    metadata: dict[str, str]


class StatusTransitions(Obj):
    finalized_at: int | None
    paid_at: int | None
    voided_at: int | None
    marked_uncollectible_at: int | None


class FinalizationError(Obj):
    code: str
    message: str


class InvoiceObject(Obj):
    id: str
    object: Literal["invoice"]
    livemode: bool
    created: int
    metadata: dict[str, str]
    customer: str | CustomerObject
    customer_email: str | None
    customer_name: str | None
    customer_address: Address | None
    customer_tax_ids: list[TaxIdObject] | None = Field(description="The customer's tax ids, copied at finalization")
    account_legal: LegalObject | None = Field(description=(
        "The seller: the account's business profile as it was at finalization (null while a draft)"))
    service_period: Period | None = Field(description="The supply period; null: the supply date is the "
                                                      "finalization date")
    buyer_reference: str | None = Field(description="EN 16931 BT-10 (Leitweg-ID or the buyer's order "
                                                    "reference); at finalization the customer's when null")
    payment_reference: str | None = Field(description=(
        "The ISO 11649 structured creditor reference (RF…) a bank transfer quotes, derived from the number "
        "at finalization and never changed; EN 16931 BT-83 in the e-invoice. Null on a draft."))
    status: Literal["draft", "open", "paid", "void", "uncollectible"]
    number: str | None
    currency: str
    collection_method: Literal["charge_automatically", "send_invoice"]
    days_until_due: int | None
    due_date: int | None
    auto_advance: bool
    description: str | None
    footer: str | None
    lines: ListOf[LineObject]
    subtotal: int
    discount: int
    tax: int
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    starting_balance: int = Field(description=(
        "The customer's balance before finalization applied it (negative: credit), minor units"))
    ending_balance: int | None = Field(description=(
        "The customer's balance after finalization took its credit off amount_due; null while a draft"))
    pre_payment_credit_notes_amount: int = Field(description=(
        "What the invoice's credit notes took off amount_due before it was paid"))
    post_payment_credit_notes_amount: int = Field(description=(
        "What the invoice's credit notes credited after it was paid (refunded, out of band, to the balance)"))
    tax_amounts: list[TaxAmount]
    discounts: list[DiscountAmount]
    default_tax_rates: list[str] | None = Field(description=(
        "The tax rates every line without its own tax_rates pays ([] : none); null: the rates for "
        "the customer's location"))
    attempt_count: int
    next_payment_attempt: int | None
    last_payment_error: dict[str, Any] | None
    last_finalization_error: FinalizationError | None = Field(
        description="Why VINR could not finalize this auto_advance draft by itself; it stays a draft")
    last_sent_at: int | None = Field(
        description="When the mail server last took an email with the hosted link (send, reminder, "
                    "authentication request)")
    payment: str | None
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    status_transitions: StatusTransitions


class InvoiceItemObject(Obj):
    id: str
    object: Literal["invoiceitem"]
    livemode: bool
    created: int
    customer: str
    currency: str
    description: str | None
    amount: int
    unit_amount: int
    quantity: int
    unit: str
    service_period: Period | None
    price: str | None
    invoice: str | None
    tax_rates: list[str] | None = Field(description="The tax rates the line made from this item pays; null: "
                                                    "the invoice's default_tax_rates, else those for the "
                                                    "customer's location")
    metadata: dict[str, str]


class EventObject(Obj):
    """A state change, kept 30 days (docs/webhooks.md)."""

    id: str
    object: Literal["event"]
    type: str
    created: int
    livemode: bool
    data: dict[str, Any] = Field(description=(
        "The object as it was right after the change. An invoice embeds at most its first 10 lines: "
        "lines.has_more says whether it has more, and lines.url lists them all, so an event's size "
        "does not grow with the invoice."))


class CardObject(Obj):
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class PaymentMethodObject(Obj):
    id: str
    object: Literal["payment_method"]
    livemode: bool
    created: int
    customer: str | None = Field(description="null once the customer was deleted (the card is detached)")
    type: Literal["card"]
    card: CardObject
    metadata: dict[str, str]


class PaymentCard(Obj):
    brand: str
    last4: str


class PaymentBankTransfer(Obj):
    bank_transaction: str = Field(description="The bank statement entry (btxn_…) the transfer was read from")
    booked_at: int = Field(description="When the bank booked it (unix seconds)")
    debtor_name: str | None = Field(description="Who sent it, as the statement says")


class PaymentObject(Obj):
    id: str
    object: Literal["payment"]
    livemode: bool
    created: int
    amount: int
    currency: str
    status: Literal["processing", "requires_action", "completed", "failed"] = Field(description=(
        "processing: the charge, or its 3D Secure confirmation, is with the processor. An attempt the "
        "processor gave no clear answer to (it may have charged) is shown as failed with failure_code "
        "processor_unavailable or processor_invalid_response; it is asked about again, with the same "
        "idempotency key, before anything new is charged for its invoice, and may still become completed."))
    invoice: str
    customer: str
    payment_method: str | None
    card: PaymentCard | None
    failure_code: str | None
    decline_code: str | None
    failure_message: str | None
    amount_refunded: int = Field(description=(
        "Minor units given back or being given back: the sum of its pending and succeeded refunds. What is "
        "left to refund is amount - amount_refunded."))
    payment_method_type: Literal["card", "sepa_debit", "bank_transfer", "out_of_band"] = Field(description=(
        "How the money came: a card charge, a SEPA Direct Debit, a bank transfer read off the merchant's "
        "bank statement, or a payment the merchant recorded with paid_out_of_band."))
    bank_transfer: PaymentBankTransfer | None = Field(description="For a bank_transfer: the statement entry.")


class RefundObject(Obj):
    """Money given back on a completed payment (docs/payments.md, "Refunds")."""

    id: str
    object: Literal["refund"]
    livemode: bool
    created: int
    amount: int
    currency: str
    payment: str
    status: Literal["pending", "succeeded", "failed", "canceled"] = Field(description=(
        "pending: with the processor, or its answer is not clear yet (it is asked again, with the same "
        "idempotency key, until it is); its amount counts against the payment meanwhile. failed: the "
        "processor refused it (failure_reason); canceled: the processor canceled it. Neither counts."))
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None
    failure_reason: str | None = Field(description=(
        "Why it failed: the processor's reason (expired_or_canceled_card, lost_or_stolen_card, declined, "
        "unknown) or why the processor refused the request (processor_invalid_request, …)"))
    credit_note: str | None = Field(description="The credit note that gave this money back, if any")
    metadata: dict[str, str]


class WebhookEndpointObject(Obj):
    """Where events are POSTed (docs/webhooks.md)."""

    id: str
    object: Literal["webhook_endpoint"]
    livemode: bool
    created: int
    url: str
    description: str | None
    enabled_events: list[str]
    disabled: bool
    disabled_reason: str | None = Field(description="Why it stopped receiving: a 410 answer, five days of "
                                                    "failures, or the API.")
    previous_secret_expires_at: int | None = Field(description=(
        "During a secret roll: until when (unix seconds) the previous secret signs too."))
    metadata: dict[str, str]
    secret: str | None = Field(default=None, description=(
        "whsec_ and base64 of 32 random bytes: only in the answers to create and roll_secret."))


class WebhookDeliveryObject(Obj):
    """One event for one endpoint."""

    id: str
    object: Literal["webhook_delivery"]
    livemode: bool
    created: int
    endpoint: str
    event: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempt_count: int = Field(description="Tries since the delivery was last (re)planned.")
    last_attempt_at: int | None
    next_attempt_at: int | None


class WebhookAttemptObject(Obj):
    """One HTTP try of a delivery. Times follow the account's clock (a test clock in test mode)."""

    id: str
    object: Literal["webhook_delivery_attempt"]
    livemode: bool
    created: int
    delivery: str
    endpoint: str
    event: str
    event_type: str
    succeeded: bool
    http_status: int | None
    error: str | None = Field(description="Why it failed without a usable answer: timeout, connection_failed, "
                                           "redirect, address_blocked, …")
    duration_ms: int
    next_retry_at: int | None


class WebhookRecovery(Obj):
    object: Literal["webhook_recovery"]
    endpoint: str
    deliveries_planned: int


class TestClockObject(Obj):
    object: Literal["test_clock"]
    livemode: Literal[False]
    now: int = Field(description="The account's test-mode time, unix seconds.")


class CreditNoteLineObject(Obj):
    id: str
    object: Literal["credit_note_line_item"]
    type: Literal["invoice_line_item", "custom_line_item"]
    invoice_line_item: str | None = Field(description="The invoice's line (il_…) this credits part of")
    description: str | None
    quantity: int
    unit: str
    unit_amount: int
    amount: int = Field(description="What is credited, after the invoice's discounts and without exclusive tax")
    discount_amount: int
    tax_amounts: list[TaxAmount]


class CreditNoteObject(Obj):
    """A credit note: the document that corrects an issued invoice (docs/credit_notes.md)."""

    id: str
    object: Literal["credit_note"]
    livemode: bool
    created: int
    number: str = Field(description="<invoice number>-CN-01, sequential per invoice")
    invoice: str
    customer: str
    currency: str
    status: Literal["issued", "void"]
    reason: Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"] | None
    memo: str | None
    lines: list[CreditNoteLineObject]
    subtotal: int
    tax: int
    total: int
    tax_amounts: list[TaxAmount]
    pre_payment_amount: int = Field(description="Taken off the invoice's amount_due")
    post_payment_amount: int = Field(description="refund_amount + out_of_band_amount + credit_amount")
    refund: str | None = Field(description="The refund (re_…) of refund_amount")
    refund_amount: int
    out_of_band_amount: int
    credit_amount: int = Field(description="Credited to the customer's balance")
    pdf: str | None = Field(description="The PDF; needs no key (null in a preview)")
    voided_at: int | None
    metadata: dict[str, str]


CreditNoteList = ListOf[CreditNoteObject]
CustomerList = ListOf[CustomerObject]
PaymentMethodList = ListOf[PaymentMethodObject]
PaymentList = ListOf[PaymentObject]
RefundList = ListOf[RefundObject]


class BankTransactionObject(Obj):
    """A credit entry of an imported bank statement (docs/payments.md, "Reconciliation")."""

    id: str
    object: Literal["bank_transaction"]
    livemode: bool
    created: int
    amount: int = Field(description="Minor units")
    currency: str
    booked_at: int = Field(description="The booking date (00:00 UTC) or date and time, unix seconds")
    remittance_information: str | None = Field(description="The unstructured remittance lines, joined by spaces")
    creditor_reference: str | None = Field(description="The structured creditor reference (an RF… reference)")
    debtor_name: str | None
    debtor_iban: str | None
    bank_account: str | None = Field(description="The account it was booked to, as the statement names it")
    entry_reference: str | None = Field(description="The bank's reference for the entry (AcctSvcrRef, else "
                                                    "NtryRef)")
    statement_reference: str | None = Field(description="The id of the statement or notification it came in")
    status: Literal["matched", "unmatched", "ignored"] = Field(description=(
        "matched: applied to its invoice as a bank_transfer payment; unmatched: waiting to be applied or "
        "ignored; ignored: the merchant said it pays no invoice"))
    invoice: str | None
    payment: str | None


BankTransactionList = ListOf[BankTransactionObject]


class BankStatementImport(Obj):
    """What importing a camt.053 or camt.054 file did."""

    object: Literal["bank_statement_import"]
    message: str = Field(description="The ISO 20022 message read, e.g. camt.053.001.02")
    entries: int = Field(description="Booked credit entries in the file")
    created: int = Field(description="Of them, recorded now as bank transactions")
    duplicates: int = Field(description="Of them, recorded before (the same or an overlapping statement): "
                                        "nothing applied again")
    matched: int = Field(description="Of those created, applied to an invoice")
    unmatched: int = Field(description="Of those created, waiting to be applied or ignored")
    skipped: int = Field(description="Debits, entries not booked and reversals: not bank transactions")
PriceList = ListOf[PriceObject]
CouponList = ListOf[CouponObject]
TaxRateList = ListOf[TaxRateObject]
InvoiceList = ListOf[InvoiceObject]
LineList = ListOf[LineObject]
InvoiceItemList = ListOf[InvoiceItemObject]
EventList = ListOf[EventObject]
WebhookEndpointList = ListOf[WebhookEndpointObject]
WebhookAttemptList = ListOf[WebhookAttemptObject]
