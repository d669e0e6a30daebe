"""Guide: send an invoice.

A customer (with your own reference in metadata), a draft with two lines —
€1,200.00 of design work and 8 × €95.00 of hosting — finalized and emailed to
the customer, who pays on the hosted page.

    export VINR_API_KEY=sk_test_…            # both lines printed by ./scripts/run
    export VINR_BASE_URL=http://127.0.0.1:5000
    python examples/send_invoice.py
"""

from __future__ import annotations

from vinr import Vinr


def main() -> None:
    with Vinr() as vinr:  # the key and URL from VINR_API_KEY and VINR_BASE_URL
        customer = vinr.customers.create(
            email="jenny.rosen@example.com",
            name="Jenny Rosen",
            address={"line1": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
            metadata={"crm_id": "4711"},
        )
        invoice = vinr.invoices.create(
            customer=customer.id,
            collection_method="send_invoice",  # the customer pays on the hosted page
            days_until_due=30,
            currency="eur",
        )
        vinr.invoices.add_line_item(invoice.id, description="Design work", unit_amount=120000)  # minor units
        vinr.invoices.add_line_item(invoice.id, description="Hosting (monthly)", unit_amount=9500, quantity=8)
        invoice = vinr.invoices.finalize(invoice.id)
        invoice = vinr.invoices.send(invoice.id)

        print(f"invoice: {invoice.id} {invoice.number}")
        print(f"status: {invoice.status}")
        print(f"total: {invoice.total} {invoice.currency}")
        print(f"hosted_invoice_url: {invoice.hosted_invoice_url}")


if __name__ == "__main__":
    main()
