"""An invoice, its lines and its customer, read and written on the driver
for the paths that change invoices (docs/performance.md).

Those are the API's hottest requests, and the ORM's own machinery was most of
their cost: a joined load of invoice, lines and customer cost about 0.3 ms
and the flush of one UPDATE and one INSERT about 0.4 ms, of a 1.4 ms
request. So:

- ``load`` reads the invoice and its customer (one SELECT, tenant-scoped) and
  the lines (a second), each through its columns' own result processing, and
  builds the objects as the ORM would have loaded them. With ``attached``
  they join the session, persistent and clean (delete: the unit of work
  deletes them); without, the invoice and its lines stay out of it, to be
  changed and then written by ``save`` (the draft edits and finalize).
- ``save`` writes what the flush would have: for a new invoice its INSERT
  (version 1) and its lines'; for a loaded one its changed columns as one
  versioned UPDATE (``... WHERE id = ? AND version = ?``, the version moving
  on by one, also when only its lines changed, where the flush would have
  left the row alone), which raises StaleDataError when another request
  changed the row first, as the flush did (the boundary answers 409 and rolls
  back), then DELETEs of removed lines, UPDATEs of changed lines and INSERTs
  of new ones. The objects then join the session as if just loaded.

Everything runs on the session's own connection, in the request's
transaction: a change commits or rolls back with its event like any other.
An invoice the session already holds (a test or job that loaded it before)
is loaded through the ORM instead, so there is never a second copy of it.
"""

from __future__ import annotations

import functools
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, lazyload, make_transient, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from app.accounts.service import Caller
from app.customers.models import Customer
from app.db import column_attributes, driver_values, from_row, run_on_driver
from app.errors import NotFound
from app.invoices.models import Invoice, InvoiceLine

_INVOICES = cast(sa.Table, Invoice.__table__)
_LINES = cast(sa.Table, InvoiceLine.__table__)
_CUSTOMERS = cast(sa.Table, Customer.__table__)


def check_writable(table: sa.Table) -> None:
    """Refuse (at import) a column whose value the flush would compute and ``save`` would not:
    ``save`` applies Python defaults on INSERT and nothing else."""
    for column in table.c:
        if column.onupdate is not None or column.server_onupdate is not None or column.server_default is not None:
            raise RuntimeError(f"{table.name}.{column.key} has an onupdate or server default, which "
                               f"app/invoices/store.py does not apply: teach save() or drop it")


for _table in (_INVOICES, _LINES):
    check_writable(_table)

_INVOICE_ATTRS = column_attributes(Invoice)
_LINE_ATTRS = column_attributes(InvoiceLine)
_CUSTOMER_ID = column_attributes(Customer).index("id")


_LOAD = (
    sa.select(*_INVOICES.c, *_CUSTOMERS.c)
    .join_from(_INVOICES, _CUSTOMERS, _CUSTOMERS.c.id == _INVOICES.c.customer_id)
    .where(_INVOICES.c.id == sa.bindparam("invoice_id"), _INVOICES.c.account_id == sa.bindparam("for_account"),
           _INVOICES.c.livemode == sa.bindparam("for_mode"))
)
_LOAD_LINES = sa.select(*_LINES.c).where(_LINES.c.invoice_id == sa.bindparam("invoice_id")).order_by(
    _LINES.c.position)
# For an invoice the session already holds: the ORM returns that very object.
_LOAD_ORM = (
    sa.select(Invoice, Customer).join(Customer, Customer.id == Invoice.customer_id)
    .options(joinedload(Invoice.lines), lazyload(Customer.coupon))
    .where(Invoice.id == sa.bindparam("invoice_id"), Invoice.account_id == sa.bindparam("for_account"),
           Invoice.livemode == sa.bindparam("for_mode"))
)
_INSERT = {_INVOICES.name: sa.insert(_INVOICES), _LINES.name: sa.insert(_LINES)}
_DELETE_LINE = sa.delete(_LINES).where(_LINES.c.id == sa.bindparam("row_id"))


@functools.lru_cache(maxsize=256)
def _update(table: sa.Table, names: tuple[str, ...], versioned: bool) -> sa.Update:
    """UPDATE of these columns of one row (and only at its version), built once per set of columns."""
    statement = sa.update(table).where(table.c.id == sa.bindparam("row_id"))
    if versioned:
        statement = statement.where(table.c.version == sa.bindparam("row_version"))
    return statement.values({name: sa.bindparam(f"new_{name}") for name in names})


