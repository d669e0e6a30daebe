"""What the API answers, as Python objects.

Every object is a read-only mapping of its JSON fields that also offers them
as attributes (``invoice.amount_due`` is ``invoice["amount_due"]``). The classes
below declare the fields the SDK knows, for type checkers and editors; a field
the SDK does not know yet (a newer server) is kept and reachable the same way,
so an older SDK keeps working. Nested objects are converted by their
``object`` name (``invoice.customer`` is a :class:`Customer` with
``expand=["customer"]``), other nested JSON objects become plain
:class:`VinrObject` mappings, and lists (``"object": "list"`` with a ``data``
array) become :class:`ListObject`. ``metadata`` is the merchant's own data: at
any depth it is plain mappings, whatever keys it holds (``"object"`` too).

A declared field that may be null reads as ``None`` when the answer leaves it
out (``endpoint.secret`` after creation); any other missing field is an
``AttributeError``. A field whose name is also a mapping method (``items``, ``keys``, ``values``,
``get``) is read with ``obj["items"]``.
"""

from __future__ import annotations

import builtins
import inspect
import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar, overload

T = TypeVar("T")
O = TypeVar("O", bound="VinrObject")  # noqa: E741 - the conventional name reads well here

_REGISTRY: dict[str, type[VinrObject]] = {}


def construct(value: Any) -> Any:
    """Convert decoded JSON into SDK objects (see the module docstring); other values as they are."""
    if isinstance(value, dict):
        kind = value.get("object")
        if kind == "list" and isinstance(value.get("data"), list):
            return ListObject(value)
        cls = _REGISTRY.get(kind, VinrObject) if isinstance(kind, str) else VinrObject
        return cls(value)
    if isinstance(value, list):
        return [construct(item) for item in value]
    return value


def _field(key: str, value: Any) -> Any:
    """A field's value: ``metadata`` is the merchant's own data, so its keys (an
    ``"object"`` among them) never choose a class."""
    return _data(value) if key == "metadata" else construct(value)


def _data(value: Any) -> Any:
    """Merchant data as given: every JSON object a plain :class:`VinrObject`, whatever it holds."""
    if isinstance(value, dict):
        obj = VinrObject.__new__(VinrObject)
        object.__setattr__(obj, "_values", {key: _data(item) for key, item in value.items()})
        return obj
    if isinstance(value, list):
        return [_data(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, VinrObject | ListObject):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class VinrObject(Mapping[str, Any]):
    """A JSON object of the API: a read-only mapping whose fields are also attributes."""

    #: The API's ``object`` name this class stands for (``None``: any other JSON object).
    OBJECT_NAME: ClassVar[str | None] = None

    __slots__ = ("_values",)
    _values: dict[str, Any]

    #: Declared fields that may be null: absent from an answer they read as ``None`` (the
    #: API leaves some out, like an endpoint's ``secret`` after its creation, or a field of
    #: a newer server than the one answering).
    _NULLABLE: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.OBJECT_NAME is not None:
            _REGISTRY[cls.OBJECT_NAME] = cls
        # Annotations are strings here (PEP 563): "int | None" names its None.
        cls._NULLABLE = frozenset(
            name for klass in cls.__mro__ for name, annotation in inspect.get_annotations(klass).items()
            if isinstance(annotation, str) and re.search(r"\bNone\b", annotation) and not name.startswith("_"))

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_values", {key: _field(key, value) for key, value in (values or {}).items()})

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: every JSON field, known to this SDK or not.
        if name.startswith("__"):
            raise AttributeError(name)  # dunder probes (copy, pickle) must not see fields
        try:
            return self._values[name]
        except KeyError:
            if name in self._NULLABLE:
                return None
            raise AttributeError(f"{type(self).__name__} object has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: change it through the API")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        ident = self._values.get("id")
        head = f"<{type(self).__name__}" + (f" id={ident}" if ident is not None else "")
        return f"{head} {self.to_dict()!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.to_dict(),))

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {key for key in self._values if key.isidentifier()})

    def to_dict(self) -> dict[str, Any]:
        """The object as plain JSON values (dicts, lists, str, int, float, bool, None)."""
        return {key: _plain(value) for key, value in self._values.items()}


