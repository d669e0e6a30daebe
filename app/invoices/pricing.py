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
    rates: list[TaxRate]  # every rate some line pays, the invoice's own first
    line_rates: list[tuple[str, ...]]  # per line, the ids of the rates it pays
    untaxed: str  # the VAT category of lines paying no rate (app/invoices/tax_treatment.py)


def _pricing(session: Session, caller: Caller, invoice: Invoice, customer: Customer) -> _Pricing:
    treatment = tax_treatment.for_customer(session, invoice.account_id, customer)
    coupons = []
    if invoice.coupon_pks:
        found = {c.pk: c for c in session.scalars(sa.select(Coupon).where(Coupon.pk.in_(invoice.coupon_pks)))}
        coupons = [found[pk] for pk in invoice.coupon_pks if pk in found]
    untaxed = treatment.untaxed.category
    if not treatment.charges_vat:
        return _Pricing(coupons, [], [() for _ in invoice.lines], untaxed)
    # Which rates a line pays (SPEC §10): its own if given, else the invoice's if given,
    # else the account's active rates at the customer's address.
    named = list(dict.fromkeys([*(invoice.default_tax_rate_ids or []),
                                *(i for line in invoice.lines for i in line.tax_rate_ids or [])]))
    by_id = {r.id: r for r in session.scalars(sa.select(TaxRate).where(TaxRate.id.in_(named)))} if named else {}
    if invoice.default_tax_rate_ids is not None:
        fallback = [by_id[i] for i in invoice.default_tax_rate_ids if i in by_id]
    else:
        address = customer.address or {}
        fallback = rates_for_location(session, caller, address.get("country"), address.get("state"))
    by_id.update((r.id, r) for r in fallback)
    fallback_ids = tuple(r.id for r in fallback)
    line_rates = [fallback_ids if line.tax_rate_ids is None else tuple(i for i in line.tax_rate_ids if i in by_id)
                  for line in invoice.lines]
    rates = list({r.id: r for r in [*fallback, *(by_id[i] for ids in line_rates for i in ids)]}.values())
    return _Pricing(coupons, rates, line_rates, untaxed)


def tax_entry(tax: totals.TaxAmount) -> dict[str, Any]:
    """One stored ``tax_amounts`` entry (the API's TaxAmount object)."""
    return {"tax_rate": tax.rate, "amount": tax.amount, "inclusive": tax.inclusive,
            "taxable_amount": tax.taxable_amount, "category": tax_treatment.STANDARD_RATED}


def invoice_tax_entries(result: totals.Totals, untaxed: str) -> list[dict[str, Any]]:
    """The invoice's ``tax_amounts``: per rate, then one entry for the lines that pay none, in
    VAT category ``untaxed``."""
    entries = [tax_entry(t) for t in result.tax_amounts]
    if result.untaxed_amount is not None:
        entries.append({"tax_rate": None, "amount": 0, "inclusive": False,
                        "taxable_amount": result.untaxed_amount, "category": untaxed})
    return entries


def recompute(session: Session, caller: Caller, invoice: Invoice, customer: Customer) -> None:
    """Recompute every total of a draft from its lines, coupons and rates."""
    # Only catalog rows are read here, which no pending change touches: no
    # autoflush, so the change is written once, by the next flush.
    with session.no_autoflush:
        pricing = _pricing(session, caller, invoice, customer)
    result = totals.compute(
        [totals.LineIn(line.amount, ids) for line, ids in zip(invoice.lines, pricing.line_rates, strict=True)],
        [totals.CouponIn(c.id, c.percent_off_e2, c.amount_off) for c in pricing.coupons],
        [totals.RateIn(r.id, r.percentage_e4, r.inclusive) for r in pricing.rates],
    )
    for line, out in zip(invoice.lines, result.lines, strict=True):
        _assign_if_changed(line, "discount_amount", out.discount_amount)
        _assign_if_changed(line, "net_amount", out.net_amount)
        _assign_if_changed(line, "tax_amounts", [tax_entry(t) for t in out.tax_amounts])
    _assign_if_changed(invoice, "subtotal", result.subtotal)
    _assign_if_changed(invoice, "discount", result.discount)
    _assign_if_changed(invoice, "tax", result.tax)
    _assign_if_changed(invoice, "total", result.total)
    _assign_if_changed(invoice, "amount_due", result.total)
    _assign_if_changed(invoice, "discount_amounts",
                       [{"coupon": key, "amount": amount} for key, amount in result.discounts])
    _assign_if_changed(invoice, "tax_amounts", invoice_tax_entries(result, pricing.untaxed))
    _assign_if_changed(invoice, "tax_rate_details", {
        rate.id: {"display_name": rate.display_name, "percentage_e4": rate.percentage_e4} for rate in pricing.rates})


def _assign_if_changed(obj: Any, name: str, value: Any) -> None:
    # Assigning an equal value still marks the row dirty, and every dirty row
    # costs the flush a comparison of all its columns: the other lines of a
    # draft mostly keep their amounts when one line is added.
    if getattr(obj, name) != value:
        setattr(obj, name, value)
