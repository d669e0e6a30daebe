"""camt files for the statement import tests: the hand-written ones in files/, and generated ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Api

FILES = Path(__file__).resolve().parent / "files"
XML = {"Content-Type": "application/xml"}


def fixture(name: str, **put: str) -> bytes:
    """A hand-written file, with ``put``'s values for its placeholders (``INVOICE_NUMBER="ACME-0001"``)."""
    data = (FILES / name).read_bytes()
    for placeholder, value in put.items():
        data = data.replace(placeholder.encode(), value.encode())
    return data


def entry(amount: str, remittance: str, *, ref: str | None = None, day: str = "2027-01-05",
          currency: str = "EUR", indicator: str = "CRDT") -> str:
    """One booked camt.053.001.02 entry."""
    reference = f"<AcctSvcrRef>{ref}</AcctSvcrRef>" if ref else ""
    return (f"<Ntry><Amt Ccy=\"{currency}\">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>{reference}"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            "<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Payer</Nm></Dbtr></RltdPties>"
            f"<RmtInf><Ustrd>{remittance}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>")


def statement(entries: list[str], *, statement_id: str = "S-1", iban: str = "DE89370400440532013000") -> bytes:
    """A camt.053.001.02 statement of ``entries`` (see ``entry``)."""
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>"
            "<GrpHdr><MsgId>M-1</MsgId><CreDtTm>2027-01-05T18:00:00</CreDtTm></GrpHdr>"
            f"<Stmt><Id>{statement_id}</Id><CreDtTm>2027-01-05T18:00:00</CreDtTm>"
            f"<Acct><Id><IBAN>{iban}</IBAN></Id></Acct>"
            "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">0.00</Amt>"
            "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2027-01-05</Dt></Dt></Bal>"
            + "".join(entries) + "</Stmt></BkToCstmrStmt></Document>").encode()


def generated(count: int, *, start: int = 0) -> bytes:
    """A statement of ``count`` booked credits with their own references, naming no invoice."""
    return statement([entry(f"{10 + i % 900}.{i % 100:02d}", f"Payment {i} for order {i * 7}", ref=f"R{i:010d}")
                      for i in range(start, start + count)])


def import_file(api: Api, data: bytes, **headers: str) -> Any:
    return api.client.post("/v1/bank_statements", data=data, headers={"X-Api-Key": api.key, **XML, **headers})


def open_invoice(api: Api, customer_id: str, amount: int, currency: str = "eur") -> dict[str, Any]:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer_id, "currency": currency})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Work", "unit_amount": amount})
    return api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})
