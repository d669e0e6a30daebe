"""What the hosted page and the PDF show of an invoice: one context for both, so the PDF is
the page's own partials with the same numbers (SPEC §7). Below the portal (which shows the
page and serves the PDF) and the emails (which attach the PDF), so both build it alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_timedelta
from babel.numbers import format_decimal
from flask import g, has_request_context, request
from flask_babel import gettext
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.clocks import invoice_now
from app.accounts.models import Account
from app.branding.service import BrandView, brand_view
from app.catalog.models import TaxRate
from app.credit_notes import service as credit_notes
from app.credit_notes.einvoice import document as credit_note_document
from app.credit_notes.models import CreditNote
from app.customers.models import Customer
from app.documents.girocode import Transfer
from app.einvoicing.document import EInvoice
from app.einvoicing.service import document
from app.errors import Conflict
from app.invoices.hosted import is_past_due
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.tax_treatment import VAT_ID_TYPES, Treatment, of_invoice
from app.locales import SUPPORTED_LOCALES, first_supported, long_date
from app.money import display
from app.payments import checkout
from app.payments.models import PaymentMethod

DAY = 86_400  # seconds


def choose_locale(preferred: list[str]) -> str:
    """The customer's first supported preferred locale, else the browser's, else English."""
    browser = request.accept_languages.best_match(SUPPORTED_LOCALES) if has_request_context() else None
    return first_supported(preferred) or browser or "en"


def current_locale() -> str:
    """The invoice's customer's language once ``build`` has chosen it; before that (a page that
    fails before its invoice is known: a wrong link's 404) the browser's."""
    return str(g.get("portal_locale") or choose_locale([]))


def money(amount: int, currency: str) -> str:
    """Minor units as the customer's locale writes money (Babel)."""
    return display(amount, currency, current_locale())


def date(timestamp: int | None) -> str:
    return long_date(timestamp, current_locale())


# Where the city line reads "San Francisco, CA 94103"; elsewhere "10115 Berlin", the
# state (if any) on a line of its own.
_CITY_STATE_POSTAL = frozenset({"US", "CA", "AU"})


def address_lines(address: Mapping[str, Any] | None, locale: str) -> tuple[str, ...]:
    """A postal address as lines to print, the country named in ``locale``; no empty lines."""
    if not address:
        return ()

    def part(key: str) -> str:
        return str(address.get(key) or "").strip()

    country = part("country").upper()
    city, postal_code, state = part("city"), part("postal_code"), part("state")
    if country in _CITY_STATE_POSTAL:
        region = " ".join(p for p in (state, postal_code) if p)
        places = [", ".join(p for p in (city, region) if p)]
    else:
        places = [" ".join(p for p in (postal_code, city) if p), state]
    country_name = Locale.parse(locale).territories.get(country, country) if country else ""
    return tuple(line for line in (part("line1"), part("line2"), *places, country_name) if line)


@dataclass(frozen=True)
class TaxLine:
    label: str
    amount: int


@dataclass(frozen=True)
class InvoiceView:
    invoice: Invoice
    account: Account
    customer: Customer
    brand: BrandView
    past_due: bool
    tax_lines: tuple[TaxLine, ...]
    days_overdue: int = 0  # whole days since the due date, at least 1 once past due
    saved_method: PaymentMethod | None = None  # the customer's default card
    paid_with: str | None = None  # "Visa ending in 4242": the card of the payment that paid it
    document: EInvoice | None = None  # the EN 16931 model, for an invoice issued with a legal name
    credit_notes: tuple[CreditNote, ...] = ()  # oldest first (SPEC §11: the page lists them)

    @property
    def seller(self) -> Mapping[str, Any] | None:
        """The seller as frozen at finalization (``account_legal``), when it has a legal name."""
        legal = self.invoice.account_legal or {}
        return legal if legal.get("legal_name") else None

    @property
    def seller_address(self) -> tuple[str, ...]:
        return address_lines((self.seller or {}).get("address"), current_locale())

    @property
    def buyer_vat_ids(self) -> tuple[str, ...]:
        """The buyer's VAT ids as copied onto the invoice at finalization."""
        return tuple(str(t["value"]) for t in self.invoice.customer_tax_ids or []
                     if t.get("type") in VAT_ID_TYPES and t.get("value"))

    @property
    def tax_note(self) -> str | None:
        """What the invoice says of the VAT it does not charge, in the reader's language: the
        reverse charge, exemption or § 19 UStG note of its frozen treatment; None for standard."""
        treatment = of_invoice(self.invoice).treatment
        if treatment is Treatment.REVERSE_CHARGE:
            return str(gettext("Reverse charge – VAT to be accounted for by the recipient "
                               "(Art. 196 Directive 2006/112/EC)"))
        if treatment is Treatment.EXEMPT:
            return str(gettext("VAT exempt: no VAT is charged."))
        if treatment is Treatment.SMALL_BUSINESS:
            return str(gettext("No VAT is charged: small business under § 19 UStG."))
        return None

    @property
    def payment_terms(self) -> str:
        due = self.invoice.due_date
        return str(gettext("Payable by %(date)s", date=date(due)) if due is not None
                   else gettext("Payable on receipt"))

    @property
    def overdue_for(self) -> str:
        """ "2 days", "1 Tag": how long past its due date, counted in days."""
        return format_timedelta(timedelta(days=self.days_overdue), granularity="day", threshold=10**9,
                                locale=current_locale())

    @property
    def bank_transfer(self) -> Transfer | None:
        """``Pay by bank transfer`` (SPEC §12): for an open EUR invoice with something remaining,
        issued with a business profile that has a bank account (IBAN): the account, the amount
        remaining, the RF reference and the GiroCode; None otherwise."""
        invoice, seller = self.invoice, self.seller or {}
        bank = seller.get("bank_account") or {}
        if (invoice.status is not InvoiceStatus.OPEN or invoice.currency != "eur" or invoice.amount_remaining <= 0
                or not bank.get("iban") or not invoice.payment_reference):
            return None
        return Transfer(account_holder=str(bank.get("account_holder") or seller["legal_name"]), iban=str(bank["iban"]),
                        bic=bank.get("bic") or None, cents=invoice.amount_remaining,
                        reference=invoice.payment_reference)

    @property
    def saved_label(self) -> str | None:
        pm = self.saved_method
        return None if pm is None else card_label(checkout.brand_name(pm), pm.last4)

    @property
    def offers_card_update(self) -> bool:
        """"Update payment method" where it serves the customer: a card kept for later (a saved
        one, or an invoice the merchant charges automatically), never for a one-off payer."""
        return (self.invoice.is_payable and not self.customer.deleted
                and (self.saved_method is not None or self.invoice.collection_method == "charge_automatically"))

    @property
    def billed_to_address(self) -> tuple[str, ...]:
        """The customer's address as copied onto the invoice at finalization."""
        return address_lines(self.invoice.customer_address, current_locale())

    @property
    def status(self) -> str:
        """paid, void, uncollectible, past_due or open: what the badge says."""
        if self.past_due:
            return "past_due"
        return self.invoice.status.value


@dataclass(frozen=True)
class Presentation:
    """What a page or PDF of an issued invoice shows that is not on the invoice row: the
    reader's language, the merchant's branding as it is now, and the account's clock. The
    stored PDF is kept under these with the invoice's version (app/documents/service.py)."""

    locale: str
    brand: BrandView
    past_due: bool
    days_overdue: int  # whole days since the due date, at least 1 once past due; 0 before


def presentation(session: Session, invoice: Invoice) -> Presentation:
    """``invoice``'s presentation now, from its account, customer and branding (loaded with it
    by app/invoices/hosted.py); reads none of its lines. Sets the request's locale."""
    account = invoice.account
    g.portal_locale = choose_locale(list(invoice.customer.preferred_locales or []))
    past_due = is_past_due(session, invoice)
    days_overdue = max(1, (invoice_now(session, invoice) - (invoice.due_date or 0)) // DAY) if past_due else 0
    return Presentation(g.portal_locale, brand_view(account, account.branding), past_due, days_overdue)


def build(session: Session, invoice: Invoice, shown: Presentation | None = None) -> InvoiceView:
    """What the pages of ``invoice``'s link show: its presentation (``shown``, else read now),
    the card that paid it or the customer's saved one, and its tax lines."""
    shown = shown or presentation(session, invoice)
    customer = invoice.customer
    paid = checkout.paying_payment(session, invoice) if invoice.status is InvoiceStatus.PAID else None
    paid_with = card_label(checkout.card_brand_name(paid.card_brand), paid.card_last4) \
        if paid is not None and paid.card_last4 else None
    saved = None if customer.deleted or not invoice.is_payable else checkout.saved_method(session, invoice)
    rates = tax_rates_shown(session, invoice)
    return InvoiceView(invoice, invoice.account, customer, shown.brand, shown.past_due,
                       _tax_lines(invoice, rates), days_overdue=shown.days_overdue, saved_method=saved,
                       paid_with=paid_with, document=_document(session, invoice, rates),
                       credit_notes=tuple(credit_notes.of_invoice(session, invoice)))


def _document(session: Session, invoice: Invoice, rates: Mapping[str, RateShown]) -> EInvoice | None:
    """The invoice's EN 16931 model (its per-line VAT and per-rate summary), or None for an
    invoice issued without a legal name or one EN 16931 cannot express: it prints as before.
    Built once per view: the page's e-invoice link and the PDF's embedded XML are decided
    from it too (``einvoicing.service.offered``, ``embedded``)."""
    if invoice.finalized_at is None or not (invoice.account_legal or {}).get("legal_name"):
        return None
    try:
        return document(session, invoice, {rate_id: rate.percentage_e4 for rate_id, rate in rates.items()})
    except Conflict:
        return None


# Translated when asked: a page with many lines asks for each line's unit.
_UNIT_NAMES: dict[str, Callable[[], str]] = {
    "C62": lambda: gettext("pcs"), "H87": lambda: gettext("pcs"), "HUR": lambda: gettext("hours"),
    "DAY": lambda: gettext("days"), "MON": lambda: gettext("months")}


def unit_name(code: str) -> str:
    """A UN/ECE Rec. 20 unit as the reader says it ("pcs", "Std."); other codes as they are."""
    name = _UNIT_NAMES.get(code)
    return code if name is None else str(name())


def percent(rate: Any) -> str:
    """"19 %", "7,5 %": a VAT rate as the reader writes it."""
    return _percent(rate, current_locale())


@lru_cache(maxsize=1024)
def _percent(rate: Any, locale: str) -> str:
    # A pure function of its arguments, about 80 µs a call in Babel, asked once per line of
    # the few rates an account has (as app.money.display is cached for amounts).
    return f"{format_decimal(rate, locale=locale)} %"



def card_label(brand: str, last4: str) -> str:
    """ "Visa ending in 4242" (SPEC §7's words), in the customer's language."""
    return str(gettext("%(brand)s ending in %(last4)s", brand=brand, last4=last4))


@dataclass(frozen=True)
class RateShown:
    display_name: str
    percentage_e4: int  # ten-thousandths of a percent


def tax_rates_shown(session: Session, invoice: Invoice) -> dict[str, RateShown]:
    """The tax rates the invoice names, as it was computed and issued (``tax_rate_details``);
    read from the catalog only for an invoice computed before those were kept."""
    if invoice.tax_rate_details is not None:
        return {rate_id: RateShown(str(d["display_name"]), int(d["percentage_e4"]))
                for rate_id, d in invoice.tax_rate_details.items()}
    rate_ids = {entry["tax_rate"] for entry in invoice.tax_amounts if entry["tax_rate"] is not None}
    rate_ids |= {entry["tax_rate"] for line in invoice.lines for entry in line.tax_amounts}
    if not rate_ids:
        return {}
    return {rate.id: RateShown(rate.display_name, rate.percentage_e4) for rate in session.scalars(
        select(TaxRate).where(TaxRate.account_id == invoice.account_id, TaxRate.id.in_(rate_ids)))}


def _tax_lines(invoice: Invoice | CreditNote, rates: Mapping[str, RateShown]) -> tuple[TaxLine, ...]:
    """ "USt 19 %" or "VAT 10 % (included)" with its amount, in the invoice's rate order."""
    # The entry without a rate (lines that pay none) charges nothing: no tax line.
    lines = []
    for entry in invoice.tax_amounts:
        rate = rates.get(entry["tax_rate"])
        if rate is None:
            continue
        percent = format_decimal(Decimal(rate.percentage_e4).scaleb(-4).normalize(), locale=current_locale())
        label = f"{rate.display_name} {percent} %"
        if entry["inclusive"]:
            label = gettext("%(rate)s (included)", rate=label)
        lines.append(TaxLine(label, int(entry["amount"])))
    return tuple(lines)


@dataclass(frozen=True)
class CreditNoteView:
    """What a credit note's PDF shows: its invoice's page view (seller, buyer, branding, the
    reader's language), the credit note, and its EN 16931 model (per-line VAT and per-rate summary)."""

    invoice_view: InvoiceView
    note: CreditNote
    document: EInvoice | None

    @property
    def reason(self) -> str | None:
        reasons = {"duplicate": gettext("Duplicate"), "fraudulent": gettext("Fraudulent"),
                   "order_change": gettext("Order change"), "product_unsatisfactory": gettext("Product unsatisfactory")}
        return str(reasons[self.note.reason]) if self.note.reason in reasons else None

    @property
    def tax_lines(self) -> tuple[TaxLine, ...]:
        rates = {rate_id: RateShown(str(d["display_name"]), int(d["percentage_e4"]))
                 for rate_id, d in self.note.tax_rate_details.items()}
        return _tax_lines(self.note, rates)


def build_credit_note(session: Session, invoice: Invoice, note: CreditNote) -> CreditNoteView:
    """The view of ``note`` of ``invoice`` (loaded through its hosted link). Sets the request's locale."""
    view = build(session, invoice)
    doc = None
    if (invoice.account_legal or {}).get("legal_name"):
        try:
            doc = credit_note_document(note, invoice)
        except Conflict:
            doc = None
    return CreditNoteView(view, note, doc)


def template_context(view: InvoiceView, **extra: Any) -> dict[str, Any]:
    return {"view": view, "invoice": view.invoice, "brand": view.brand, "money": money, "date": date,
            "unit_name": unit_name, "percent": percent, "locale": current_locale(), **extra}


def email_breaks(address: str) -> Markup:
    """An email address that wraps where a reader expects it: after the "@" and before a dot,
    never inside a word ("jenny.rosen@<wbr>example<wbr>.com")."""
    escaped = str(escape(address))
    return Markup(escaped.replace("@", "@<wbr>").replace(".", "<wbr>."))  # noqa: S704 - escaped above
