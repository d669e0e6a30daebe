"""The e-invoice XML of a 50-line invoice, in process (SPEC §10; issue 26: target < 10 ms).

Times ``app.einvoicing.document.build`` plus ``app.einvoicing.syntax.render`` for each format,
on a finalized invoice made in memory as totals.py computes it (50 lines at 19 %, a 10 % coupon,
a bank account): what ``GET /v1/invoices/{id}/einvoice`` does between loading the invoice
and answering. No database, no HTTP. Wall time (``perf_counter``) and this process's CPU time
(``process_time``: on a shared machine the wall time also counts waiting for a core). Prints a
Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import app.models  # noqa: F401 - maps every model, as the app does
from app.einvoicing.document import build
from app.einvoicing.syntax import Format, render
from app.invoices import totals
from app.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from app.invoices.pricing import invoice_tax_entries, tax_entry
from app.invoices.tax_treatment import EXEMPT_FROM_VAT

LEGAL = {
    "legal_name": "Acme GmbH", "address": {"line1": "Marienplatz 1", "city": "München", "postal_code": "80331",
                                           "country": "DE"},
    "vat_id": "DE123456788", "tax_number": None, "registration": "Amtsgericht München HRB 12345",
    "contact_name": "Acme GmbH", "email": "billing@acme.example", "phone": "+49 89 1234567", "website": None,
    "bank_account": {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "account_holder": None},
    "small_business": False,
}


def invoice(lines: int) -> Invoice:
    amounts = [(1 + i % 5) * (990 + 17 * i) for i in range(lines)]
    result = totals.compute([totals.LineIn(a) for a in amounts], [totals.CouponIn("TEN", 1_000, None)],
                            [totals.RateIn("txr_19", 190_000, False)])
    rows = [InvoiceLine(position=i, description=f"Beratungsleistung Position {i + 1}", quantity=1 + i % 5,
                        unit="HUR", unit_amount=990 + 17 * i, amount=a, discount_amount=out.discount_amount,
                        net_amount=out.net_amount, tax_amounts=[tax_entry(t) for t in out.tax_amounts],
                        service_period_start=None, service_period_end=None)
            for i, (a, out) in enumerate(zip(amounts, result.lines, strict=True))]
    return Invoice(
        number="ACME-0001", currency="eur", status=InvoiceStatus.OPEN, finalized_at=1_767_225_600,
        due_date=1_768_435_200, account_legal=LEGAL, customer_name="Käufer AG", customer_email="ap@kaeufer.example",
        customer_address={"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        customer_tax_ids=[{"type": "eu_vat", "value": "DE136695976"}], buyer_reference="04011000-12345-03",
        lines=rows, subtotal=result.subtotal, discount=result.discount, tax=result.tax, total=result.total,
        amount_due=result.total, amount_paid=0,
        discount_amounts=[{"coupon": k, "amount": a} for k, a in result.discounts],
        tax_amounts=invoice_tax_entries(result, EXEMPT_FROM_VAT),
        description="Vielen Dank für Ihren Auftrag.", footer=None, service_period_start=None, service_period_end=None,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench einvoice", description=__doc__)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--runs", type=int, default=300, help="timed runs per format")
    args = parser.parse_args(argv)
    inv = invoice(args.lines)
    rates = {"txr_19": 190_000}
    print(f"| format | {args.lines}-line invoice, median ms | p95 ms | CPU median ms | bytes | target |")
    print("|---|---|---|---|---|---|")
    for fmt in Format:
        for _ in range(20):  # warm-up: imports, lxml's and factur-x's first calls
            render(build(inv, rates), fmt)
        times, cpu = [], []
        for _ in range(args.runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            xml = render(build(inv, rates), fmt)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
        print(f"| `{fmt.value}` | {statistics.median(times):.2f} | {p95:.2f} | {statistics.median(cpu):.2f} "
              f"| {len(xml)} | < 10 ms |")
    return 0