class ListObject(Generic[T]):
    """A page of a list (``{"object": "list", "data", "has_more", "url"}``).

    Iterating it, ``len()`` and ``page[0]`` work on its items (``data``); ``page["has_more"]``
    reads a field. Lists returned by a ``list`` method are :class:`vinr.Page` (or
    :class:`vinr.AsyncPage`), which also fetch the following pages.
    """

    __slots__ = ("_values",)
    _values: dict[str, Any]

    object: str
    data: list[T]
    has_more: bool
    url: str

    def __init__(self, values: Mapping[str, Any]) -> None:
        converted = {key: _field(key, value) for key, value in values.items()}
        converted.setdefault("data", [])
        converted.setdefault("has_more", False)
        object.__setattr__(self, "_values", converted)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            if name in ("auto_paging_iter", "next_page"):
                # A list inside an object (invoice.lines) holds what was embedded (an event's
                # invoice at most 10 lines); the list call of its url has them all.
                raise AttributeError(
                    f"a list inside an object does not fetch pages ({name}): its own list call has every item "
                    f"(for invoice.lines: vinr.invoices.list_lines(invoice.id).auto_paging_iter()); "
                    f"url: {self._values.get('url')}") from None
            raise AttributeError(f"list object has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a list page is read-only")

    @overload
    def __getitem__(self, key: int) -> T: ...
    @overload
    def __getitem__(self, key: slice) -> list[T]: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: int | slice | str) -> Any:
        if isinstance(key, str):
            return self._values[key]
        return self._values["data"][key]

    def __iter__(self) -> Iterator[T]:
        return iter(self._values["data"])

    def __len__(self) -> int:
        return len(self._values["data"])

    def __bool__(self) -> bool:
        return True  # a page is a result even when it holds no items

    def __eq__(self, other: builtins.object) -> bool:  # the class body's "object" is a field
        if not isinstance(other, ListObject):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # equal by value, like the mappings it holds

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy holds the page's values, not the client that could fetch the next one.
        return (ListObject, (self.to_dict(),))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} url={self._values.get('url')} items={len(self)} has_more={self.has_more}>"

    def to_dict(self) -> dict[str, Any]:
        """The page as plain JSON values."""
        return {key: _plain(value) for key, value in self._values.items()}


class Deleted(VinrObject):
    """The answer to a delete: ``{"id", "object", "deleted": true}``."""

    id: str
    object: str
    deleted: bool



class Customer(VinrObject):
    OBJECT_NAME = "customer"
    id: str
    object: str
    livemode: bool
    created: int
    email: str | None
    name: str | None
    address: VinrObject | None
    preferred_locales: list[str]
    tax_exempt: str
    coupon: str | None
    invoice_settings: VinrObject
    #: ``[{"type", "value"}]``: ``eu_vat``, ``gb_vat``, ``ch_vat``, ``no_vat`` or ``de_stn``
    #: (servers with business profiles, docs/einvoicing.md).
    tax_ids: list[VinrObject]
    #: ``buyer_reference`` and ``format`` (``none``, ``facturx``, ``xrechnung_cii``, ``xrechnung_ubl``, ``ubl``).
    einvoice: VinrObject
    metadata: Mapping[str, str]



class PaymentMethod(VinrObject):
    OBJECT_NAME = "payment_method"
    id: str
    object: str
    livemode: bool
    created: int
    customer: str | None
    type: str
    card: VinrObject
    metadata: Mapping[str, str]


class Price(VinrObject):
    OBJECT_NAME = "price"
    id: str
    object: str
    livemode: bool
    created: int
    unit_amount: int  # minor units
    currency: str
    nickname: str | None
    active: bool
    metadata: Mapping[str, str]


class Coupon(VinrObject):
    OBJECT_NAME = "coupon"
    id: str
    object: str
    livemode: bool
    created: int
    name: str | None
    percent_off: float | None
    amount_off: int | None  # minor units
    currency: str | None
    duration: str
    valid: bool
    metadata: Mapping[str, str]


class TaxRate(VinrObject):
    OBJECT_NAME = "tax_rate"
    id: str
    object: str
    livemode: bool
    created: int
    display_name: str
    percentage: float
    inclusive: bool
    country: str | None
    state: str | None
    active: bool
    metadata: Mapping[str, str]


class LineItem(VinrObject):
    OBJECT_NAME = "line_item"
    id: str
    object: str
    description: str | None
    quantity: int
    unit: str  # UN/ECE Recommendation 20 code: C62 one, HUR hour, DAY day, ...
    unit_amount: int  # minor units
    amount: int  # minor units
    price: str | None
    invoice_item: str | None
    service_period: VinrObject | None  # start, end (unix seconds)
    tax_rates: list[str] | None  # None: the invoice's default_tax_rates, else the customer's location's
    discount_amount: int
    #: Per rate: ``tax_rate`` (None for what pays none), ``amount``, ``inclusive``,
    #: ``taxable_amount`` and ``category`` (UNTDID 5305: S, E, AE).
    tax_amounts: list[VinrObject]
    metadata: Mapping[str, str]


