"""Declarative base, shared column types and database-specific session set-up."""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def commit_without_waiting_for_disk(session: Any) -> None:
    """Let this transaction's commit return before PostgreSQL has flushed it to disk
    (``synchronous_commit = off`` for this transaction only). A crash may then lose it,
    never corrupt anything. Only for bookkeeping that is redone when lost: a lost
    record of a webhook attempt means the attempt is made again, which at-least-once
    delivery allows. SQLite in WAL mode with synchronous=NORMAL never waits at commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL synchronous_commit = off"))


class Owned:
    """Columns of every tenant-owned object: scoped by account and mode (SPEC §1,
    app/tenancy.py)."""

    object_name: ClassVar[str]  # in "No such <object_name>" errors
    if TYPE_CHECKING:
        id: Mapped[str]  # each model maps its own (a coupon's is not its primary key)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"))
    livemode: Mapped[bool]
    created: Mapped[Timestamp]
