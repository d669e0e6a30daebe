"""An invoice's totals: its lines, discounts and tax rates, put through app/invoices/totals.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.service import Caller
from app.catalog.models import Coupon, TaxRate
from app.catalog.service import rates_for_location
from app.customers.models import Customer
from app.invoices import tax_treatment, totals
from app.invoices.models import Invoice


@dataclass(frozen=True)
class _Pricing:
    coupons: list[Coupon]
    rates: list[TaxRate]


def _pricing(session: Session, caller: Caller, invoice: Invoice, customer: Customer) -> _Pricing:
    coupons = []
    if invoice.coupon_pks:
        found = {c.pk: c for c in session.scalars(sa.select(Coupon).where(Coupon.pk.in_(invoice.coupon_pks)))}
        coupons = [found[pk] for pk in invoice.coupon_pks if pk in found]
    if not tax_treatment.for_customer(session, invoice.account_id, customer).charges_vat:
        rates: list[TaxRate] = []
    elif invoice.default_tax_rate_ids:
        found_rates = {r.id: r for r in session.scalars(
            sa.select(TaxRate).where(TaxRate.id.in_(invoice.default_tax_rate_ids)))}
        rates = [found_rates[i] for i in invoice.default_tax_rate_ids if i in found_rates]
    else:
        address = customer.address or {}
        rates = rates_for_location(session, caller, address.get("country"), address.get("state"))
    return _Pricing(coupons, rates)


def recompute(session: Session, caller: Caller, invoice: Invoice, customer: Customer) -> None:
    """Recompute every total of a draft from its lines, coupons and rates."""
    # Only catalog rows are read here, which no pending change touches: no
    # autoflush, so the change is written once, by the next flush.
    with session.no_autoflush:
        pricing = _pricing(session, caller, invoice, customer)
    result = totals.compute(
        [totals.LineIn(line.amount) for line in invoice.lines],
        [totals.CouponIn(c.id, c.percent_off_e2, c.amount_off) for c in pricing.coupons],
        [totals.RateIn(r.id, r.percentage_e4, r.inclusive) for r in pricing.rates],
    )
    for line, out in zip(invoice.lines, result.lines, strict=True):
        _assign_if_changed(line, "discount_amount", out.discount_amount)
        _assign_if_changed(line, "tax_amounts", [{"tax_rate": t.rate, "amount": t.amount, "inclusive": t.inclusive}
                                                 for t in out.tax_amounts])
    _assign_if_changed(invoice, "subtotal", result.subtotal)
    _assign_if_changed(invoice, "discount", result.discount)
    _assign_if_changed(invoice, "tax", result.tax)
    _assign_if_changed(invoice, "total", result.total)
    _assign_if_changed(invoice, "amount_due", result.total)
    _assign_if_changed(invoice, "discount_amounts",
                       [{"coupon": key, "amount": amount} for key, amount in result.discounts])
    _assign_if_changed(invoice, "tax_amounts", [{"tax_rate": t.rate, "amount": t.amount, "inclusive": t.inclusive}
                                                for t in result.tax_amounts])


def _assign_if_changed(obj: Any, name: str, value: Any) -> None:
    # Assigning an equal value still marks the row dirty, and every dirty row
    # costs the flush a comparison of all its columns: the other lines of a
    # draft mostly keep their amounts when one line is added.
    if getattr(obj, name) != value:
        setattr(obj, name, value)
