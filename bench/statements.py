"""Importing a camt.053 statement (SPEC §12; issue 29: 10,000 entries well under 10 s, cost
growing linearly).

Generates camt.053.001.02 statements of 1,000, 5,000 and 10,000 booked credits (each with the
bank's reference, a debtor and a remittance line naming no invoice, so every one is recorded
as an unmatched bank transaction with its two events) and imports each into a fresh account,
in process, as ``POST /v1/bank_statements`` does between reading the body and answering:
XSD validation, parsing, the inserts, matching and the events, then the commit. Then imports
the 10,000 again (all duplicates). Prints a Markdown table for docs/performance.md.

    python -m bench statements [--database-url postgresql://…] [--sizes 1000 5000 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from app import create_app
from app.accounts.caller import Caller
from app.accounts.service import create_merchant
from app.banking.service import import_statement
from app.cli import upgrade
from app.extensions import db


def entry(i: int) -> str:
    return (f"<Ntry><Amt Ccy=\"EUR\">{10 + i % 900}.{i % 100:02d}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>2027-01-{1 + i % 28:02d}</Dt></BookgDt><ValDt><Dt>2027-01-{1 + i % 28:02d}</Dt></ValDt>"
            f"<AcctSvcrRef>2027{i:012d}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f"<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Kunde {i}</Nm></Dbtr>"
            "<DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties>"
            f"<RmtInf><Ustrd>Bestellung {i * 7} Kundennummer {i}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>")


def statement(count: int) -> bytes:
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>"
            "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2027-01-31T18:00:00</CreDtTm></GrpHdr>"
            "<Stmt><Id>BENCH-1</Id><CreDtTm>2027-01-31T18:00:00</CreDtTm>"
            "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>"
            "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">0.00</Amt>"
            "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2027-01-31</Dt></Dt></Bal>"
            + "".join(entry(i) for i in range(count)) + "</Stmt></BkToCstmrStmt></Document>").encode()


def timed_import(caller: Caller, data: bytes) -> tuple[float, int, int]:
    start = time.perf_counter()
    summary = import_statement(db.session, caller, data)
    db.session.commit()
    return time.perf_counter() - start, summary.created, summary.duplicates


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench statements", description=__doc__)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789"})
        with app.app_context():
            upgrade()
            print(f"| entries | file MiB | import s | per entry ms | created | target |  ({db.engine.dialect.name})")
            print("|---|---|---|---|---|---|")
            data = b""
            caller = None
            for size in args.sizes:
                merchant = create_merchant(db.session, f"Bench {size}", f"B{size}")
                db.session.commit()
                caller = Caller(account=merchant.account, livemode=False)
                data = statement(size)
                seconds, created, _ = timed_import(caller, data)
                print(f"| {size} | {len(data) / 2**20:.1f} | {seconds:.2f} | {seconds * 1000 / size:.3f} | {created} "
                      f"| {'< 10 s' if size == 10000 else ''} |")
            if caller is not None:
                seconds, _, duplicates = timed_import(caller, data)
                print(f"| {args.sizes[-1]} again (all duplicates) | {len(data) / 2**20:.1f} | {seconds:.2f} "
                      f"| {seconds * 1000 / args.sizes[-1]:.3f} | 0 of {duplicates} | |")
            db.engine.dispose()
    return 0
