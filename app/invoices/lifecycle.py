"""An invoice's life after its draft (SPEC §3): finalize, void, mark uncollectible. Sending it
is an email (app/emails/service.py ``send_invoice``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app import clock, tokens
from app.accounts.service import Caller, next_invoice_number
from app.business_profile import service as profile
from app.customers import balance
from app.customers.models import Customer
from app.customers.service import serialize as serialize_customer
from app.errors import InvalidRequest
from app.events.service import record
from app.invoices import tax_treatment
from app.invoices.drafts import load_draft
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.pricing import recompute
from app.invoices.reference import payment_reference_for
from app.invoices.schedule import plan_reminders
from app.invoices.schemas import FinalizeParams
from app.invoices.serializers import record_event
from app.invoices.states import illegal, payment_in_progress, transition
from app.tenancy import get_for

S = InvoiceStatus
DAY = 86_400

def _settle_customer_discount(invoice: Invoice, customer: Customer) -> bool:
    """Apply the customer's discount as it is now; use up a "once" coupon.

    Returns True when the customer's coupon was used up (the customer changed).
    """
    previous = invoice.customer_discount_pk
    if previous is None:
        return False
    pks = [pk for pk in invoice.coupon_pks if pk != previous]
    coupon = customer.coupon
    if coupon is None or coupon.deleted or coupon.currency not in (None, invoice.currency):
        invoice.coupon_pks, invoice.customer_discount_pk = pks, None
        return False
    invoice.coupon_pks, invoice.customer_discount_pk = [*pks, coupon.pk], coupon.pk
    if coupon.duration == "once":
        customer.coupon = None  # used up by the first invoice finalized with it
        return True
    return False


def finalize(session: Session, caller: Caller, invoice_id: str, params: FinalizeParams, *,
             secret_key: str) -> Invoice:
    """SPEC §3 finalize, in order: discounts, tax, lock, number, the customer's credit balance
    (SPEC §11: taken off ``amount_due``, app/customers/balance.py), hosted link (signed with
    ``secret_key``, the app's).

    Raises InvalidRequest ``customer_tax_id_required`` for a reverse charge customer without an
    EU VAT id of another member state (app/invoices/tax_treatment.py), before anything changes.

    Zero due goes straight to paid. Collecting a charge_automatically invoice
    is app/payments/service.finalize_and_collect's part, after this. A send_invoice
    invoice gets its reminders planned (SPEC §5).
    """
    invoice, customer = load_draft(session, caller, invoice_id, "finalize")
    if invoice.collection_method == "send_invoice" and not customer.email:
        raise InvalidRequest("The customer has no email, so a send_invoice invoice cannot be finalized.",
                             param="customer", code="customer_email_missing")
    # The seller as the invoice prints it from now on, whatever the profile becomes (SPEC §10),
    # and the tax treatment decided from it, refused before anything is written.
    legal = profile.legal_fields(profile.get_profile(session, invoice.account_id))
    decision = tax_treatment.decide(customer.tax_exempt, customer.tax_ids, legal)
    if decision.refusal is not None:
        raise InvalidRequest(decision.refusal, param="customer", code="customer_tax_id_required")
    consumed = _settle_customer_discount(invoice, customer)
    recompute(session, caller, invoice, customer)
    invoice.tax_treatment = decision.treatment.value
    invoice.customer_email = customer.email
    invoice.customer_name = customer.name
    invoice.customer_address = dict(customer.address) if customer.address else None
    invoice.customer_tax_ids = [dict(tax_id) for tax_id in customer.tax_ids]
    if invoice.buyer_reference is None:
        invoice.buyer_reference = customer.einvoice_buyer_reference
    # The number before the invoice's own write, so status, totals, number and
    # link go out as one versioned UPDATE. A stale version fails that write and
    # rolls the counter back with it, so no number is lost or repeated.
    invoice.account_legal = legal
    with session.no_autoflush:
        invoice.number = next_invoice_number(session, caller.account, caller.livemode)
        invoice.payment_reference = payment_reference_for(invoice.number)  # frozen with the number (SPEC §12)
        # The customer's credit, a line-independent adjustment after tax (SPEC §11).
        applied = balance.apply_to_invoice(session, customer, invoice.id, invoice.currency, invoice.amount_due)
    invoice.starting_balance, invoice.ending_balance = applied.starting_balance, applied.ending_balance
    invoice.amount_due -= applied.amount
    transition(session, invoice, S.OPEN, flush=False)
    if invoice.collection_method == "send_invoice" and invoice.due_date is None:
        assert invoice.days_until_due is not None
        invoice.due_date = (invoice.finalized_at or clock.now()) + invoice.days_until_due * DAY
    invoice.hosted_token = tokens.mint(tokens.HOSTED_INVOICE, {"i": invoice.id, "a": invoice.account_id},
                                      secret_key=secret_key)
    if params.auto_advance is not None:
        invoice.auto_advance = params.auto_advance
    invoice.last_finalization_error = None
    session.flush()
    record_event(session, invoice, "invoice.finalized")
    if consumed or applied.amount:
        record(session, caller.account.id, caller.livemode, "customer.updated", serialize_customer(customer))
    if invoice.amount_due == 0:
        transition(session, invoice, S.PAID)
        record_event(session, invoice, "invoice.paid")
    else:
        plan_reminders(session, invoice)
    return invoice


def _not_collecting(invoice: Invoice, action: str) -> None:
    # Voiding while a charge is in flight could take money for a void invoice.
    if invoice.collecting_payment_id is not None:
        raise payment_in_progress(action)


def void(session: Session, caller: Caller, invoice_id: str) -> Invoice:
    invoice = get_for(session, caller, Invoice, invoice_id)
    _not_collecting(invoice, "void")
    transition(session, invoice, S.VOID)
    invoice.next_payment_attempt = None
    session.flush()
    record_event(session, invoice, "invoice.voided")
    return invoice


def mark_uncollectible(session: Session, caller: Caller, invoice_id: str) -> Invoice:
    invoice = get_for(session, caller, Invoice, invoice_id)
    if invoice.status is not S.OPEN:
        raise illegal(invoice, "mark uncollectible")
    _not_collecting(invoice, "mark uncollectible")
    transition(session, invoice, S.UNCOLLECTIBLE)
    invoice.next_payment_attempt = None
    session.flush()
    record_event(session, invoice, "invoice.marked_uncollectible")
    return invoice
