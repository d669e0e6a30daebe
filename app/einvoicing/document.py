"""One typed model of an issued invoice as EN 16931 sees it (SPEC §10; STYLE "One document
model, several renderings"), built only from what the invoice froze at finalization
(``account_legal``, the customer copies, the lines) and the amounts it computed
(app/invoices/totals.py). Every syntax (app/einvoicing/syntax.py) renders this model and
nothing else; no arithmetic happens past ``build``.

How VINR's amounts map onto EN 16931's (BT numbers are EN 16931's business terms):

- A line's net amount (BT-131) is the ``net_amount`` totals.py gave it: its amount, or with a
  tax-inclusive rate the part of it that is not tax. Its price (BT-146) is the unit amount, net
  of an inclusive rate's tax.
- Coupons are document-level allowances (BG-20), one per coupon when every line is in one VAT
  group and prices exclude tax; otherwise one per VAT group, for what the coupons took off
  that group's net.
- Per VAT group (category and rate) the taxable amount (BT-116) and the tax (BT-117) are the
  invoice's ``tax_amounts`` of that category and rate (``taxable_amount``, ``amount``): totals.py
  computes the tax once per rate on that basis (BR-CO-17). Lines paying no rate are one group.
- A line paying no rate is in the category of the invoice's frozen tax treatment
  (app/invoices/tax_treatment.py): ``E`` with its exemption reason (BT-120), or ``AE``, reverse
  charge, with the code VATEX-EU-AE (BT-121) and the buyer's VAT id of another member state
  (BT-48). The treatment's legal note (reverse charge, exempt, § 19 UStG) is a note (BG-1).
- BT-109 = total - tax, BT-110 = ``tax``, BT-112 = ``total``, BT-115 = ``amount_remaining``
  (``amount_due - amount_paid``), BT-113 (paid amount) = ``total - amount_remaining``: what
  was paid, plus the customer's credit balance finalization applied (``starting_balance`` -
  ``ending_balance``) and what credit notes took off before payment
  (``pre_payment_credit_notes_amount``), which are paid amounts to EN 16931 (BR-CO-16:
  BT-115 = BT-112 - BT-113). Without those two, BT-113 is ``amount_paid``. BT-106 and
  BT-107 are the invoice's ``subtotal`` and ``discount`` when prices exclude tax, and their
  net parts when they include it (EN 16931 line amounts are without VAT).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from app.invoices import tax_treatment
from app.invoices.models import Invoice
from app.money import exponent


class Unrepresentable(ValueError):
    """The invoice has something EN 16931 cannot say (a line paying two VAT rates, a currency
    with three decimals)."""


@dataclass(frozen=True, slots=True)
class Address:
    line1: str | None
    line2: str | None
    city: str | None
    postal_code: str | None
    state: str | None
    country: str | None


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    address: Address
    vat_id: str | None = None  # BT-31 / BT-48
    tax_number: str | None = None  # BT-32
    registration: str | None = None  # BT-33
    contact_name: str | None = None  # BG-6 / BG-9
    phone: str | None = None
    email: str | None = None
    electronic_address: str | None = None  # BT-34 / BT-49, an email (scheme EM)


@dataclass(frozen=True, slots=True)
class VatGroup:
    category: str  # UNTDID 5305
    rate: Decimal  # percent
    exemption_reason: str | None = None  # BT-120, for E and AE
    exemption_reason_code: str | None = None  # BT-121, the CEF VATEX list


@dataclass(frozen=True, slots=True)
class Line:
    id: str  # BT-126
    name: str  # BT-153
    quantity: int  # BT-129
    unit: str  # BT-130, UN/ECE Rec. 20
    net_price: Decimal  # BT-146, major units
    price_base_quantity: int  # BT-149
    net_amount: int  # BT-131, minor units
    vat: VatGroup
    period: tuple[date, date] | None  # BG-26


@dataclass(frozen=True, slots=True)
class Allowance:
    amount: int  # BT-92, minor units
    reason: str  # BT-97
    vat: VatGroup


@dataclass(frozen=True, slots=True)
class TaxSummary:
    vat: VatGroup
    basis: int  # BT-116, minor units
    tax: int  # BT-117, minor units


@dataclass(frozen=True, slots=True)
class Totals:
    line_net: int  # BT-106
    allowances: int  # BT-107
    without_tax: int  # BT-109
    tax: int  # BT-110
    with_tax: int  # BT-112
    paid: int  # BT-113
    due: int  # BT-115


@dataclass(frozen=True, slots=True)
class PaymentMeans:
    code: str  # BT-81, UNTDID 4461
    text: str | None  # BT-82
    remittance: str  # BT-83
    iban: str | None = None  # BT-84
    account_name: str | None = None  # BT-85
    bic: str | None = None  # BT-86


@dataclass(frozen=True, slots=True)
class Preceding:
    number: str  # BT-25
    issue_date: date  # BT-26


@dataclass(frozen=True, slots=True)
class EInvoice:
    number: str  # BT-1
    issue_date: date  # BT-2
    currency: str  # BT-5, upper case
    exponent: int  # the currency's minor unit digits
    buyer_reference: str | None  # BT-10
    notes: tuple[str, ...]  # BG-1
    seller: Party
    buyer: Party
    supply_date: date | None  # BT-72, when there is no period
    period: tuple[date, date] | None  # BG-14
    due_date: date | None  # BT-9
    payment_terms: str  # BT-20
    payment_means: PaymentMeans  # BG-16
    allowances: tuple[Allowance, ...]
    tax_summary: tuple[TaxSummary, ...]  # BG-23
    totals: Totals
    lines: tuple[Line, ...]
    type_code: str = "380"  # BT-3, UNTDID 1001: 380 commercial invoice, 381 credit note
    preceding: tuple[Preceding, ...] = ()  # BG-3: the invoices a credit note corrects

    def amount(self, minor: int) -> Decimal:
        """``minor`` units of the invoice's currency as a decimal of major units."""
        return Decimal(minor).scaleb(-self.exponent)


