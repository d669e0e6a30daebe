"""Cursor pagination (SPEC §2): over (created, id), newest first, for the lists of objects;
over another key where a list has an order of its own (an invoice's lines).

A page is one index range scan from the cursor: the cost does not depend on
how many rows come before it, unlike OFFSET.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.orm import Session

from app.accounts.service import Caller
from app.db import Owned
from app.errors import InvalidRequest
from app.tenancy import scoped
from app.validation import QueryParams

T = TypeVar("T")


class ListQuery(QueryParams):
    """The parameters every list takes; a list with filters adds its own."""

    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None


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

    def cursor_key(cursor_id: str) -> Sequence[Any] | None:
        return session.execute(scoped(sa.select(model), caller, model)
                               .with_only_columns(model.created, model.id).where(model.id == cursor_id)).first()

    return keyset_page(session, stmt, (model.created, model.id), cursor_key, newest_first=True, limit=limit,
                       starting_after=starting_after, ending_before=ending_before)


def keyset_page(
    session: Session,
    stmt: sa.Select[Any],
    key: tuple[Any, ...],
    cursor_key: Callable[[str], Sequence[Any] | None],
    *,
    newest_first: bool,
    limit: int,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Page[Any]:
    """One page of ``stmt`` in the order of the columns ``key`` (descending when
    ``newest_first``). A cursor is an object id; ``cursor_key`` reads its ``key`` values,
    or None when the caller has no such object (a 400 naming the parameter)."""
    if starting_after and ending_before:
        raise InvalidRequest("Use only one of starting_after and ending_before.", param="ending_before")
    columns = sa.tuple_(*key)
    cursor_id = starting_after or ending_before
    if cursor_id:
        param = "starting_after" if starting_after else "ending_before"
        found = cursor_key(cursor_id)
        if found is None:
            raise InvalidRequest(f"No such object for {param}: {cursor_id!r}", param=param)
        bound = sa.tuple_(*(sa.literal(value) for value in found))
        after, before = (columns < bound, columns > bound) if newest_first else (columns > bound, columns < bound)
        stmt = stmt.where(after if starting_after else before)
    in_order = [column.desc() if newest_first else column.asc() for column in key]
    if ending_before:
        backwards = [column.asc() if newest_first else column.desc() for column in key]
        rows = list(session.scalars(stmt.order_by(*backwards).limit(limit + 1)))
        return Page(list(reversed(rows[:limit])), len(rows) > limit)
    rows = list(session.scalars(stmt.order_by(*in_order).limit(limit + 1)))
    return Page(rows[:limit], len(rows) > limit)


def list_object(url: str, data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
