"""Statement import and reconciliation (SPEC §12 "Statement import").

``import_statement`` records each booked credit entry of a camt file once, as a bank
transaction, and applies the ones it can match to their invoice; the merchant applies or
ignores the rest. Services flush, never commit: the request or the CLI command commits,
so a file is imported whole or not at all.

Recorded once: each entry's ``dedup_key`` (``dedup_key`` below) is unique per account and
mode, and the rows go in with ``INSERT … ON CONFLICT DO NOTHING``. An entry already
recorded by an earlier import, by an overlapping statement, or by an import running at the
same time (PostgreSQL makes the second insert wait for the first's commit, then skip; on
SQLite writers run one at a time) is counted as a duplicate and applies nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from stdnum import iso11649

from app import clock
from app.accounts.service import Caller
from app.banking import camt
from app.banking.models import BankTransaction, BankTransactionStatus
from app.banking.schemas import BankTransactionApply, BankTransactionList
from app.banking.serializers import serialize
from app.banking.states import transition
from app.errors import Conflict, InvalidRequest
from app.events.service import record_many
from app.ids import new_id
from app.invoices.models import Invoice, InvoiceStatus
from app.pagination import Page, paginate
from app.payments.models import Payment
from app.payments.transfers import record_bank_transfer
from app.tenancy import get_for, scoped

S = BankTransactionStatus
_TABLE = cast(sa.Table, BankTransaction.__table__)
_CHUNK = 500  # ids or numbers per IN (…) list
# An RF reference is the invoice's own: it pays it while open, and a transfer that arrives
# after it was paid (twice, or after a card payment) is still its money, credited to the
# customer's balance by record_bank_transfer. A draft has no reference; a void invoice takes none.
_PAID_BY_REFERENCE = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.PAID)
# An ISO 11649 creditor reference as people write it: RF, two check digits, up to 21
# characters, often in groups of four.
_RF = re.compile(r"RF\d{2}(?: ?[0-9A-Z]){1,21}")


@dataclass(frozen=True)
class ImportSummary:
    message: str  # the camt message and version read, e.g. camt.053.001.02
    entries: int  # booked credit entries in the file
    created: int  # of them, recorded now
    duplicates: int  # of them, recorded before (the same or an overlapping statement)
    matched: int  # of those created, applied to an invoice
    unmatched: int  # of those created, waiting for the merchant
    skipped: int  # debits, entries not booked, reversals: not bank transactions


def dedup_key(entry: camt.Entry, occurrence: int) -> str:
    """What makes an entry the same entry in another file (SPEC §12): the bank's reference for
    it on the account it was booked to; without one, its booking date, amount, account and
    remittance, with ``occurrence`` (the how-many-th such entry in its file) telling apart two
    identical payments on one day."""
    if entry.entry_reference:
        basis = ["ref", entry.bank_account or "", entry.entry_reference]
    else:
        basis = ["entry", entry.booking_date, str(entry.amount), entry.currency, entry.bank_account or "",
                 entry.remittance_information or "", entry.creditor_reference or "", str(occurrence)]
    return hashlib.sha256("\x1f".join(basis).encode()).hexdigest()


def import_statement(session: Session, caller: Caller, data: bytes) -> ImportSummary:
    """Record the booked credit entries of the camt.053/camt.054 file ``data`` and apply the
    ones that match an invoice. Raises InvalidRequest (nothing recorded) for a file that is
    too large, not XML, or not a valid camt.053/camt.054 message."""
    statement = camt.parse(data)
    now = clock.now()
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for entry in statement.entries:
        same = (entry.booking_date, entry.amount, entry.currency, entry.bank_account, entry.remittance_information,
                entry.creditor_reference)
        seen[same] = occurrence = seen.get(same, 0) + 1
        rows.append({
            "id": new_id("btxn"), "account_id": caller.account.id, "livemode": caller.livemode, "created": now,
            "dedup_key": dedup_key(entry, occurrence), "amount": entry.amount, "currency": entry.currency,
            "booked_at": entry.booked_at, "remittance_information": entry.remittance_information,
            "creditor_reference": entry.creditor_reference, "debtor_name": entry.debtor_name,
            "debtor_iban": entry.debtor_iban, "bank_account": entry.bank_account,
            "entry_reference": entry.entry_reference, "statement_reference": entry.statement_reference,
            "status": S.UNMATCHED, "invoice_id": None, "payment_id": None,
        })
    created_ids = _insert_new(session, rows)
    created = [row for row in rows if row["id"] in created_ids]
    matches = match(session, caller, created)
    applied: dict[str, BankTransaction] = {}
    for chunk in _chunks(list(matches)):
        for btxn in session.scalars(sa.select(BankTransaction).where(BankTransaction.id.in_(chunk))):
            apply_to(session, btxn, matches[btxn.id])
            applied[btxn.id] = btxn
    events: list[tuple[str, dict[str, Any]]] = []
    for row in created:  # in the file's order
        btxn = applied.get(row["id"]) or BankTransaction(**row)  # unmatched: as inserted, never loaded
        data_ = serialize(btxn)
        events.append(("bank_transaction.created", data_))
        if btxn.status is S.UNMATCHED:
            events.append(("bank_transaction.unmatched", data_))
    record_many(session, caller.account.id, caller.livemode, events)
    return ImportSummary(message=statement.message, entries=len(rows), created=len(created),
                         duplicates=len(rows) - len(created), matched=len(applied),
                         unmatched=len(created) - len(applied), skipped=statement.skipped)


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose dedup key is new (one statement per batch of rows), returning their ids."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(_TABLE) if dialect == "postgresql" else sqlite.insert(_TABLE)
    stmt = insert.on_conflict_do_nothing(index_elements=["account_id", "livemode", "dedup_key"]).returning(
        _TABLE.c.id)
    return set(session.scalars(stmt, rows))


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def rf_references(*texts: str | None) -> list[str]:
    """The valid ISO 11649 creditor references in ``texts``, compact, in order of appearance."""
    found: list[str] = []
    for text in texts:
        if not text:
            continue
        for match_ in _RF.finditer(text.upper()):
            compact = match_.group().replace(" ", "")
            # The pattern may have run on into the next word: the longest valid prefix is the reference.
            for end in range(len(compact), 4, -1):
                if iso11649.is_valid(compact[:end]):
                    found.append(compact[:end])
                    break
    return list(dict.fromkeys(found))


def invoice_numbers(prefix: str, text: str | None) -> list[str]:
    """The numbers of ``prefix``'s invoices named in ``text`` (``ACME-0042``; also ``ACME 0042``,
    ``acme0042``), as the invoice carries them; not a credit note's (``ACME-0042-CN-01``)."""
    if not text:
        return []
    pattern = re.compile(rf"(?<![\w-]){re.escape(prefix)}[- ]?(\d{{1,12}})(?![\w-])", re.IGNORECASE)
    return list(dict.fromkeys(f"{prefix}-{int(digits):04d}" for digits in pattern.findall(text)))


