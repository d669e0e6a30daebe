"""Declarative base, shared column types and database-specific session set-up."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, make_transient_to_detached, mapped_column
from sqlalchemy.orm.attributes import instance_dict, manager_of_class
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_T = TypeVar("_T")

# Stable constraint names, so Alembic migrations name the same thing on both
# databases (STYLE "Typed ORM").
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    # JSON that round-trips on both SQLite and PostgreSQL (jsonb there).
    type_annotation_map = {
        dict[str, Any]: sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
        list[Any]: sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
    }


ObjectId = Annotated[str, mapped_column(sa.String(40), primary_key=True)]
AccountRef = Annotated[str, mapped_column(sa.String(40), sa.ForeignKey("accounts.id"), index=False)]
Timestamp = Annotated[int, mapped_column(sa.BigInteger)]  # unix seconds
MinorUnits = Annotated[int, mapped_column(sa.BigInteger, default=0)]  # minor units

# Whether the transaction about to begin may write. On SQLite a deferred
# transaction that reads and then writes fails with "database is locked" when
# another writer got in between; writers therefore BEGIN IMMEDIATE and queue
# on the busy timeout instead. Readers stay deferred so they never queue.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


def configure_sqlite(engine: Engine) -> None:
    """Pragmas and explicit BEGIN handling for the embedded SQLite default."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN (pysqlite's implicit
        # transactions defeat BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Straight to the driver: every request begins here, and SQLAlchemy's
        # statement path (events, context, result) costs more than the BEGIN.
        dbapi_connection: Any = conn.connection.dbapi_connection
        dbapi_connection.execute("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


class Owned:
    """Columns of every tenant-owned object: scoped by account and mode (SPEC §1)."""

    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"))
    livemode: Mapped[bool]
    created: Mapped[Timestamp]


@dataclass(frozen=True)
class _DriverSQL:
    sql: str
    order: tuple[str, ...] | None  # parameter names in order, for a positional paramstyle
    defaults: dict[str, Any]  # values the statement carries itself (e.g. the 1 of "n + 1")


@functools.lru_cache(maxsize=256)
def _driver_sql(statement: ClauseElement, dialect: sa.Dialect) -> _DriverSQL:
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    defaults = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    return _DriverSQL(str(compiled), order, defaults)


class DriverResult(NamedTuple):
    rows: list[Any]  # the rows the statement returned, as the driver returns them
    rowcount: int

    @property
    def row(self) -> Any:
        """The first row, or None."""
        return self.rows[0] if self.rows else None


def run_on_driver(session: Session, statement: ClauseElement, params: Mapping[str, Any]) -> DriverResult:
    """Run a prebuilt Core statement on the session's own DBAPI connection,
    inside the session's transaction.

    For the few statements every API request runs: SQLAlchemy's execution
    path (events, execution context, type processing, result) costs several
    times the statement itself on SQLite (docs/performance.md). Nothing is
    converted either way: ``params`` must be what the driver takes as is (see
    ``driver_values``), and the row is what the driver returns (a boolean is
    0 or 1 from sqlite3). A driver error is raised as SQLAlchemy's (e.g.
    ``IntegrityError``), as the error handlers expect, and a lost connection
    is invalidated, as SQLAlchemy does.
    """
    connection = session.connection()
    dialect = connection.dialect
    compiled = _driver_sql(statement, dialect)
    values = {**compiled.defaults, **params}
    args: Any = tuple(values[name] for name in compiled.order) if compiled.order is not None else values
    dbapi_connection: Any = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(compiled.sql, args)
        return DriverResult(cursor.fetchall() if cursor.description else [], cursor.rowcount)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, dbapi_connection, cursor)
        if lost:
            connection.invalidate(error)
        raise sa.exc.DBAPIError.instance(compiled.sql, args, error, dialect.loaded_dbapi.Error,
                                         connection_invalidated=lost, dialect=dialect) from error
    finally:
        cursor.close()


@functools.lru_cache(maxsize=64)
def result_processors(table: sa.Table, dialect: sa.Dialect) -> tuple[Callable[[Any], Any] | None, ...]:
    """Per column of ``table``, in order: what SQLAlchemy does to a value the
    driver returned (JSON text to Python, 0/1 to a bool, a string to its enum)."""
    return tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in table.c)


@functools.lru_cache(maxsize=64)
def _bind_processors(table: sa.Table, dialect: sa.Dialect) -> dict[str, Callable[[Any], Any] | None]:
    return {column.key: column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.c}


def driver_values(session: Session, table: sa.Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (by column name) as the driver takes them: each through its
    column type's own bind processing (JSON to text, an enum to its stored
    value, ...), exactly as SQLAlchemy would send them."""
    processors = _bind_processors(table, session.connection().dialect)
    out = {}
    for name, value in values.items():
        process = processors[name]
        out[name] = process(value) if process is not None and value is not None else value
    return out


def loaded(model: type[_T], values: Iterable[tuple[str, Any]]) -> _T:
    """An instance of ``model`` with these attribute values, built as the ORM's
    loader builds one: a new instance whose attribute dict is filled directly,
    then detached with no pending change (``session.add`` makes it persistent
    and clean). Its constructor would fire an attribute event per column,
    45 µs for an invoice. Values must be Python values (see ``result_processors``)."""
    obj = manager_of_class(model).new_instance()
    instance_dict(obj).update(values)
    make_transient_to_detached(obj)
    return cast(_T, obj)


@functools.lru_cache(maxsize=64)
def column_attributes(model: type[Any]) -> tuple[str, ...]:
    """The mapped attribute of each column of ``model``'s table, in column order
    (an attribute may be named otherwise, as ``metadata_`` for ``metadata``)."""
    table = cast(sa.Table, sa.inspect(model).local_table)
    by_column = {prop.columns[0].key: prop.key for prop in sa.inspect(model).column_attrs}
    return tuple(by_column[column.key] for column in table.c)


def from_row(model: type[_T], row: Sequence[Any], dialect: sa.Dialect, *extra: tuple[str, Any]) -> _T:
    """``loaded(model)`` from a driver row of all its table's columns, in
    order, each value through its column's result processing; ``extra``
    attribute values are set as they are."""
    table = cast(sa.Table, sa.inspect(model).local_table)
    values = zip(column_attributes(cast(Any, model)),
                 (value if process is None or value is None else process(value)
                  for process, value in zip(result_processors(table, dialect), row, strict=True)),
                 strict=True)
    return loaded(model, [*values, *extra])
