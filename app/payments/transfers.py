"""Money that reaches the merchant without the card processor (SPEC §12): a bank transfer
read off the merchant's bank statement (the statement import calls
``record_bank_transfer``), and a payment the merchant records as made another way
(``POST /v1/invoices/{id}/pay`` {``paid_out_of_band``: true, ``amount``}:
``record_out_of_band``).

Both are one core, ``_record``: under the invoice's row lock (the lock the money flow
takes, app/payments/flow.py ``lock_invoice``), a ``completed`` payment of the amount with
its ``payment_method_type``, applied to the invoice by app/payments/settlement.py (a part
raises ``amount_paid``; the invoice is ``paid`` when nothing remains; an excess goes to the
customer's balance), and its events: ``payment.completed`` and
``invoice.payment_succeeded`` for every part, ``invoice.paid`` once, for the part that
brings the remainder to 0. Nothing here calls a processor, so these are services: they
flush, never commit, and the boundary that calls them commits.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.errors import InvalidRequest
from app.events import service as events
from app.ids import new_id
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.serializers import record_event as record_invoice_event
from app.invoices.states import illegal, payment_in_progress
from app.payments.flow import lock_invoice
from app.payments.models import Payment, PaymentMethodType, PaymentStatus
from app.payments.serializers import serialize_payment
from app.payments.settlement import Settlement, apply_payment

# A transfer can arrive for an invoice that is paid already (a customer paying twice): the
# money is the customer's, so it goes to their balance. Not for a draft (it has no number
# or reference to be paid by) or a void invoice (nothing is owed, and the merchant decides).
_TAKES_TRANSFERS = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.PAID)


def record_bank_transfer(session: Session, invoice: Invoice, amount: int, *, booked_at: int,
                         bank_transaction_id: str, debtor_name: str | None = None) -> Payment:
    """Record that a bank transfer of ``amount`` (minor units of the invoice's currency; the
    caller has checked the currency) paid ``invoice``, as the statement entry
    ``bank_transaction_id`` booked at ``booked_at`` (unix seconds) says. Flushes, never
    commits: the caller's transaction holds the payment, its effect on the invoice and the
    customer's balance, and the events.

    Under the invoice's row lock: a ``completed`` payment with ``payment_method_type``
    ``bank_transfer``; a part raises ``amount_paid`` and lowers ``amount_remaining``; the
    part that brings the remainder to 0 makes the invoice ``paid`` (``invoice.paid``, once);
    what is beyond the remainder (an overpayment, or a transfer for an invoice paid already)
    is credited to the customer's balance. A transfer is money already received, so it is
    recorded also while a card payment for the invoice is in flight: that charge, if it
    succeeds, credits its excess to the balance in turn (app/payments/settlement.py).

    Idempotent per statement entry: a second call with the same ``bank_transaction_id``
    changes nothing and returns the payment recorded the first time (a unique index backs
    this up). Raises InvalidRequest (param ``amount``) for an amount that is not positive,
    Conflict ``invoice_unexpected_status`` for a draft or void invoice, and InvalidRequest
    ``balance_currency_mismatch`` when an excess cannot go to the customer's balance (it
    holds another currency).
    """
    lock_invoice(session, invoice)
    earlier = session.scalars(sa.select(Payment).where(Payment.bank_transaction_id == bank_transaction_id)).first()
    if earlier is not None:
        return earlier
    if invoice.status not in _TAKES_TRANSFERS:
        raise illegal(invoice, "record a bank transfer for")
    payment = _record(session, invoice, amount, PaymentMethodType.BANK_TRANSFER)
    payment.bank_transaction_id, payment.booked_at, payment.debtor_name = bank_transaction_id, booked_at, debtor_name
    session.flush()
    return payment


def record_out_of_band(session: Session, invoice: Invoice, amount: int | None = None) -> Payment:
    """Record that ``invoice`` was paid ``amount`` (minor units; default: all that remains)
    another way, as the merchant says (SPEC §12): a ``completed`` ``out_of_band`` payment
    with the same effects and events as ``record_bank_transfer``. Flushes, never commits.

    Raises Conflict ``invoice_unexpected_status`` unless the invoice is payable (open or
    uncollectible with something remaining), Conflict ``payment_in_progress`` while a card
    payment for it is in flight (the merchant records it once that has an outcome), and
    InvalidRequest (param ``amount``) for an amount that is not positive.
    """
    lock_invoice(session, invoice)
    if invoice.collecting_payment_id is not None:
        raise payment_in_progress("record a payment out of band for")
    if not invoice.is_payable:
        raise illegal(invoice, "pay")
    return _record(session, invoice, invoice.amount_remaining if amount is None else amount,
                   PaymentMethodType.OUT_OF_BAND)


def _record(session: Session, invoice: Invoice, amount: int, method: PaymentMethodType) -> Payment:
    """The core of both, under the invoice's lock: the payment, its settlement, its events."""
    if amount <= 0:
        raise InvalidRequest("amount must be a positive number of minor units.", param="amount")
    now = clock.now()
    payment = Payment(id=new_id("pay"), account_id=invoice.account_id, livemode=invoice.livemode, created=now,
                      updated=now, invoice_id=invoice.id, customer_id=invoice.customer_id, payment_method_id=None,
                      amount=amount, currency=invoice.currency, payment_method_type=method,
                      status=PaymentStatus.COMPLETED, off_session=True, processor="none")
    session.add(payment)
    session.flush()
    settlement = apply_payment(session, invoice, payment)
    _announce(session, invoice, payment, settlement)
    return payment


def _announce(session: Session, invoice: Invoice, payment: Payment, settlement: Settlement) -> None:
    """The events of a completed payment that did not go through the card processor."""
    events.record(session, payment.account_id, payment.livemode, "payment.completed", serialize_payment(payment))
    record_invoice_event(session, invoice, "invoice.payment_succeeded")
    if settlement.settled:
        record_invoice_event(session, invoice, "invoice.paid")
