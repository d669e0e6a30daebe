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
from app.events.service import record
from app.ids import new_id
from app.invoices.models import Invoice, InvoiceStatus
from app.pagination import Page, paginate
from app.tenancy import get_for, scoped

S = BankTransactionStatus
_TABLE = cast(sa.Table, BankTransaction.__table__)
_CHUNK = 500  # ids or numbers per IN (…) list
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
    for row in created:  # in the file's order
        btxn = applied.get(row["id"]) or BankTransaction(**row)  # unmatched: as inserted, never loaded
        data_ = serialize(btxn)
        record(session, caller.account.id, caller.livemode, "bank_transaction.created", data_)
        if btxn.status is S.UNMATCHED:
            record(session, caller.account.id, caller.livemode, "bank_transaction.unmatched", data_)
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
    it carries (structured, else in its remittance text), else the one open invoice whose
    number it names, in the transaction's currency. An entry naming two invoices, or none of
    the caller's payable ones, stays unmatched."""
    named: dict[str, list[str]] = {}
    for row in rows:
        numbers = invoice_numbers(caller.account.invoice_prefix, row["remittance_information"])
        numbers += [n for n in invoice_numbers(caller.account.invoice_prefix, row["creditor_reference"])
                    if n not in numbers]
        if numbers:
            named[row["id"]] = numbers
    # RF references: the invoice's payment_reference (issue 29's transfers) is matched here, first.
    wanted = sorted({number for numbers in named.values() for number in numbers})
    open_invoices: dict[str, Invoice] = {}
    for chunk in _chunks(wanted):
        stmt = scoped(sa.select(Invoice), caller, Invoice).where(
            Invoice.number.in_(chunk), Invoice.status.in_((InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)))
        open_invoices.update((inv.number or "", inv) for inv in session.scalars(stmt))
    matches: dict[str, Invoice] = {}
    by_id = {row["id"]: row for row in rows}
    for btxn_id, numbers in named.items():
        candidates = [open_invoices[n] for n in numbers
                      if n in open_invoices and open_invoices[n].currency == by_id[btxn_id]["currency"]
                      and open_invoices[n].is_payable]
        if len(candidates) == 1:
            matches[btxn_id] = candidates[0]
    return matches


def apply_to(session: Session, btxn: BankTransaction, invoice: Invoice) -> None:
    """Apply ``btxn`` to ``invoice`` as a bank_transfer payment (its events are the payment's)."""
    transition(btxn, S.MATCHED)
    btxn.invoice_id = invoice.id
    payment = _record_payment(session, btxn, invoice)
    btxn.payment_id = payment.id if payment is not None else None
    session.flush()


def _record_payment(session: Session, btxn: BankTransaction, invoice: Invoice) -> Any:
    raise Conflict("Applying bank transactions to invoices arrives with bank transfer payments.",
                   code="bank_transfers_unavailable")


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
