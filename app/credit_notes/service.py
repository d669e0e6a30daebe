"""Credit notes (SPEC §11): create, preview, update, void, read.

The rules, in the order ``create`` checks them:

1. Only ``open``, ``paid`` and ``uncollectible`` invoices take credit notes, and none while a
   payment for the invoice is in progress (its amount would change under the charge).
2. What is credited: parts of the invoice's lines (a quantity of a line's units, or an amount
   of it, never more than is left of the line after earlier credit notes), custom lines at
   rates among the invoice's own, or an ``amount`` of the whole invoice split over its VAT
   groups as the invoice charged them. Tax is credited at the invoice's rates as it froze them
   (``tax_rate_details``), per rate, by app/invoices/totals.py: the rounding rule is there.
3. The credited total of an invoice never exceeds its total. The invoice row is locked
   (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writers hold the database) before
   anything is read for that check, so racing requests queue and each sees the ones before.
4. ``pre_payment_amount`` is the part up to the invoice's ``amount_remaining`` (nothing for a
   paid invoice): it lowers ``amount_due``; an invoice brought to 0 becomes ``paid`` through
   the invoice state machine. The rest, ``post_payment_amount``, must be split exactly into
   ``refund_amount`` (at most what was paid by card and not yet refunded), ``out_of_band_amount``
   and ``credit_amount`` (to the customer's balance, app/customers/balance.py).
5. The number is ``<invoice number>-CN-01``, the next per invoice (``Invoice.credit_note_count``),
   taken under the same lock: no gaps, no duplicates (a unique constraint backs it).

Services flush; the request commits (STYLE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.clocks import invoice_now
from app.accounts.service import Caller
from app.catalog.models import TaxRate
from app.credit_notes.models import CreditNote, CreditNoteLine, CreditNoteStatus
from app.credit_notes.schemas import (
    CreditNoteCreate,
    CreditNoteList,
    CreditNoteParams,
    CreditNoteUpdate,
    CustomLineCredit,
    InvoiceLineCredit,
)
from app.credit_notes.serializers import record_event
from app.customers import balance
from app.customers.models import BalanceTransactionType
from app.customers.service import serialize as serialize_customer
from app.errors import Conflict, InvalidRequest, NotFound
from app.events.service import record
from app.ids import new_id
from app.invoices import tax_treatment, totals
from app.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from app.invoices.pricing import invoice_tax_entries, tax_entry
from app.invoices.serializers import record_event as record_invoice_event
from app.invoices.states import illegal, payment_in_progress, transition
from app.money import MAX_AMOUNT
from app.pagination import Page, paginate
from app.payments import flow
from app.payments.models import Payment, PaymentMethodType, PaymentStatus, Refund
from app.payments.states import refunded_or_pending
from app.tenancy import get_for, lookup, scoped

S = InvoiceStatus
CREDITABLE = frozenset({S.OPEN, S.PAID, S.UNCOLLECTIBLE})
POST_PAYMENT_FIELDS = ("refund_amount", "out_of_band_amount", "credit_amount")

# The invoice, read afresh and locked: what the checks below read must be what this
# transaction holds until it commits.
_LOCKED_INVOICE = lookup(Invoice).execution_options(populate_existing=True)


@dataclass
class Draft:
    """A credit note as ``plan`` computed it, before anything is written."""

    invoice: Invoice
    lines: list[CreditNoteLine]
    subtotal: int
    tax: int
    total: int
    tax_amounts: list[dict[str, Any]]
    tax_rate_details: dict[str, Any]
    pre_payment_amount: int
    post_payment_amount: int
    split: dict[str, int] = field(default_factory=dict)
    refund_payment: Payment | None = None


@dataclass(frozen=True)
class _Rate:
    id: str
    display_name: str
    percentage_e4: int
    inclusive: bool


def _invoice_rates(session: Session, invoice: Invoice) -> dict[str, _Rate]:
    """The invoice's tax rates as it froze them, with whether each is inclusive, in its order."""
    inclusive = {e["tax_rate"]: bool(e["inclusive"]) for e in invoice.tax_amounts if e["tax_rate"] is not None}
    details = dict(invoice.tax_rate_details or {})
    missing = [rate_id for rate_id in inclusive if rate_id not in details]
    if missing:  # an invoice computed before the rates were frozen on it
        for rate in session.scalars(sa.select(TaxRate).where(TaxRate.account_id == invoice.account_id,
                                                             TaxRate.id.in_(missing))):
            details[rate.id] = {"display_name": rate.display_name, "percentage_e4": rate.percentage_e4}
    return {rate_id: _Rate(rate_id, str(details[rate_id]["display_name"]), int(details[rate_id]["percentage_e4"]),
                           flag) for rate_id, flag in inclusive.items() if rate_id in details}


