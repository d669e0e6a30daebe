"""Reading ISO 20022 bank-to-customer cash management messages (SPEC §12 "Statement import"):
``camt.053`` statements (BkToCstmrStmt) and ``camt.054`` debit/credit notifications
(BkToCstmrDbtCdtNtfctn), versions .02, .04 and .08.

A file is checked against the official XSD of its namespace (app/banking/xsd/, see its
README) before anything is read from it, so a file that parses here is a camt message as
the standard defines it. Only booked credit entries are returned: debits, pending or
informational entries and reversals pay no invoice.

Raises ``InvalidRequest`` naming the problem (``statement_too_large``,
``statement_not_xml``, ``statement_unsupported``, ``statement_invalid``); nothing is
returned for a file that fails.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from lxml import etree

from app.errors import InvalidRequest
from app.money import exponent

MAX_STATEMENT_BYTES = 10 * 1024 * 1024  # SPEC §12: ≤ 10 MiB
XSD_DIR = Path(__file__).resolve().parent / "xsd"
PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
# The namespaces read, each with its schema file and what holds its entries.
MESSAGES = {
    f"{PREFIX}camt.053.001.02": "Stmt", f"{PREFIX}camt.053.001.04": "Stmt", f"{PREFIX}camt.053.001.08": "Stmt",
    f"{PREFIX}camt.054.001.02": "Ntfctn", f"{PREFIX}camt.054.001.04": "Ntfctn", f"{PREFIX}camt.054.001.08": "Ntfctn",
}
ROOTS = {"Stmt": "BkToCstmrStmt", "Ntfctn": "BkToCstmrDbtCdtNtfctn"}


@dataclass(frozen=True)
class Entry:
    """A booked credit entry, as the bank reported it."""

    amount: int  # minor units
    currency: str  # lower case
    booked_at: int  # unix seconds: the booking date at 00:00 UTC, or its date and time
    booking_date: str  # ISO date, part of the dedup key of an entry without a reference
    entry_reference: str | None  # AcctSvcrRef, else NtryRef: the bank's own id of the entry
    remittance_information: str | None  # the unstructured remittance lines, joined by spaces
    creditor_reference: str | None  # the structured reference (CdtrRefInf/Ref), e.g. RF18…
    debtor_name: str | None
    debtor_iban: str | None
    bank_account: str | None  # the account the entry was booked to
    statement_reference: str | None


@dataclass(frozen=True)
class Statement:
    message: str  # e.g. "camt.053.001.02"
    entries: list[Entry]
    skipped: int  # debits, entries not booked, reversals


def _parser() -> etree.XMLParser:
    # No DTDs, no entities, nothing fetched: a statement is data from outside.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True)


@cache
def schema(namespace: str) -> etree.XMLSchema:
    """The official XSD of ``namespace``, loaded once per process."""
    name = namespace.removeprefix(PREFIX)
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"{name}.xsd"), _parser()))


def parse(data: bytes) -> Statement:
    """The booked credit entries of a camt.053 or camt.054 file (see the module docstring)."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise InvalidRequest(f"The statement is {len(data)} bytes; at most {MAX_STATEMENT_BYTES} (10 MiB) are "
                             "read in one import: split it.", code="statement_too_large")
    if not data.strip():
        raise InvalidRequest("The statement is empty: send a camt.053 or camt.054 XML file.",
                             code="statement_not_xml")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidRequest(f"The statement is not well-formed XML: {exc}", code="statement_not_xml") from None
    namespace = etree.QName(root).namespace or ""
    kind = MESSAGES.get(namespace)
    if kind is None or etree.QName(root).localname != "Document":
        supported = ", ".join(ns.removeprefix(PREFIX) for ns in MESSAGES)
        raise InvalidRequest(f"The file is not a supported ISO 20022 statement: its root element is "
                             f"{root.tag!r}; read are Document elements of {supported}.",
                             code="statement_unsupported")
    xsd = schema(namespace)
    if not xsd.validate(root):
        error = xsd.error_log[0]
        raise InvalidRequest(f"The statement does not follow the {namespace.removeprefix(PREFIX)} schema: line "
                             f"{error.line}: {error.message}", code="statement_invalid")
    return Statement(namespace.removeprefix(PREFIX), *_entries(root, namespace, kind))


