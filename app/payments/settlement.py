"""What a completed payment does to its invoice (SPEC §12), written once for every way money
arrives: a card charge the money flow recorded (app/payments/flow.py ``apply_outcome``), a
bank transfer read off a statement and an out-of-band payment the merchant records
(app/payments/transfers.py).

A payment pays what the invoice still owes: it raises ``amount_paid`` (never above
``amount_due``, so ``amount_remaining`` never goes below 0 and the e-invoice's prepaid
amount, BT-113, is never more than the invoice), and the invoice becomes ``paid`` when
nothing remains. What it brought beyond that (an overpayment; a transfer for an invoice
that is paid already; a card charge that was in flight while a transfer paid part of the
invoice) is credited to the customer's balance (app/customers/balance.py), so no money is
ever collected without being accounted for.

Called under the invoice's row lock (``flow.lock_invoice``), inside the caller's step.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.customers import balance
from app.customers.models import BalanceTransactionType, Customer
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.states import transition
from app.payments.models import Payment

_OWING = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a completed payment came to: the part that paid the invoice, the excess credited
    to the customer's balance (minor units), and whether it brought the invoice to ``paid``."""

    applied: int
    excess: int
    settled: bool


def apply_payment(session: Session, invoice: Invoice, payment: Payment, *, param: str = "amount") -> Settlement:
    """Apply the completed ``payment`` to ``invoice``: raise ``amount_paid`` by what is owed
    at most, move the invoice to ``paid`` when nothing remains, and credit the rest to the
    customer's balance. Flushes. The caller records the events (``settled``: ``invoice.paid``).

    Raises InvalidRequest ``balance_currency_mismatch`` (naming ``param``) when there is an
    excess and the customer's balance is in another currency.
    """
    owed = max(invoice.amount_remaining, 0) if invoice.status in _OWING else 0
    applied = min(payment.amount, owed)
    excess = payment.amount - applied
    invoice.amount_paid += applied
    if excess:
        customer = session.get_one(Customer, invoice.customer_id)
        balance.change(session, customer, -excess, payment.currency, BalanceTransactionType.OVERPAYMENT,
                       invoice_id=invoice.id, param=param)
    settled = invoice.status in _OWING and invoice.amount_remaining <= 0
    if settled:
        invoice.last_payment_error = None
        invoice.next_payment_attempt = None
        transition(session, invoice, InvoiceStatus.PAID, flush=False)
    session.flush()
    return Settlement(applied, excess, settled)