def _credited(session: Session, invoice_id: str) -> int:
    """What the invoice's issued credit notes credit, minor units."""
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CreditNote.total), 0))
                              .where(CreditNote.invoice_id == invoice_id,
                                     CreditNote.status == CreditNoteStatus.ISSUED)) or 0)


def _line_credits(session: Session, invoice_id: str) -> dict[str, tuple[int, int]]:
    """Per invoice line: (quantity, amount) its issued credit notes credited."""
    rows = session.execute(
        sa.select(CreditNoteLine.invoice_line_id, sa.func.sum(CreditNoteLine.quantity),
                  sa.func.sum(CreditNoteLine.amount))
        .join(CreditNote, CreditNote.id == CreditNoteLine.credit_note_id)
        .where(CreditNote.invoice_id == invoice_id, CreditNote.status == CreditNoteStatus.ISSUED,
               CreditNoteLine.invoice_line_id.is_not(None))
        .group_by(CreditNoteLine.invoice_line_id))
    return {str(line_id): (int(qty or 0), int(amount or 0)) for line_id, qty, amount in rows}


def _refundable(session: Session, invoice: Invoice) -> tuple[Payment | None, int]:
    """The invoice's completed card payment and what of it is not yet refunded or being refunded
    (minor units), by a credit note or by ``POST /v1/refunds``."""
    payment = session.scalars(sa.select(Payment).where(Payment.invoice_id == invoice.id,
                                                       Payment.status == PaymentStatus.COMPLETED,
                                                       Payment.payment_method_type == PaymentMethodType.CARD)).first()
    if payment is None:
        return None, 0
    return payment, max(payment.amount - refunded_or_pending(session, payment.id), 0)


def _find_line(invoice: Invoice, line_id: str, param: str) -> InvoiceLine:
    for line in invoice.lines:
        if line.id == line_id:
            return line
    raise InvalidRequest(f"No such line on invoice {invoice.id}: '{line_id}'", param=param)


@dataclass
class _Planned:
    line: CreditNoteLine
    amount: int
    rates: tuple[str, ...]


def _plan_lines(session: Session, invoice: Invoice, params: CreditNoteParams,
                rates: dict[str, _Rate]) -> list[_Planned]:
    assert params.lines is not None
    before = _line_credits(session, invoice.id)
    used: dict[str, tuple[int, int]] = {}  # this credit note's own, per invoice line
    planned: list[_Planned] = []
    for i, given in enumerate(params.lines):
        where = f"lines[{i}]"
        if isinstance(given, InvoiceLineCredit):
            line = _find_line(invoice, given.invoice_line_item, f"{where}[invoice_line_item]")
            if given.quantity is not None and given.amount is not None:
                raise InvalidRequest("Give quantity or amount of an invoice line, not both.", param=f"{where}[amount]")
            qty_before, amount_before = before.get(line.id, (0, 0))
            qty_here, amount_here = used.get(line.id, (0, 0))
            qty_done, amount_done = qty_before + qty_here, amount_before + amount_here
            gross = line.amount - line.discount_amount  # what the line charged, before exclusive tax
            left = gross - amount_done
            if left <= 0:
                raise InvalidRequest(f"Line {line.id} is credited in full already.",
                                     param=f"{where}[invoice_line_item]", code="credit_note_line_exhausted")
            if given.amount is not None:
                if given.amount > left:
                    raise InvalidRequest(f"Only {left} of line {line.id} is left to credit.", param=f"{where}[amount]",
                                         code="credit_note_exceeds_line")
                quantity, unit_amount, unit, amount = 1, given.amount, "C62", given.amount
                counted_qty = 0
            else:
                quantity = given.quantity if given.quantity is not None else max(line.quantity - qty_done, 0)
                if quantity <= 0 or qty_done + quantity > line.quantity:
                    raise InvalidRequest(f"Only {max(line.quantity - qty_done, 0)} of line {line.id}'s "
                                         f"{line.quantity} units are left to credit.", param=f"{where}[quantity]",
                                         code="credit_note_exceeds_line")
                # Its share of what the line charged; the last units take exactly what is left.
                amount = (left if qty_done + quantity == line.quantity
                          else min(totals.div_round_half_away(gross * quantity, line.quantity), left))
                unit_amount, unit, counted_qty = line.unit_amount, line.unit, quantity
            used[line.id] = (qty_here + counted_qty, amount_here + amount)
            line_rates = tuple(e["tax_rate"] for e in line.tax_amounts if e.get("tax_rate") in rates)
            planned.append(_Planned(CreditNoteLine(
                id=new_id("cnli"), position=i, type="invoice_line_item", invoice_line_id=line.id,
                description=line.description, quantity=quantity if given.amount is None else 1, unit=unit,
                unit_amount=unit_amount, amount=amount,
                discount_amount=max(quantity * unit_amount - amount, 0) if given.amount is None else 0),
                amount, line_rates))
        else:
            assert isinstance(given, CustomLineCredit)
            unknown = [r for r in given.tax_rates if r not in rates]
            if unknown:
                raise InvalidRequest(f"Tax rate '{unknown[0]}' is not one of the invoice's; a credit note credits tax "
                                     "at the invoice's own rates.", param=f"{where}[tax_rates]")
            amount = given.unit_amount * given.quantity
            if amount > MAX_AMOUNT:
                raise InvalidRequest(f"unit_amount x quantity is over {MAX_AMOUNT}.", param=f"{where}[quantity]")
            planned.append(_Planned(CreditNoteLine(
                id=new_id("cnli"), position=i, type="custom_line_item", invoice_line_id=None,
                description=given.description, quantity=given.quantity, unit=given.unit,
                unit_amount=given.unit_amount, amount=amount, discount_amount=0),
                amount, tuple(dict.fromkeys(given.tax_rates))))
    return planned