def load(session: Session, caller: Caller, invoice_id: str, *, attached: bool) -> tuple[Invoice, Customer]:
    """The caller's invoice with its lines, and its customer, or NotFound
    (also for another tenant's id: the tenant is in the WHERE)."""
    params = {"invoice_id": invoice_id, "for_account": caller.account.id, "for_mode": caller.livemode}
    if identity_key(Invoice, invoice_id) in session.identity_map:
        found = session.execute(_LOAD_ORM, params).unique().first()
        if found is None:
            raise NotFound(f"No such invoice: '{invoice_id}'", param="id")
        invoice, customer = found
        if not attached:
            session.expunge(invoice)  # the lines go with it (cascade)
        return invoice, customer
    session.flush()  # what a query's autoflush would write first (nothing, in a request)
    row = run_on_driver(session, _LOAD, params).row
    if row is None:
        raise NotFound(f"No such invoice: '{invoice_id}'", param="id")
    dialect = session.connection().dialect
    split = len(_INVOICE_ATTRS)
    lines = [from_row(InvoiceLine, line, dialect)
             for line in run_on_driver(session, _LOAD_LINES, {"invoice_id": invoice_id}).rows]
    invoice = from_row(Invoice, row[:split], dialect, ("lines", []))
    set_committed_value(invoice, "lines", lines)  # an instrumented list, as loaded
    held = session.identity_map.get(identity_key(Customer, row[split + _CUSTOMER_ID]))
    customer = cast(Customer, held) if held is not None else from_row(Customer, row[split:], dialect)
    session.add(customer)  # persistent: its coupon loads when read, a change to it is flushed
    if attached:
        session.add(invoice)
    return invoice, customer


def save(session: Session, invoice: Invoice) -> None:
    """Write a new invoice, or one loaded without ``attached``, and its lines
    (see the module docstring).

    Raises StaleDataError when the invoice row is no longer at the version it
    was loaded at.
    """
    state = sa.inspect(invoice)
    if state.transient:
        invoice.version = 1
        if "lines" not in state.dict:
            invoice.lines = []  # loaded, and empty: not a collection to load later
        _insert(session, _INVOICES, _INVOICE_ATTRS, invoice)
    else:
        unmodified = state.unmodified  # a property that builds a set
        changed = [key for key in _INVOICE_ATTRS if key not in unmodified and key != "version"]
        # A change to the lines alone moves the invoice's version too (the flush would not):
        # the version is what a concurrent finalize checks, and a line that changes no total
        # (a description, a zero amount) must not slip under an invoice finalized meanwhile.
        if changed or _lines_changed(state, invoice):
            version = invoice.version
            invoice.version = version + 1
            values = {_INVOICES.c[i].key: getattr(invoice, key)
                      for i, key in enumerate(_INVOICE_ATTRS) if key in changed or key == "version"}
            params = {f"new_{name}": value for name, value in driver_values(session, _INVOICES, values).items()}
            result = run_on_driver(session, _update(_INVOICES, tuple(values), True),
                                   {**params, "row_id": invoice.id, "row_version": version})
            if result.rowcount != 1:
                raise StaleDataError(f"UPDATE statement on table 'invoices' expected to update 1 row(s); "
                                     f"{result.rowcount} were matched.")
        for line in state.attrs.lines.history.deleted or ():
            if sa.inspect(line).has_identity:
                run_on_driver(session, _DELETE_LINE, {"row_id": line.id})
    for line in invoice.lines:
        line_state = sa.inspect(line)
        if line_state.transient:
            line.invoice_id = invoice.id  # what the flush's relationship sync would set
            _insert(session, _LINES, _LINE_ATTRS, line)
        elif line_state.modified:
            unmodified = line_state.unmodified
            values = {_LINES.c[i].key: getattr(line, key)
                      for i, key in enumerate(_LINE_ATTRS) if key not in unmodified}
            if values:
                params = {f"new_{name}": value for name, value in driver_values(session, _LINES, values).items()}
                run_on_driver(session, _update(_LINES, tuple(values), False), {**params, "row_id": line.id})
    for obj in (invoice, *invoice.lines):
        make_transient(obj)  # forget the detached state's history ...
        make_transient_to_detached(obj)  # ... and come back as a row just loaded
    session.add(invoice)  # persistent again, with its lines, nothing pending


def _lines_changed(state: Any, invoice: Invoice) -> bool:
    if any(sa.inspect(line).has_identity for line in state.attrs.lines.history.deleted or ()):
        return True
    return any(sa.inspect(line).transient or sa.inspect(line).modified for line in invoice.lines)


def _insert(session: Session, table: sa.Table, attrs: tuple[str, ...], obj: Any) -> None:
    """INSERT every column; one the object leaves unset gets its column default, as in a flush."""
    values = {}
    given = sa.inspect(obj).dict
    for column, key in zip(table.c, attrs, strict=True):
        if key in given:
            values[column.key] = given[key]
            continue
        default: Any = column.default
        value = None if default is None else default.arg if default.is_scalar else default.arg(None)
        setattr(obj, key, value)
        values[column.key] = value
    run_on_driver(session, _INSERT[table.name], driver_values(session, table, values))
