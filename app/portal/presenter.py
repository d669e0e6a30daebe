"""What the hosted page and the PDF show of an invoice: one context for both,
so the PDF is the page's own partials with the same numbers (SPEC §7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from babel import Locale
from babel.numbers import format_decimal
from flask import g, request
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.branding.service import BrandView, brand_view
from app.customers.models import Customer
from app.invoices.hosted import is_past_due
from app.invoices.models import Invoice
from app.locales import SUPPORTED_LOCALES, first_supported, long_date
from app.money import display


def choose_locale(preferred: list[str]) -> str:
    """The customer's first supported preferred locale, else the browser's, else English."""
    return first_supported(preferred) or request.accept_languages.best_match(SUPPORTED_LOCALES) or "en"


def current_locale() -> str:
    return str(g.get("portal_locale") or "en")


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


def build(session: Session, invoice: Invoice) -> InvoiceView:
    """What the pages of ``invoice``'s link show: its account, customer and branding
    (loaded with it by app/invoices/hosted.py) and its tax lines. Sets the request's locale."""
    account, customer = invoice.account, invoice.customer
    branding = account.branding
    g.portal_locale = choose_locale(list(customer.preferred_locales or []))
    return InvoiceView(invoice, account, customer, brand_view(account, branding), is_past_due(session, invoice),
                       _tax_lines(session, invoice))


def _tax_lines(session: Session, invoice: Invoice) -> tuple[TaxLine, ...]:
    """ "USt 19 %" or "VAT 10 % (included)" with its amount, in the invoice's rate order."""
    from app.catalog.models import TaxRate
    from app.catalog.service import serialize_tax_rate

    if not invoice.tax_amounts:
        return ()
    rate_ids = {entry["tax_rate"] for entry in invoice.tax_amounts}
    rates = {rate.id: rate for rate in session.scalars(
        select(TaxRate).where(TaxRate.account_id == invoice.account_id, TaxRate.id.in_(rate_ids)))}
    lines = []
    for entry in invoice.tax_amounts:
        rate = rates.get(entry["tax_rate"])
        if rate is None:
            continue
        percent = format_decimal(serialize_tax_rate(rate)["percentage"], locale=current_locale())
        label = f"{rate.display_name} {percent} %"
        if entry["inclusive"]:
            label = gettext("%(rate)s (included)", rate=label)
        lines.append(TaxLine(label, int(entry["amount"])))
    return tuple(lines)


def template_context(view: InvoiceView, **extra: Any) -> dict[str, Any]:
    return {"view": view, "invoice": view.invoice, "brand": view.brand, "money": money, "date": date,
            "locale": current_locale(), **extra}