def _by_amount(invoice: Invoice, amount: int, rates: dict[str, _Rate]) -> tuple[list[_Planned], totals.Totals]:
    """Lines for a credit of ``amount`` of the whole invoice: one per VAT group of its lines, each
    its share of what the group charged (app/invoices/totals.py ``split_gross``)."""
    charged: dict[tuple[str, ...], int] = {}
    for line in invoice.lines:
        keys = tuple(e["tax_rate"] for e in line.tax_amounts if e.get("tax_rate") in rates)
        exclusive = sum(int(e["amount"]) for e in line.tax_amounts if not e["inclusive"])
        charged[keys] = charged.get(keys, 0) + line.amount - line.discount_amount + exclusive
    groups = [(total, keys) for keys, total in charged.items() if total > 0]
    if not groups:
        raise InvalidRequest("This invoice charged nothing to credit.", param="amount")
    result = totals.split_gross(amount, groups, [totals.RateIn(r.id, r.percentage_e4, r.inclusive)
                                                 for r in rates.values()])
    names = {keys: ", ".join(f"{rates[k].display_name} {rates[k].percentage_e4 / 10_000:g} %" for k in keys)
             for _, keys in groups}
    planned = []
    for i, ((_, keys), out) in enumerate(zip(groups, result.lines, strict=True)):
        line_amount = out.taxable_amount + sum(t.amount for t in out.tax_amounts if t.inclusive)
        label = f"Credit of invoice {invoice.number}" + (f" ({names[keys]})" if keys else "")
        planned.append(_Planned(CreditNoteLine(
            id=new_id("cnli"), position=i, type="custom_line_item", invoice_line_id=None, description=label,
            quantity=1, unit="C62", unit_amount=line_amount, amount=line_amount, discount_amount=0),
            line_amount, keys))
    return planned, result


