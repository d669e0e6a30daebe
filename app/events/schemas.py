from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.validation import QueryParams


class EventList(QueryParams):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None
    type: Annotated[str, Field(max_length=64)] | None = None
