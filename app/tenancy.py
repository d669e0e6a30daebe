"""Tenant scoping (SPEC §1): every lookup of a merchant's object names the caller.

One rule, used by every service, in the spirit of redash's ``get_by_id_and_org``:
an object belongs to one account and one mode, and another tenant's id is
exactly as missing as an unknown one (a 404, never a 403 that confirms it
exists).
"""

from __future__ import annotations

from collections.abc import Iterable
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
    """``stmt`` limited to ``model`` rows of the caller's account and mode."""
    return stmt.where(model.account_id == caller.account.id, model.livemode == caller.livemode)


def get_for(session: Session, caller: Caller, model: type[Obj], object_id: str, *, param: str = "id",
            where: Iterable[sa.ColumnElement[bool]] = (), options: Iterable[ExecutableOption] = (),
            for_update: bool = False) -> Obj:
    """The caller's ``model`` with this id (and matching ``where``), or NotFound naming ``param``.

    ``for_update`` locks the row until the transaction ends where the database
    can (PostgreSQL); SQLite's writers hold the whole database already.
    """
    stmt = scoped(sa.select(model), caller, model).where(model.id == object_id, *where).options(*options)
    if for_update:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"No such {model.object_name}: '{object_id}'", param=param)
    return found