def match(session: Session, caller: Caller, rows: list[dict[str, Any]]) -> dict[str, Invoice]:
    """The invoice each new bank transaction pays, by its id: the invoice whose RF reference
    (``invoice.payment_reference``) it carries, structured or in its remittance text; else the
    open invoice whose number it names; in the transaction's currency either way. An entry
    naming two such invoices, or none, stays unmatched: the merchant applies it."""
    prefix = caller.account.invoice_prefix
    references: dict[str, list[str]] = {}
    numbers: dict[str, list[str]] = {}
    for row in rows:
        text, structured = row["remittance_information"], row["creditor_reference"]
        if found := rf_references(structured, text):
            references[row["id"]] = found
        if found := list(dict.fromkeys(invoice_numbers(prefix, text) + invoice_numbers(prefix, structured))):
            numbers[row["id"]] = found
    # Every invoice named, in two queries per 500 names however many entries name them.
    by_reference: dict[str, Invoice] = {}
    for chunk in _chunks(sorted({r for found in references.values() for r in found})):
        stmt = scoped(sa.select(Invoice), caller, Invoice).where(
            Invoice.payment_reference.in_(chunk), Invoice.status.in_(_PAID_BY_REFERENCE))
        by_reference.update((inv.payment_reference or "", inv) for inv in session.scalars(stmt))
    by_number: dict[str, Invoice] = {}
    for chunk in _chunks(sorted({n for found in numbers.values() for n in found})):
        stmt = scoped(sa.select(Invoice), caller, Invoice).where(
            Invoice.number.in_(chunk), Invoice.status.in_((InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)))
        by_number.update((inv.number or "", inv) for inv in session.scalars(stmt))
    matches: dict[str, Invoice] = {}
    for row in rows:
        currency = row["currency"]
        candidates = {inv.id: inv for ref in references.get(row["id"], ())
                      if (inv := by_reference.get(ref)) is not None and inv.currency == currency}
        if not candidates:  # the number only when no RF reference names an invoice
            candidates = {inv.id: inv for number in numbers.get(row["id"], ())
                          if (inv := by_number.get(number)) is not None and inv.currency == currency
                          and inv.is_payable}
        if len(candidates) == 1:
            matches[row["id"]] = next(iter(candidates.values()))
    return matches