def day(timestamp: int) -> date:
    """The UTC day of a unix timestamp, as the PDF and the hosted page date things."""
    return datetime.fromtimestamp(timestamp, UTC).date()


def _period(start: int | None, end: int | None) -> tuple[date, date] | None:
    return (day(start), day(end)) if start is not None and end is not None else None


def _address(data: Mapping[str, Any] | None) -> Address:
    data = data or {}
    return Address(data.get("line1"), data.get("line2"), data.get("city"), data.get("postal_code"),
                   data.get("state"), data.get("country"))


def _seller(legal: Mapping[str, Any]) -> Party:
    return Party(
        name=legal["legal_name"], address=_address(legal.get("address")), vat_id=legal.get("vat_id"),
        tax_number=legal.get("tax_number"), registration=legal.get("registration"),
        contact_name=legal.get("contact_name") or legal["legal_name"], phone=legal.get("phone"),
        email=legal.get("email"), electronic_address=legal.get("email"),
    )


def _buyer(invoice: Invoice, treatment: tax_treatment.Treatment) -> Party:
    vat_id = tax_treatment.buyer_vat_id(invoice.customer_tax_ids or [], invoice.account_legal or {}, treatment)
    return Party(name=invoice.customer_name or "", address=_address(invoice.customer_address),
                 vat_id=vat_id, email=invoice.customer_email, electronic_address=invoice.customer_email)


def _percent(percentage_e4: int) -> Decimal:
    return Decimal(percentage_e4).scaleb(-4).normalize()


class LineSource(Protocol):
    """What a document line is made from: an invoice's line or a credit note's."""

    position: int
    description: str | None
    quantity: int
    unit: str
    unit_amount: int
    amount: int
    net_amount: int
    tax_amounts: list[Any]


@dataclass(frozen=True, slots=True)
class _Body:
    lines: tuple[Line, ...]
    allowances: tuple[Allowance, ...]
    summary: tuple[TaxSummary, ...]
    line_net: int
    allowed: int
    without_tax: int


def _check(invoice: Invoice, sources: Sequence[LineSource], what: str) -> int:
    """The currency's exponent, or Unrepresentable for what EN 16931 cannot say."""
    ex = exponent(invoice.currency)
    if not sources:  # BR-16: at least one line
        raise Unrepresentable(f"{what} without lines has no e-invoice: EN 16931 needs at least one line.")
    if ex > 2:  # BR-DEC-*: every amount has at most two decimals
        raise Unrepresentable(f"EN 16931 writes amounts with at most two decimals, and {invoice.currency.upper()} "
                              f"has {ex}: documents in it have no e-invoice.")
    return ex


