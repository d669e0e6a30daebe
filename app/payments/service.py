"""The API's payment requests (SPEC §3): ``/pay``, finalize-and-collect, and listing payments.

Collecting itself is the money flow, app/payments/flow.py; saved cards are app/payments/methods.py.
"""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.service import Caller
from app.errors import Conflict, InvalidRequest, ServiceUnavailable
from app.invoices.lifecycle import finalize
from app.invoices.models import Invoice
from app.invoices.schemas import FinalizeParams
from app.invoices.states import illegal
from app.pagination import Page, paginate
from app.payments import flow, transfers
from app.payments.methods import default_method, get_payment_method
from app.payments.models import Payment, PaymentMethod
from app.payments.schemas import PaymentList, PayParams
from app.tenancy import get_for, scoped


def pay(session: Session, money: flow.MoneyFlow, caller: Caller, invoice_id: str, params: PayParams) -> Invoice:
    """``POST /v1/invoices/{id}/pay``: collect off-session, or record an out-of-band payment.

    Declines are outcomes (the invoice stays payable); raises Conflict when the
    invoice is not payable or another collection is running, NotFound for an
    unknown method, ServiceUnavailable when live mode has no processor.
    """
    invoice = get_for(session, caller, Invoice, invoice_id)
    if params.paid_out_of_band:
        if params.payment_method is not None:
            raise InvalidRequest("paid_out_of_band takes no payment_method.", param="payment_method")
        transfers.record_out_of_band(session, invoice, params.amount)
        return invoice
    if params.amount is not None:
        raise InvalidRequest("amount is only for paid_out_of_band: a charge collects what remains.", param="amount")
    money.processor(caller.livemode)  # a live account without a processor hears so first
    if not invoice.is_payable:
        raise illegal(invoice, "pay")
    pm = _payment_method_for(session, caller, invoice, params.payment_method)
    flow.collect(session, invoice, money, pm, off_session=True)
    return invoice


def finalize_and_collect(session: Session, money: flow.MoneyFlow, caller: Caller, invoice_id: str,
                         params: FinalizeParams, *, secret_key: str) -> Invoice:
    """Finalize (its hosted link signed with ``secret_key``); then, for charge_automatically,
    collect from the default method unless this request says ``auto_advance: false`` (SPEC
    §3 finalize). The invoice stays finalized whatever the collection comes to."""
    invoice = finalize(session, caller, invoice_id, params, secret_key=secret_key)
    if params.auto_advance is not False:
        collect_finalized(session, invoice, money, automatic=True)
    return invoice


def collect_finalized(session: Session, invoice: Invoice, money: flow.MoneyFlow, *, automatic: bool) -> None:
    """A just-finalized charge_automatically invoice: collect it from the customer's default
    method, if any. ``automatic``: VINR's own attempt, so a failure enters dunning
    (app/automation/plans.py). Nothing to charge, no live processor, or a collection
    already under way leave the invoice open for /pay, the hosted page or that collection."""
    if invoice.collection_method != "charge_automatically" or not invoice.is_payable:
        return
    pm = default_method(session, invoice.customer)
    if pm is None:
        return  # nothing to charge yet; the merchant or the customer pays later
    with contextlib.suppress(ServiceUnavailable, Conflict):
        flow.collect(session, invoice, money, pm, off_session=True, automatic=automatic)


def _payment_method_for(session: Session, caller: Caller, invoice: Invoice, pm_id: str | None) -> PaymentMethod:
    if pm_id is None:
        customer = invoice.customer
        if customer.deleted:
            raise InvalidRequest("The customer was deleted and their payment methods detached, so nothing is "
                                 "charged off-session; the invoice can still be paid on its hosted page.",
                                 param="payment_method", code="customer_deleted")
        pm_id = customer.default_payment_method_id
        if pm_id is None:
            raise InvalidRequest("The customer has no default payment method; pass payment_method.",
                                 param="payment_method", code="payment_method_missing")
    return get_payment_method(session, caller, pm_id, customer_id=invoice.customer_id)


def list_payments(session: Session, caller: Caller, query: PaymentList) -> Page[Payment]:
    """A page of the caller's payments, newest first, optionally of one invoice."""
    stmt = scoped(sa.select(Payment), caller, Payment)
    if query.invoice is not None:
        stmt = stmt.where(Payment.invoice_id == query.invoice)
    return paginate(session, stmt, Payment, caller, limit=query.limit, starting_after=query.starting_after,
                    ending_before=query.ending_before)