def _entries(root: etree._Element, ns: str, kind: str) -> tuple[list[Entry], int]:
    n = f"{{{ns}}}"
    entries: list[Entry] = []
    skipped = 0
    for report in root.iterfind(f"{n}{ROOTS[kind]}/{n}{kind}"):
        statement_reference = report.findtext(f"{n}Id")
        account = report.findtext(f"{n}Acct/{n}Id/{n}IBAN") or report.findtext(f"{n}Acct/{n}Id/{n}Othr/{n}Id")
        for ntry in report.iterfind(f"{n}Ntry"):
            status = ntry.findtext(f"{n}Sts/{n}Cd") or ntry.findtext(f"{n}Sts")  # .08 has a choice, .02 a code
            if (ntry.findtext(f"{n}CdtDbtInd") != "CRDT" or (status or "").strip() != "BOOK"
                    or (ntry.findtext(f"{n}RvslInd") or "").strip() in ("true", "1")):
                skipped += 1
                continue
            entries.append(_entry(ntry, n, account, statement_reference))
    return entries, skipped


def _entry(ntry: etree._Element, n: str, account: str | None, statement_reference: str | None) -> Entry:
    amt = ntry.find(f"{n}Amt")
    assert amt is not None  # required by the schema
    currency = amt.get("Ccy", "").lower()
    amount = _minor_units(amt.text or "", currency)
    booked_at, booking_date = _booking(ntry, n)
    tx = ntry.find(f"{n}NtryDtls/{n}TxDtls")
    lines: list[str] = []
    reference = debtor = iban = None
    if tx is not None:
        lines = [e.text.strip() for e in tx.iterfind(f"{n}RmtInf/{n}Ustrd") if e.text and e.text.strip()]
        reference = tx.findtext(f"{n}RmtInf/{n}Strd/{n}CdtrRefInf/{n}Ref")
        parties = tx.find(f"{n}RltdPties")
        if parties is not None:
            debtor = parties.findtext(f"{n}Dbtr/{n}Nm") or parties.findtext(f"{n}Dbtr/{n}Pty/{n}Nm")
            iban = parties.findtext(f"{n}DbtrAcct/{n}Id/{n}IBAN")
    if not lines and ntry.findtext(f"{n}AddtlNtryInf"):
        lines = [(ntry.findtext(f"{n}AddtlNtryInf") or "").strip()]
    remittance = " ".join(lines)[:1000] or None
    return Entry(
        amount=amount, currency=currency, booked_at=booked_at, booking_date=booking_date,
        entry_reference=(ntry.findtext(f"{n}AcctSvcrRef") or ntry.findtext(f"{n}NtryRef") or "").strip() or None,
        remittance_information=remittance, creditor_reference=(reference or "").strip() or None,
        debtor_name=(debtor or "").strip()[:140] or None, debtor_iban=(iban or "").strip() or None,
        bank_account=account, statement_reference=statement_reference,
    )


def _minor_units(text: str, currency: str) -> int:
    try:
        value = Decimal(text.strip())
        units = value.scaleb(exponent(currency))
    except (InvalidOperation, ValueError):
        raise InvalidRequest(f"An entry's amount {text!r} {currency.upper()} is not a valid amount.",
                             code="statement_invalid") from None
    if units != units.to_integral_value():
        raise InvalidRequest(f"An entry's amount {text} has more decimals than {currency.upper()} has.",
                             code="statement_invalid")
    return int(units)


def _booking(ntry: etree._Element, n: str) -> tuple[int, str]:
    """Unix seconds and the ISO date of the entry's booking (else its value date)."""
    for tag in ("BookgDt", "ValDt"):
        day = ntry.findtext(f"{n}{tag}/{n}Dt")
        if day:
            date = dt.date.fromisoformat(day.strip()[:10])
            return calendar.timegm(date.timetuple()), date.isoformat()
        moment = ntry.findtext(f"{n}{tag}/{n}DtTm")
        if moment:
            parsed = dt.datetime.fromisoformat(moment.strip())
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return int(parsed.timestamp()), parsed.date().isoformat()
    raise InvalidRequest("A booked entry has neither a booking date nor a value date.", code="statement_invalid")
