"""The API's refund requests (SPEC §11): ``POST /v1/refunds``, retrieving and listing refunds.

Refunding itself is the money flow's (app/payments/flow.py: ``claim_refund``, then
``execute_refund``); a credit note that gives money back calls those two itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.service import Caller
from app.pagination import Page, paginate
from app.payments import flow
from app.payments.models import Payment, Refund
from app.payments.schemas import RefundCreate, RefundList
from app.tenancy import get_for, scoped


def create_refund(session: Session, money: flow.MoneyFlow, caller: Caller, params: RefundCreate) -> Refund:
    """Refund the caller's payment ``params.payment``: claim, send, record (commits).

    Returns the refund as the processor left it: ``succeeded``, ``failed`` with its
    ``failure_reason``, or ``pending`` while its answer is not clear. Raises NotFound
    (param ``payment``) for an unknown or foreign payment, and what ``flow.claim_refund``
    raises (400 for the amount, 409 for a payment that did not complete, 503 for live mode
    without a processor).
    """
    payment = get_for(session, caller, Payment, params.payment, param="payment")
    refund = flow.claim_refund(session, money, payment, amount=params.amount,
                               reason=params.reason,
                               metadata=params.metadata)
    return flow.execute_refund(session, money, refund.id)


def list_refunds(session: Session, caller: Caller, query: RefundList) -> Page[Refund]:
    """A page of the caller's refunds, newest first, optionally of one payment."""
    stmt = scoped(sa.select(Refund), caller, Refund)
    if query.payment is not None:
        stmt = stmt.where(Refund.payment_id == query.payment)
    return paginate(session, stmt, Refund, caller, limit=query.limit, starting_after=query.starting_after,
                    ending_before=query.ending_before)