def apply_to(session: Session, btxn: BankTransaction, invoice: Invoice) -> None:
    """Apply ``btxn`` to ``invoice`` as a bank_transfer payment (its events are the payment's)."""
    transition(btxn, S.MATCHED)
    btxn.invoice_id = invoice.id
    btxn.payment_id = _record_payment(session, btxn, invoice).id
    session.flush()


def _record_payment(session: Session, btxn: BankTransaction, invoice: Invoice) -> Payment:
    return record_bank_transfer(session, invoice, btxn.amount, booked_at=btxn.booked_at,
                                bank_transaction_id=btxn.id, debtor_name=btxn.debtor_name)


def get(session: Session, caller: Caller, btxn_id: str) -> BankTransaction:
    return get_for(session, caller, BankTransaction, btxn_id)


def list_bank_transactions(session: Session, caller: Caller, query: BankTransactionList) -> Page[BankTransaction]:
    """A page of the caller's bank transactions, newest first, optionally of one status."""
    stmt = scoped(sa.select(BankTransaction), caller, BankTransaction)
    if query.status is not None:
        stmt = stmt.where(BankTransaction.status == S(query.status))
    return paginate(session, stmt, BankTransaction, caller, limit=query.limit, starting_after=query.starting_after,
                    ending_before=query.ending_before)


def apply(session: Session, caller: Caller, btxn_id: str, params: BankTransactionApply) -> BankTransaction:
    """``POST /v1/bank_transactions/{id}/apply``: the merchant applies an unmatched or ignored
    transaction to one of their finalized invoices in its currency. Raises NotFound, Conflict
    (already matched; a draft or void invoice), InvalidRequest (another currency)."""
    btxn = get_for(session, caller, BankTransaction, btxn_id, for_update=True)
    invoice = get_for(session, caller, Invoice, params.invoice, param="invoice")
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        raise Conflict(f"You cannot apply a bank transaction to this invoice because its status is "
                       f"'{invoice.status.value}'.", code="invoice_unexpected_status")
    if invoice.currency != btxn.currency:
        raise InvalidRequest(f"The bank transaction is in {btxn.currency.upper()}, the invoice in "
                             f"{invoice.currency.upper()}.", param="invoice", code="currency_mismatch")
    apply_to(session, btxn, invoice)
    return btxn


def ignore(session: Session, caller: Caller, btxn_id: str) -> BankTransaction:
    """``POST /v1/bank_transactions/{id}/ignore``: an unmatched transaction pays no invoice.
    Raises NotFound, Conflict (matched, or ignored already)."""
    btxn = get_for(session, caller, BankTransaction, btxn_id, for_update=True)
    transition(btxn, S.IGNORED)
    session.flush()
    return btxn