def plan(session: Session, caller: Caller, params: CreditNoteParams, *, lock: bool) -> Draft:
    """The credit note ``params`` describe, computed and checked (rules 1–4 of the module
    docstring), nothing written. ``lock`` takes the invoice's row lock first (creating).

    Raises NotFound naming ``invoice``; Conflict for an invoice in another status or being
    collected; InvalidRequest naming the parameter for the rest."""
    invoice = get_for(session, caller, Invoice, params.invoice, param="invoice", using=_LOCKED_INVOICE,
                      for_update=lock)
    if invoice.status not in CREDITABLE:
        raise illegal(invoice, "credit")
    if invoice.collecting_payment_id is not None:
        raise payment_in_progress("credit")
    if (params.lines is None) == (params.amount is None):
        raise InvalidRequest("Give lines or amount (a share of the whole invoice), not both.",
                             param="lines" if params.lines is not None else "amount")
    rates = _invoice_rates(session, invoice)
    if params.lines is not None:
        planned = _plan_lines(session, invoice, params, rates)
        used = list(dict.fromkeys(k for p in planned for k in p.rates))
        result = totals.compute([totals.LineIn(p.amount, p.rates) for p in planned], [],
                                [totals.RateIn(r.id, r.percentage_e4, r.inclusive) for r in rates.values()
                                 if r.id in used])
    else:
        assert params.amount is not None
        planned, result = _by_amount(invoice, params.amount, rates)
    untaxed = tax_treatment.of_invoice(invoice).untaxed.category
    for p, out in zip(planned, result.lines, strict=True):
        p.line.net_amount = out.net_amount
        p.line.tax_amounts = [tax_entry(t) for t in out.tax_amounts]
    if result.total <= 0:
        raise InvalidRequest("This credit note would credit nothing.", param="lines" if params.lines else "amount")
    credited = _credited(session, invoice.id)
    if credited + result.total > invoice.total:
        raise InvalidRequest(
            f"An invoice is never credited beyond its total: {invoice.number} totals {invoice.total}, its credit "
            f"notes credit {credited} already, so at most {invoice.total - credited} is left, and this credit note "
            f"totals {result.total}.", param="lines" if params.lines is not None else "amount",
            code="credit_note_exceeds_invoice")
    pre = min(result.total, invoice.amount_remaining) if invoice.status in (S.OPEN, S.UNCOLLECTIBLE) else 0
    post = result.total - pre
    draft = Draft(invoice, [p.line for p in planned], result.subtotal, result.tax, result.total,
                  invoice_tax_entries(result, untaxed),
                  {rid: {"display_name": r.display_name, "percentage_e4": r.percentage_e4}
                   for rid, r in rates.items() if any(rid in p.rates for p in planned)},
                  pre, post)
    _check_split(session, draft, params)
    return draft


def _check_split(session: Session, draft: Draft, params: CreditNoteParams) -> None:
    """Rule 4: the post-payment part split exactly; a refund within what the card paid."""
    given = {name: getattr(params, name) for name in POST_PAYMENT_FIELDS if getattr(params, name) is not None}
    split = {name: given.get(name, 0) for name in POST_PAYMENT_FIELDS}
    if sum(split.values()) != draft.post_payment_amount:
        param = next(iter(given), "refund_amount") if draft.post_payment_amount else next(iter(given))
        raise InvalidRequest(
            f"refund_amount, out_of_band_amount and credit_amount must add up to this credit note's "
            f"post_payment_amount, {draft.post_payment_amount} (its total {draft.total} less the "
            f"{draft.pre_payment_amount} taken off the invoice's amount_remaining); they add up to "
            f"{sum(split.values())}.", param=param, code="credit_note_amounts_mismatch")
    if split["refund_amount"]:
        payment, refundable = _refundable(session, draft.invoice)
        if split["refund_amount"] > refundable:
            raise InvalidRequest(f"refund_amount {split['refund_amount']} is more than was paid by card for this "
                                 f"invoice and not yet refunded ({refundable}).", param="refund_amount",
                                 code="refund_exceeds_payment")
        draft.refund_payment = payment
    if split["credit_amount"] and draft.invoice.customer.deleted:
        raise InvalidRequest("The customer was deleted: nothing can go to their balance.", param="credit_amount",
                             code="customer_deleted")
    draft.split = split


def preview(session: Session, caller: Caller, params: CreditNoteParams) -> CreditNote:
    """The credit note ``create`` would make now, unsaved (its number the one it would take);
    raises what ``plan`` raises. Nothing is written."""
    with session.no_autoflush:
        draft = plan(session, caller, params, lock=False)
    note = _note(caller, draft, params, draft.invoice.credit_note_count, created=invoice_now(session, draft.invoice))
    return note


