"""Reading invoices: one for a change, with its lines and customer; pages of them for lists."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, raiseload, with_expression

from app.accounts.clocks import offset_of
from app.accounts.service import Caller
from app.customers.models import Customer
from app.errors import InvalidRequest
from app.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from app.invoices.schemas import InvoiceList, LineList
from app.pagination import Page, paginate
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


def list_lines(session: Session, caller: Caller, invoice_id: str, query: LineList) -> Page[InvoiceLine]:
    """A page of the caller's invoice's lines, in their order on the invoice rather than newest
    first (SPEC §2's other lists): a cursor is a line id of this invoice, and a page is one
    range of the (invoice, position) index, whatever comes before it."""
    get_for(session, caller, Invoice, invoice_id, using=_WITHOUT_LINES)
    if query.starting_after and query.ending_before:
        raise InvalidRequest("Use only one of starting_after and ending_before.", param="ending_before")
    stmt = sa.select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
    key = sa.tuple_(InvoiceLine.position, InvoiceLine.id)
    cursor_id = query.starting_after or query.ending_before
    if cursor_id:
        param = "starting_after" if query.starting_after else "ending_before"
        position = session.scalar(sa.select(InvoiceLine.position)
                                  .where(InvoiceLine.invoice_id == invoice_id, InvoiceLine.id == cursor_id))
        if position is None:
            raise InvalidRequest(f"No such line of this invoice for {param}: {cursor_id!r}", param=param)
        bound = sa.tuple_(sa.literal(position), sa.literal(cursor_id))
        stmt = stmt.where(key > bound if query.starting_after else key < bound)
    if query.ending_before:
        rows = list(session.scalars(stmt.order_by(InvoiceLine.position.desc(), InvoiceLine.id.desc())
                                    .limit(query.limit + 1)))
        return Page(list(reversed(rows[:query.limit])), len(rows) > query.limit)
    rows = list(session.scalars(stmt.order_by(InvoiceLine.position, InvoiceLine.id).limit(query.limit + 1)))
    return Page(rows[:query.limit], len(rows) > query.limit)


def customers_by_id(session: Session, invoices: list[Invoice]) -> dict[str, Customer]:
    """Customers of a page of invoices in one query, for ``expand[]=customer``."""
    ids = {inv.customer_id for inv in invoices}
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(sa.select(Customer).where(Customer.id.in_(ids)))}