def _body(invoice: Invoice, sources: Sequence[LineSource], tax_amounts: Sequence[Mapping[str, Any]],
          discount_amounts: Sequence[Mapping[str, Any]], tax: int, total: int, rates: Mapping[str, int],
          coupon_names: Mapping[str, str] | None, ex: int) -> _Body:
    """Lines, allowances and the VAT summary of a document with ``sources`` as its lines and the
    amounts totals.py computed for them (``tax_amounts``, ``discount_amounts``, ``tax``, ``total``)."""
    # Lines paying no rate: exempt (E) or reverse charge (AE), as the invoice's frozen treatment says.
    untaxed_rule = tax_treatment.of_invoice(invoice).untaxed
    untaxed = VatGroup(untaxed_rule.category, Decimal(0), untaxed_rule.reason, untaxed_rule.reason_code)

    def group(entry: Mapping[str, Any]) -> VatGroup:
        if entry["tax_rate"] is None:
            return untaxed
        return VatGroup(entry["category"], _percent(rates[entry["tax_rate"]]))

    # Per VAT group, the basis (BT-116) and tax (BT-117) computed, per rate and category.
    basis_of: dict[VatGroup, int] = {}
    tax_of: dict[VatGroup, int] = {}
    for entry in tax_amounts:
        vat = group(entry)
        basis_of[vat] = basis_of.get(vat, 0) + int(entry["taxable_amount"])
        tax_of[vat] = tax_of.get(vat, 0) + int(entry["amount"])

    lines: list[Line] = []
    inclusive_any = False
    for line in sources:
        number = line.position + 1
        charged = list(line.tax_amounts)
        if len(charged) > 1:
            raise Unrepresentable(f"Line {number} pays {len(charged)} tax rates; EN 16931 allows one "
                                  "VAT rate per line.")
        vat = group(charged[0]) if charged else untaxed
        inclusive_any = inclusive_any or any(entry["inclusive"] for entry in charged)
        net = line.net_amount
        if net == line.amount and net == line.quantity * line.unit_amount:
            price, base = Decimal(line.unit_amount).scaleb(-ex), 1
        else:  # an inclusive price's net part (or a discounted credit): exact per unit where it divides
            per_unit = Decimal(net).scaleb(-ex) / line.quantity if line.quantity else Decimal(0)
            exact = line.quantity and per_unit == per_unit.quantize(Decimal(1).scaleb(-(ex + 2)))
            price, base = (per_unit.normalize(), 1) if exact else (Decimal(net).scaleb(-ex), max(line.quantity, 1))
        lines.append(Line(
            id=str(number), name=line.description or f"Item {number}",
            quantity=line.quantity, unit=line.unit, net_price=price, price_base_quantity=base, net_amount=net,
            vat=vat, period=_period(getattr(line, "service_period_start", None),
                                    getattr(line, "service_period_end", None)),
        ))

    line_net_of: dict[VatGroup, int] = {}
    for built in lines:
        line_net_of[built.vat] = line_net_of.get(built.vat, 0) + built.net_amount
    names = coupon_names or {}
    allowances: list[Allowance] = []
    if len(line_net_of) == 1 and not inclusive_any:
        (only,) = line_net_of
        allowances = [Allowance(int(d["amount"]), f"Discount: {names.get(d['coupon']) or d['coupon']}", only)
                      for d in discount_amounts if d["amount"]]
    else:
        reason = "Discount: " + ", ".join(names.get(d["coupon"]) or d["coupon"] for d in discount_amounts)
        allowances = [Allowance(line_net_of[g] - basis_of[g], reason, g)
                      for g in line_net_of if line_net_of[g] != basis_of[g]]
    summary = tuple(TaxSummary(g, basis_of[g], tax_of[g]) for g in line_net_of)

    line_net = sum(line_net_of.values())
    allowed = sum(a.amount for a in allowances)
    without_tax = total - tax
    # The arithmetic of totals.py guarantees these; a failure is a bug, not bad input.
    assert line_net - allowed == without_tax == sum(s.basis for s in summary), (line_net, allowed, without_tax)
    assert sum(s.tax for s in summary) == tax
    return _Body(tuple(lines), tuple(allowances), summary, line_net, allowed, without_tax)


def _means(invoice: Invoice, remittance: str) -> PaymentMeans:
    legal = invoice.account_legal or {}
    bank = legal.get("bank_account") or None
    if bank:
        return PaymentMeans(code="58" if invoice.currency == "eur" else "30", text="Credit transfer",
                            remittance=remittance, iban=bank["iban"],
                            account_name=bank.get("account_holder") or legal["legal_name"], bic=bank.get("bic"))
    return PaymentMeans(code="68", text="Online payment", remittance=remittance)