def _note(caller: Caller, draft: Draft, params: CreditNoteParams, count: int, *, created: int) -> CreditNote:
    invoice = draft.invoice
    return CreditNote(
        id=new_id("cn"), account_id=caller.account.id, livemode=caller.livemode, created=created,
        invoice_id=invoice.id, customer_id=invoice.customer_id, number=f"{invoice.number}-CN-{count + 1:02d}",
        status=CreditNoteStatus.ISSUED, currency=invoice.currency, reason=params.reason, memo=params.memo,
        subtotal=draft.subtotal, tax=draft.tax, total=draft.total, tax_amounts=draft.tax_amounts,
        tax_rate_details=draft.tax_rate_details, pre_payment_amount=draft.pre_payment_amount,
        post_payment_amount=draft.post_payment_amount, refund_amount=draft.split["refund_amount"],
        out_of_band_amount=draft.split["out_of_band_amount"], credit_amount=draft.split["credit_amount"],
        refund_id=None, voided_at=None, metadata_=dict(params.metadata), lines=draft.lines,
    )


def create(session: Session, money: flow.MoneyFlow, caller: Caller, params: CreditNoteCreate) -> CreditNote:
    """Issue the credit note ``params`` describe (the module docstring's rules), and apply it: the
    invoice's amounts (and ``paid`` when brought to 0), the customer's balance, the refund.
    Records ``credit_note.created`` (and ``invoice.updated``, ``invoice.paid``, ``customer.updated``
    where those change). Raises what ``plan`` raises.

    With a ``refund_amount``, the refund is claimed in this transaction with the credit note,
    then sent by the money flow (``flow.execute_refund``, which commits first): the credit note
    stands whatever the processor answers, and a refund that fails is the refund's
    ``refund.failed`` for the merchant to settle (docs/payments.md)."""
    draft = plan(session, caller, params, lock=True)
    invoice = draft.invoice
    note = _note(caller, draft, params, invoice.credit_note_count, created=invoice_now(session, invoice))
    session.add(note)
    invoice.credit_note_count += 1
    invoice.amount_due -= note.pre_payment_amount
    invoice.pre_payment_credit_notes_amount += note.pre_payment_amount
    invoice.post_payment_credit_notes_amount += note.post_payment_amount
    paid_now = note.pre_payment_amount > 0 and invoice.amount_remaining == 0
    if paid_now:
        transition(session, invoice, S.PAID, flush=False)
        invoice.next_payment_attempt = None
    session.flush()
    if note.credit_amount:
        customer = invoice.customer
        balance.change(session, customer, -note.credit_amount, note.currency, BalanceTransactionType.CREDIT_NOTE,
                       credit_note_id=note.id, invoice_id=invoice.id)
        session.flush()
        record(session, caller.account.id, caller.livemode, "customer.updated", serialize_customer(customer))
    refund = _claim_refund(session, money, draft, note, params.reason) if note.refund_amount else None
    record_event(session, note, "credit_note.created")
    if note.pre_payment_amount:
        record_invoice_event(session, invoice, "invoice.updated")
    if paid_now:
        record_invoice_event(session, invoice, "invoice.paid")
    if refund is not None:
        flow.execute_refund(session, money, refund.id)
    return note


# A credit note's reasons, as a refund states them (Stripe's refund reasons).
_REFUND_REASONS = {"duplicate": "duplicate", "fraudulent": "fraudulent"}


def _claim_refund(session: Session, money: flow.MoneyFlow, draft: Draft, note: CreditNote,
                  reason: str | None) -> Refund:
    """Claim the refund of ``note``'s ``refund_amount`` of the invoice's card payment, owned by
    the credit note; its errors name ``refund_amount``."""
    assert draft.refund_payment is not None  # plan checked what is refundable
    try:
        refund = flow.claim_refund(session, money, draft.refund_payment, amount=note.refund_amount,
                                   reason=_REFUND_REASONS.get(reason or "", "requested_by_customer"),
                                   credit_note_id=note.id)
    except InvalidRequest as refused:
        raise InvalidRequest(refused.message, param="refund_amount", code=refused.code) from None
    note.refund_id = refund.id
    session.flush()
    return refund


def get(session: Session, caller: Caller, credit_note_id: str, *, for_update: bool = False) -> CreditNote:
    return get_for(session, caller, CreditNote, credit_note_id, for_update=for_update)


def update(session: Session, caller: Caller, credit_note_id: str, params: CreditNoteUpdate) -> CreditNote:
    """Change ``memo`` and ``metadata`` (an empty value deletes a key); records ``credit_note.updated``."""
    note = get(session, caller, credit_note_id)
    fields = params.model_fields_set
    if "memo" in fields:
        note.memo = params.memo
    if "metadata" in fields:
        merged = {**note.metadata_, **(params.metadata or {})}
        note.metadata_ = {k: v for k, v in merged.items() if v != ""}
    session.flush()
    record_event(session, note, "credit_note.updated")
    return note


