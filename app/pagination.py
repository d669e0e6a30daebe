"""Cursor pagination over (created, id), newest first (SPEC §2).

A page is one index range scan from the cursor: the cost does not depend on
how many rows come before it, unlike OFFSET.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.service import Caller
from app.db import Owned
from app.errors import InvalidRequest
from app.tenancy import scoped

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


def paginate(
    session: Session,
    stmt: sa.Select[Any],
    model: type[Owned],
    caller: Caller,
    *,
    limit: int,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Page[Any]:
    """Run ``stmt`` (already scoped to the tenant and filtered) one page at a time.

    A cursor is an object id looked up among all of ``caller``'s ``model`` rows, not
    only those ``stmt`` selects: it names the last object of a page the caller saw,
    which may no longer match the filter (a draft finalized, an item deleted while
    paging through them). A foreign or unknown id is a 400 naming the parameter, not a leak.
    """
    if starting_after and ending_before:
        raise InvalidRequest("Use only one of starting_after and ending_before.", param="ending_before")
    key = sa.tuple_(model.created, model.id)
    cursor_id = starting_after or ending_before
    if cursor_id:
        param = "starting_after" if starting_after else "ending_before"
        cursor = session.execute(scoped(sa.select(model), caller, model)
                                 .with_only_columns(model.created, model.id).where(model.id == cursor_id)).first()
        if cursor is None:
            raise InvalidRequest(f"No such object for {param}: {cursor_id!r}", param=param)
        bound = sa.tuple_(sa.literal(cursor[0]), sa.literal(cursor[1]))
        stmt = stmt.where(key < bound if starting_after else key > bound)
    if ending_before:
        rows = list(session.scalars(stmt.order_by(model.created.asc(), model.id.asc()).limit(limit + 1)))
        has_more = len(rows) > limit
        return Page(list(reversed(rows[:limit])), has_more)
    rows = list(session.scalars(stmt.order_by(model.created.desc(), model.id.desc()).limit(limit + 1)))
    return Page(rows[:limit], len(rows) > limit)


def list_object(url: str, data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
