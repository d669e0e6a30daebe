from __future__ import annotations

from typing import Any

from flask import current_app

from app.accounts.service import Caller
from app.api import bp, objects
from app.api.routing import endpoint
from app.events import service
from app.events.schemas import EventList
from app.extensions import db
from app.pagination import list_object


@endpoint(bp, "GET", "/events/<event_id>", response=objects.EventObject, summary="Retrieve an event")
def get_event(caller: Caller, event_id: str) -> dict[str, Any]:
    retention = current_app.config["EVENT_RETENTION"]
    return service.serialize(service.get_event(db.session, caller, event_id, retention))


@endpoint(bp, "GET", "/events", query=EventList, response=objects.EventList, summary="List events (last 30 days)")
def list_events(caller: Caller, query: EventList) -> dict[str, Any]:
    page = service.list_events(db.session, caller, limit=query.limit, starting_after=query.starting_after,
                               ending_before=query.ending_before, type_=query.type,
                               retention=current_app.config["EVENT_RETENTION"])
    return list_object("/v1/events", [service.serialize(e) for e in page.items], page.has_more)