def void(session: Session, caller: Caller, credit_note_id: str) -> CreditNote:
    """Void an issued credit note while its invoice is open and nothing was refunded: what it took
    off the invoice's amount due and gave to the customer's balance goes back. Records
    ``credit_note.voided`` and ``invoice.updated``. Raises Conflict otherwise."""
    found = get(session, caller, credit_note_id)
    # The invoice's lock first, as create takes it: a void and a create on one invoice queue.
    invoice = get_for(session, caller, Invoice, found.invoice_id, using=_LOCKED_INVOICE, for_update=True)
    note = get_for(session, caller, CreditNote, credit_note_id, using=_LOCKED_NOTE, for_update=True)
    _allowed(note, CreditNoteStatus.VOID)
    if invoice.status is not S.OPEN:
        raise Conflict(f"A credit note can be voided only while its invoice is open; {invoice.number} is "
                       f"'{invoice.status.value}'.", code="invoice_unexpected_status")
    if note.refund_amount or note.refund_id is not None:
        raise Conflict("This credit note refunded money, so it cannot be voided.", code="credit_note_refunded")
    if invoice.collecting_payment_id is not None:
        raise payment_in_progress("void a credit note of")
    _transition(note, CreditNoteStatus.VOID, invoice_now(session, invoice))
    invoice.amount_due += note.pre_payment_amount
    invoice.pre_payment_credit_notes_amount -= note.pre_payment_amount
    invoice.post_payment_credit_notes_amount -= note.post_payment_amount
    session.flush()
    if note.credit_amount:
        customer = invoice.customer
        balance.change(session, customer, note.credit_amount, note.currency,
                       BalanceTransactionType.CREDIT_NOTE_VOIDED, credit_note_id=note.id, invoice_id=invoice.id)
        session.flush()
        record(session, caller.account.id, caller.livemode, "customer.updated", serialize_customer(customer))
    record_event(session, note, "credit_note.voided")
    record_invoice_event(session, invoice, "invoice.updated")
    return note


_LOCKED_NOTE = lookup(CreditNote).execution_options(populate_existing=True)

TRANSITIONS: dict[CreditNoteStatus, frozenset[CreditNoteStatus]] = {
    CreditNoteStatus.ISSUED: frozenset({CreditNoteStatus.VOID}),
    CreditNoteStatus.VOID: frozenset(),
}


def _allowed(note: CreditNote, to: CreditNoteStatus) -> None:
    if to not in TRANSITIONS[note.status]:
        raise Conflict(f"You cannot void this credit note because its status is '{note.status.value}'.",
                       code="credit_note_unexpected_status")


def _transition(note: CreditNote, to: CreditNoteStatus, now: int) -> None:
    """The one writer of ``CreditNote.status`` (a credit note is issued when created)."""
    _allowed(note, to)
    note.status = to
    if to is CreditNoteStatus.VOID:
        note.voided_at = now


def list_credit_notes(session: Session, caller: Caller, query: CreditNoteList) -> Page[CreditNote]:
    """A page of the caller's credit notes, newest first, of one invoice or customer."""
    stmt = scoped(sa.select(CreditNote), caller, CreditNote)
    if query.invoice is not None:
        stmt = stmt.where(CreditNote.invoice_id == query.invoice)
    if query.customer is not None:
        stmt = stmt.where(CreditNote.customer_id == query.customer)
    return paginate(session, stmt, CreditNote, caller, limit=query.limit, starting_after=query.starting_after,
                    ending_before=query.ending_before)


def of_invoice(session: Session, invoice: Invoice) -> list[CreditNote]:
    """The invoice's credit notes, oldest first (its hosted page's list); no query for an
    invoice that has none."""
    if not invoice.credit_note_count:
        return []
    return list(session.scalars(sa.select(CreditNote).where(CreditNote.invoice_id == invoice.id)
                                .order_by(CreditNote.created, CreditNote.id)))


def on_invoice(session: Session, invoice_id: str, credit_note_id: str) -> CreditNote:
    """The credit note ``credit_note_id`` of the invoice ``invoice_id`` (its hosted link's), or NotFound."""
    note = session.get(CreditNote, credit_note_id)
    if note is None or note.invoice_id != invoice_id:
        raise NotFound("Not found.")
    return note
