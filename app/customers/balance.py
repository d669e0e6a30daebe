"""A customer's balance (SPEC §11): credit the merchant owes the customer (negative, minor units),
in one currency, taken off the customer's next invoice in that currency at finalization.

Every change is one conditional ``UPDATE … RETURNING`` of the customer row (so concurrent
credit notes and finalizations add up, never overwrite each other; PostgreSQL's row lock and
SQLite's write lock queue them) and one ledger row (``CustomerBalanceTransaction``), so the
balance is always the sum of its ledger. Nothing else writes ``Customer.balance``.

Only credit is applied to invoices: nothing in VINR makes a balance positive (a debit) but a
credit note voided after its credit was spent, and that debit stays on the customer until a
later credit covers it; it is never charged by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.clocks import now_for
from app.customers.models import BalanceTransactionType, Customer, CustomerBalanceTransaction
from app.errors import InvalidRequest
from app.ids import new_id


@dataclass(frozen=True, slots=True)
class Applied:
    """What finalization took off an invoice: the balance before and after, and the amount (>= 0)."""

    starting_balance: int
    ending_balance: int
    amount: int


def change(session: Session, customer: Customer, amount: int, currency: str, type_: BalanceTransactionType, *,
           credit_note_id: str | None = None, invoice_id: str | None = None,
           param: str = "credit_amount") -> CustomerBalanceTransaction:
    """Add ``amount`` (minor units of ``currency``; negative credits the customer) to the
    customer's balance and record it. Raises InvalidRequest naming ``param`` when the customer
    has a balance in another currency."""
    cur = currency.lower()
    stmt = (sa.update(Customer)
            .where(Customer.id == customer.id,
                   sa.or_(Customer.balance == 0, Customer.balance_currency.is_(None), Customer.balance_currency == cur))
            .values(balance=Customer.balance + amount, balance_currency=cur)
            .returning(Customer.balance)
            .execution_options(synchronize_session=False))
    ending = session.execute(stmt).scalar_one_or_none()
    if ending is None:
        raise InvalidRequest(f"The customer has a balance in {customer.balance_currency}; a balance holds one "
                             f"currency, so no {cur} can go to it until that is used up.", param=param,
                             code="balance_currency_mismatch")
    session.expire(customer, ["balance", "balance_currency"])
    entry = CustomerBalanceTransaction(
        id=new_id("cbtxn"), account_id=customer.account_id, livemode=customer.livemode,
        created=now_for(session, customer.account_id, customer.livemode),  # a test clock dates it (SPEC §5)
        customer_id=customer.id, type=type_, amount=amount, currency=cur, ending_balance=ending,
        credit_note_id=credit_note_id, invoice_id=invoice_id)
    session.add(entry)
    return entry


def apply_to_invoice(session: Session, customer: Customer, invoice_id: str, currency: str, amount_due: int) -> Applied:
    """Take the customer's credit off an invoice being finalized (``amount_due``, minor units of
    ``currency``) as far as it goes: up to ``amount_due``, in that currency only. The caller
    sets the invoice's ``starting_balance`` and ``ending_balance`` and lowers its ``amount_due``
    by ``Applied.amount``."""
    row = session.execute(sa.select(Customer.balance, Customer.balance_currency)
                          .where(Customer.id == customer.id).with_for_update()).one()
    balance = row.balance if row.balance_currency in (None, currency) else 0
    applied = min(-balance, amount_due) if balance < 0 else 0
    if applied:
        change(session, customer, applied, currency, BalanceTransactionType.APPLIED_TO_INVOICE, invoice_id=invoice_id)
    return Applied(balance, balance + applied, applied)