class InvoiceItem(VinrObject):
    OBJECT_NAME = "invoiceitem"
    id: str
    object: str
    livemode: bool
    created: int
    customer: str
    currency: str
    description: str | None
    amount: int  # minor units
    unit_amount: int
    quantity: int
    unit: str
    service_period: VinrObject | None
    price: str | None
    invoice: str | None
    tax_rates: list[str] | None
    metadata: Mapping[str, str]


class Invoice(VinrObject):
    """An invoice. Amounts are integers in the currency's minor unit."""

    OBJECT_NAME = "invoice"
    id: str
    object: str
    livemode: bool
    created: int
    metadata: Mapping[str, str]
    customer: str | Customer  # a Customer with expand=["customer"]
    customer_email: str | None
    customer_name: str | None
    customer_address: VinrObject | None
    #: The customer's tax ids, copied at finalization (None while a draft).
    customer_tax_ids: list[VinrObject] | None
    #: The seller: the business profile as it was at finalization (None while a draft).
    account_legal: VinrObject | None
    service_period: VinrObject | None  # start, end (unix seconds)
    buyer_reference: str | None
    #: The ISO 11649 creditor reference (``RF…``) a bank transfer quotes; None on a draft
    #: (servers with issue 29's bank transfers).
    payment_reference: str | None
    status: str  # draft, open, paid, void, uncollectible
    number: str | None
    currency: str
    collection_method: str
    days_until_due: int | None
    due_date: int | None
    auto_advance: bool
    description: str | None
    footer: str | None
    lines: ListObject[LineItem]
    subtotal: int
    discount: int
    tax: int
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    #: The customer's balance before and after finalization took its credit off amount_due.
    starting_balance: int
    ending_balance: int | None
    #: What credit notes took off amount_due, and credited after payment (servers with issue 28).
    pre_payment_credit_notes_amount: int
    post_payment_credit_notes_amount: int
    tax_amounts: list[VinrObject]
    discounts: list[VinrObject]
    default_tax_rates: list[str] | None  # [] : none; None: the rates for the customer's location
    attempt_count: int
    next_payment_attempt: int | None
    #: ``code``, ``decline_code``, ``message`` and ``payment`` of the last failed attempt.
    last_payment_error: VinrObject | None
    #: Unix seconds of the last email of the invoice (servers with issue 13's emails).
    last_sent_at: int | None
    #: ``code`` and ``message`` of the last failed automatic finalization (servers with issue 13).
    last_finalization_error: VinrObject | None
    payment: str | None
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    status_transitions: VinrObject


class CreditNote(VinrObject):
    """A credit note: the document that corrects an issued invoice. Amounts in minor units."""

    OBJECT_NAME = "credit_note"
    id: str
    object: str
    livemode: bool
    created: int
    number: str  # <invoice number>-CN-01
    invoice: str
    customer: str
    currency: str
    status: str  # issued, void
    reason: str | None  # duplicate, fraudulent, order_change, product_unsatisfactory
    memo: str | None
    lines: list[VinrObject]
    subtotal: int
    tax: int
    total: int
    tax_amounts: list[VinrObject]
    pre_payment_amount: int  # taken off the invoice's amount_due
    post_payment_amount: int  # refund_amount + out_of_band_amount + credit_amount
    refund: str | None
    refund_amount: int
    out_of_band_amount: int
    credit_amount: int  # to the customer's balance
    pdf: str | None  # needs no key; None in a preview
    voided_at: int | None
    metadata: Mapping[str, str]


class Payment(VinrObject):
    OBJECT_NAME = "payment"
    id: str
    object: str
    livemode: bool
    created: int
    amount: int  # minor units
    currency: str
    status: str  # processing, requires_action, completed, failed
    invoice: str
    customer: str
    payment_method: str | None
    card: VinrObject | None
    failure_code: str | None
    decline_code: str | None
    failure_message: str | None
    #: Minor units of its pending and succeeded refunds (servers with issue 28's refunds).
    amount_refunded: int
    #: ``card``, ``sepa_debit``, ``bank_transfer`` or ``out_of_band`` (servers with issue 29's
    #: bank transfers).
    payment_method_type: str
    #: For a bank transfer: ``bank_transaction``, ``booked_at``, ``debtor_name``.
    bank_transfer: VinrObject | None


