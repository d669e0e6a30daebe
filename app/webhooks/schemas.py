from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.validation import Metadata, ObjectRef, Params, QueryParams

Url = Annotated[str, Field(min_length=1, max_length=2048)]
EventTypes = Annotated[list[Annotated[str, Field(max_length=64)]], Field(min_length=1, max_length=64)]


class EndpointCreate(Params):
    url: Url
    enabled_events: EventTypes
    description: Annotated[str, Field(max_length=500)] | None = None
    metadata: Metadata = {}


class EndpointUpdate(Params):
    """Only the fields sent change (metadata merges; an empty value removes its key)."""

    url: Url | None = None
    enabled_events: EventTypes | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    disabled: bool | None = None
    metadata: Metadata = {}


class RollSecret(Params):
    # Until then the old secret signs too: time to deploy the new one (at most a week).
    expires_in: Annotated[int, Field(ge=0, le=7 * 86400)] = 86400


class Resend(Params):
    event: ObjectRef


class Recover(Params):
    since: Annotated[int, Field(ge=0)]  # unix seconds: failed deliveries last tried since then
    until: Annotated[int, Field(ge=0)] | None = None


class EndpointList(QueryParams):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None


class AttemptList(EndpointList):
    event: str | None = None