def build(invoice: Invoice, rates: Mapping[str, int], coupon_names: Mapping[str, str] | None = None) -> EInvoice:
    """The e-invoice of a finalized ``invoice``. ``rates`` maps the tax rate ids its lines
    name to their percentage (ten-thousandths of a percent; a rate's percentage never changes);
    ``coupon_names`` the coupon ids of its discounts to their names, where they have one.

    Raises Unrepresentable for an invoice without lines, a line that pays more than one tax
    rate, or a currency whose minor unit has more than two decimals."""
    assert invoice.finalized_at is not None and invoice.number is not None
    legal = invoice.account_legal or {}
    ex = _check(invoice, invoice.lines, "An invoice")
    body = _body(invoice, invoice.lines, invoice.tax_amounts, invoice.discount_amounts, invoice.tax, invoice.total,
                 rates, coupon_names, ex)
    assert invoice.amount_due <= invoice.total
    untaxed_rule = tax_treatment.of_invoice(invoice).untaxed
    notes = tuple(text for text in (invoice.description, invoice.footer) if text)
    if untaxed_rule.note:
        notes += (untaxed_rule.note,)
    period = _period(invoice.service_period_start, invoice.service_period_end)
    issue = day(invoice.finalized_at)
    due = day(invoice.due_date) if invoice.due_date is not None else None
    return EInvoice(
        number=invoice.number, issue_date=issue, currency=invoice.currency.upper(), exponent=ex,
        buyer_reference=invoice.buyer_reference, notes=notes, seller=_seller(legal),
        buyer=_buyer(invoice, tax_treatment.of_invoice(invoice).treatment),
        supply_date=None if period else issue, period=period, due_date=due,
        payment_terms=f"Payable by {due.isoformat()}" if due else "Payable on receipt",
        # BT-83: the RF creditor reference a transfer quotes (SPEC §12).
        payment_means=_means(invoice, invoice.payment_reference or invoice.number), allowances=body.allowances,
        tax_summary=body.summary,
        totals=Totals(line_net=body.line_net, allowances=body.allowed, without_tax=body.without_tax,
                      tax=invoice.tax, with_tax=invoice.total, paid=invoice.total - invoice.amount_remaining,
                      due=invoice.amount_remaining),
        lines=body.lines,
    )


class CreditNoteSource(Protocol):
    """What a credit note's e-invoice is made from (app/credit_notes/models.py ``CreditNote``)."""

    number: str
    created: int
    memo: str | None
    tax: int
    total: int
    tax_amounts: list[Any]

    @property
    def lines(self) -> Sequence[LineSource]: ...


def build_credit_note(note: CreditNoteSource, invoice: Invoice, rates: Mapping[str, int]) -> EInvoice:
    """The e-invoice of a credit note of ``invoice`` (EN 16931 type code 381, the invoice as the
    preceding invoice reference BT-25 with its issue date BT-26): the invoice's frozen seller,
    buyer and tax treatment, the credit note's own lines and amounts. Its amounts are what the
    seller owes back: nothing is shown as paid (BT-113 0, BT-115 the total). ``rates`` as for
    ``build``. Raises Unrepresentable as ``build`` does."""
    assert invoice.finalized_at is not None and invoice.number is not None
    legal = invoice.account_legal or {}
    ex = _check(invoice, note.lines, "A credit note")
    body = _body(invoice, note.lines, note.tax_amounts, (), note.tax, note.total, rates, None, ex)
    untaxed_rule = tax_treatment.of_invoice(invoice).untaxed
    issued = day(invoice.finalized_at)
    notes: tuple[str, ...] = (f"Rechnungskorrektur zur Rechnung {invoice.number} vom {issued.isoformat()}. "
             f"Credit note for invoice {invoice.number} of {issued.isoformat()}.",)
    notes += tuple(text for text in (note.memo,) if text)
    if untaxed_rule.note:
        notes += (untaxed_rule.note,)
    period = _period(invoice.service_period_start, invoice.service_period_end)
    return EInvoice(
        number=note.number, issue_date=day(note.created), currency=invoice.currency.upper(), exponent=ex,
        buyer_reference=invoice.buyer_reference, notes=notes, seller=_seller(legal),
        buyer=_buyer(invoice, tax_treatment.of_invoice(invoice).treatment),
        supply_date=None if period else issued, period=period, due_date=None,
        payment_terms=f"Credited against invoice {invoice.number}",
        payment_means=_means(invoice, note.number), allowances=body.allowances, tax_summary=body.summary,
        totals=Totals(line_net=body.line_net, allowances=body.allowed, without_tax=body.without_tax, tax=note.tax,
                      with_tax=note.total, paid=0, due=note.total),
        lines=body.lines, type_code="381", preceding=(Preceding(invoice.number, issued),),
    )
