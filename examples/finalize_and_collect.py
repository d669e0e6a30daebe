"""Guide: finalize and collect.

Charge a customer's saved card for an invoice yourself: finalize with
``auto_advance=False`` (VINR does not collect on its own), then ``pay``. A
decline is no exception: the invoice stays open and says why.

    python examples/finalize_and_collect.py                    # a card that pays
    python examples/finalize_and_collect.py 4000000000009995   # insufficient funds

Saving a card through the API works in test mode only, with the test cards listed
in docs/payments.md ("In test mode"); in live mode customers save theirs on the
hosted page.
"""

from __future__ import annotations

import sys

from vinr import Vinr


def main(card_number: str = "4242424242424242") -> None:
    with Vinr() as vinr:
        customer = vinr.customers.create(email="erika.musterfrau@example.com", address={"country": "DE"})
        vinr.customers.payment_methods.create(
            customer.id, card={"number": card_number, "exp_month": 12, "exp_year": 2040, "cvc": "123"},
            set_default=True)
        invoice = vinr.invoices.create(customer=customer.id)  # charge_automatically
        vinr.invoices.add_line_item(invoice.id, description="Annual licence", unit_amount=49000)

        invoice = vinr.invoices.finalize(invoice.id, auto_advance=False)
        # One key per business action: if this script is run again after a crash,
        # the same key replays the first answer instead of charging twice.
        invoice = vinr.invoices.pay(invoice.id, idempotency_key=f"pay-{invoice.id}")

        print(f"invoice: {invoice.id} {invoice.number}")
        print(f"status: {invoice.status}")
        if invoice.status == "paid":
            print(f"payment: {invoice.payment}")
        elif (error := invoice.last_payment_error) is not None:
            print(f"declined: {error.code} {error.decline_code or ''}".rstrip())
            print(f"message: {error.message}")
            print(f"hosted_invoice_url: {invoice.hosted_invoice_url}")  # the customer can still pay here


if __name__ == "__main__":
    main(*sys.argv[1:2])
