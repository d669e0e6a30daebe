"""Guide: create an invoice directly.

Bill something the moment it happens as a pending invoice item; the next
invoice made for that customer (in that currency) sweeps every pending item up
as its lines, so the invoice needs no lines of its own.

    python examples/create_invoice_directly.py
"""

from __future__ import annotations

from vinr import Vinr


def main() -> None:
    with Vinr() as vinr:
        customer = vinr.customers.create(email="max.mustermann@example.com", name="Max Mustermann",
                                         address={"country": "DE"})
        # e.g. when the work is delivered, long before the invoice is written
        item = vinr.invoice_items.create(customer=customer.id, currency="eur", description="Workshop (2 days)",
                                         unit_amount=45000, quantity=2)
        invoice = vinr.invoices.create(customer=customer.id, collection_method="send_invoice", days_until_due=14)
        invoice = vinr.invoices.finalize(invoice.id)

        for line in invoice.lines:
            print(f"line: {line.description} {line.quantity} x {line.unit_amount} = {line.amount}"
                  f" (from {line.invoice_item})")
        print(f"invoice_item: {item.id} -> {vinr.invoice_items.retrieve(item.id).invoice}")
        print(f"status: {invoice.status}")
        print(f"total: {invoice.total} {invoice.currency}")
        print(f"hosted_invoice_url: {invoice.hosted_invoice_url}")


if __name__ == "__main__":
    main()