class Refund(VinrObject):
    """Money given back on a completed payment."""

    OBJECT_NAME = "refund"
    id: str
    object: str
    livemode: bool
    created: int
    amount: int  # minor units
    currency: str
    payment: str
    status: str  # pending, succeeded, failed, canceled
    reason: str | None  # duplicate, fraudulent, requested_by_customer
    failure_reason: str | None  # e.g. expired_or_canceled_card
    credit_note: str | None
    metadata: dict[str, str]


class BankTransaction(VinrObject):
    """A credit entry of an imported bank statement (servers with issue 29's statement import)."""

    OBJECT_NAME = "bank_transaction"
    id: str
    object: str
    livemode: bool
    created: int
    amount: int  # minor units
    currency: str
    booked_at: int  # unix seconds
    remittance_information: str | None
    creditor_reference: str | None  # the structured reference, e.g. RF45ACME0042
    debtor_name: str | None
    debtor_iban: str | None
    bank_account: str | None
    entry_reference: str | None
    statement_reference: str | None
    status: str  # matched, unmatched, ignored
    invoice: str | None
    payment: str | None


class BankStatementImport(VinrObject):
    """What importing a camt.053 or camt.054 file did."""

    OBJECT_NAME = "bank_statement_import"
    object: str
    message: str  # e.g. camt.053.001.02
    entries: int
    created: int
    duplicates: int
    matched: int
    unmatched: int
    skipped: int


class Event(VinrObject):
    """A state change; ``data`` is the object right after it (an :class:`Invoice`, …)."""

    OBJECT_NAME = "event"
    id: str
    object: str
    type: str
    created: int
    livemode: bool
    data: VinrObject


class WebhookEndpoint(VinrObject):
    OBJECT_NAME = "webhook_endpoint"
    id: str
    object: str
    livemode: bool
    created: int
    url: str
    description: str | None
    enabled_events: list[str]
    disabled: bool
    disabled_reason: str | None
    previous_secret_expires_at: int | None
    metadata: Mapping[str, str]
    #: ``whsec_…``: only in the answers to create and roll_secret.
    secret: str | None


class WebhookDelivery(VinrObject):
    OBJECT_NAME = "webhook_delivery"
    id: str
    object: str
    livemode: bool
    created: int
    endpoint: str
    event: str
    event_type: str
    status: str
    attempt_count: int
    last_attempt_at: int | None
    next_attempt_at: int | None


class WebhookDeliveryAttempt(VinrObject):
    OBJECT_NAME = "webhook_delivery_attempt"
    id: str
    object: str
    livemode: bool
    created: int
    delivery: str
    endpoint: str
    event: str
    event_type: str
    succeeded: bool
    http_status: int | None
    error: str | None
    duration_ms: int
    next_retry_at: int | None


class WebhookRecovery(VinrObject):
    OBJECT_NAME = "webhook_recovery"
    object: str
    endpoint: str
    deliveries_planned: int


class Branding(VinrObject):
    OBJECT_NAME = "branding"
    object: str
    livemode: bool
    theme: str
    display_name: str
    primary_color: str | None
    accent_color: str | None
    logo: str | None
    support_email: str | None
    support_phone: str | None
    support_url: str | None
    effective: VinrObject
    themes: list[str]


class BusinessProfile(VinrObject):
    """The merchant's legal identity, shared by both modes (docs/einvoicing.md)."""

    OBJECT_NAME = "business_profile"
    object: str
    livemode: bool
    legal_name: str | None
    address: VinrObject | None
    vat_id: str | None
    tax_number: str | None
    registration: str | None
    contact_name: str | None
    email: str | None
    phone: str | None
    website: str | None
    bank_account: VinrObject | None  # account_holder, iban, bic
    small_business: bool
    complete: bool
    #: What a complete profile still lacks, as parameter names (``address[city]``, ``vat_id_or_tax_number``).
    missing: list[str]


class AccountSettings(VinrObject):
    """Collection over time, per account and mode (``docs/collection.md``)."""

    OBJECT_NAME = "account_settings"
    object: str
    livemode: bool
    auto_advance_delay: int  # seconds
    dunning_retry_days: list[int]
    reminder_days_before_due: list[int]
    reminder_days_after_due: list[int]
    attach_pdf: bool


class TestClock(VinrObject):
    OBJECT_NAME = "test_clock"
    __test__ = False  # not a pytest test class, whatever its name
    object: str
    livemode: bool
    now: int  # unix seconds, the account's test-mode time
