"""Tenant scoping (SPEC §1): every lookup of a merchant's object names the caller.

One rule, used by every service, in the spirit of redash's ``get_by_id_and_org``:
an object belongs to one account and one mode, and another tenant's id is
exactly as missing as an unknown one (a 404, never a 403 that confirms it
exists).

A lookup's statement is built once (``lookup``, at import) with the tenant and
the id as bound parameters: SQLAlchemy then reuses it, and its compiled SQL, on
every request instead of building an expression tree each time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ExecutableOption

from app.accounts.service import Caller
from app.db import Owned
from app.errors import NotFound

Obj = TypeVar("Obj", bound=Owned)
Stmt = TypeVar("Stmt", bound=sa.Select[Any])


def scoped(stmt: Stmt, caller: Caller, model: type[Owned]) -> Stmt:
    """``stmt`` limited to ``model`` rows of the caller's account and mode (for lists)."""
    return stmt.where(model.account_id == caller.account.id, model.livemode == caller.livemode)


def lookup(model: type[Owned], *where: sa.ColumnElement[bool],
           options: tuple[ExecutableOption, ...] = ()) -> sa.Select[Any]:
    """The statement behind ``get_for``: one ``model`` by id, within a tenant, matching
    ``where`` (which may take parameters of its own, passed to ``get_for``)."""
    return (sa.select(model)
            .where(model.account_id == sa.bindparam("tenant_account"), model.livemode == sa.bindparam("tenant_mode"),
                   model.id == sa.bindparam("object_id"), *where)
            .options(*options))


_BY_ID: dict[type[Owned], sa.Select[Any]] = {}  # each model's plain lookup, built on first use


def get_for(session: Session, caller: Caller, model: type[Obj], object_id: str, *, param: str = "id",
            using: sa.Select[Any] | None = None, params: Mapping[str, Any] | None = None,
            for_update: bool = False) -> Obj:
    """The caller's ``model`` with this id, or NotFound naming ``param``.

    ``using``: a ``lookup`` of ``model`` with more conditions or loader options, and
    ``params`` the values they take. ``for_update`` locks the row until the
    transaction ends where the database can (PostgreSQL); SQLite's writers hold the
    whole database already.
    """
    if using is None:
        if model not in _BY_ID:
            _BY_ID[model] = lookup(model)
        using = _BY_ID[model]
    stmt = using
    if for_update:
        stmt = stmt.with_for_update()
    values = {"tenant_account": caller.account.id, "tenant_mode": caller.livemode, "object_id": object_id,
              **(params or {})}
    # unique(): a loader option may join a collection
    found: Obj | None = session.execute(stmt, values).unique().scalar_one_or_none()
    if found is None:
        raise NotFound(f"No such {model.object_name}: '{object_id}'", param=param)
    return found
