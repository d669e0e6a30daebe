"""Reading invoices: one for a change, with its lines and customer; pages of them for lists."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, raiseload, with_expression

from app.accounts.clocks import offset_of
from app.accounts.service import Caller
from app.customers.models import Customer
from app.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from app.invoices.schemas import InvoiceList
from app.pagination import ListQuery, Page, keyset_page, paginate
from app.tenancy import get_for, lookup, scoped

# With the account's clock (a subquery), to date the change on it.
_FOR_CHANGE = lookup(Invoice, options=(joinedload(Invoice.customer), joinedload(Invoice.lines),
                                       with_expression(Invoice.clock_offset,
                                                       offset_of(Invoice.account_id, Invoice.livemode))))


def load_invoice(session: Session, caller: Caller, invoice_id: str) -> tuple[Invoice, Customer]:
    """The caller's invoice with its lines, and its customer, in one statement, or NotFound."""
    invoice = get_for(session, caller, Invoice, invoice_id, using=_FOR_CHANGE)
    return invoice, invoice.customer


def list_invoices(session: Session, caller: Caller, query: InvoiceList) -> Page[Invoice]:
    stmt = scoped(sa.select(Invoice), caller, Invoice)
    if query.customer is not None:
        stmt = stmt.where(Invoice.customer_id == query.customer)
    if query.status is not None:
        stmt = stmt.where(Invoice.status == InvoiceStatus(query.status))
    if query.created_gte is not None:
        stmt = stmt.where(Invoice.created >= query.created_gte)
    if query.created_lte is not None:
        stmt = stmt.where(Invoice.created <= query.created_lte)
    return paginate(session, stmt, Invoice, caller, limit=query.limit,
                    starting_after=query.starting_after, ending_before=query.ending_before)


_WITHOUT_LINES = lookup(Invoice, options=(raiseload(Invoice.lines),))  # they come a page at a time


def list_lines(session: Session, caller: Caller, invoice_id: str, query: ListQuery) -> Page[InvoiceLine]:
    """A page of the caller's invoice's lines, in their order on the invoice rather than newest
    first (SPEC §2's other lists): a cursor is a line of this invoice, and a page is one range
    of the (invoice, position) index."""
    get_for(session, caller, Invoice, invoice_id, using=_WITHOUT_LINES)

    def cursor_key(line_id: str) -> tuple[int, str] | None:
        position = session.scalar(sa.select(InvoiceLine.position)
                                  .where(InvoiceLine.invoice_id == invoice_id, InvoiceLine.id == line_id))
        return None if position is None else (position, line_id)

    return keyset_page(session, sa.select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id),
                       (InvoiceLine.position, InvoiceLine.id), cursor_key, newest_first=False, limit=query.limit,
                       starting_after=query.starting_after, ending_before=query.ending_before)


def customers_by_id(session: Session, invoices: list[Invoice]) -> dict[str, Customer]:
    """Customers of a page of invoices in one query, for ``expand[]=customer``."""
    ids = {inv.customer_id for inv in invoices}
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(sa.select(Customer).where(Customer.id.in_(ids)))}
