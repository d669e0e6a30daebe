"""Webhook endpoints: where a merchant's events go (SPEC §4)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Account
from app.accounts.service import Caller
from app.errors import InvalidRequest
from app.events import service as events
from app.ids import new_id
from app.pagination import Page, paginate
from app.tenancy import get_for, scoped
from app.webhooks import states
from app.webhooks.addresses import check_url
from app.webhooks.models import WebhookEndpoint
from app.webhooks.schemas import EndpointCreate, EndpointList, EndpointUpdate
from app.webhooks.signing import new_secret


def serialize(endpoint: WebhookEndpoint, *, secret: bool = False) -> dict[str, Any]:
    """The endpoint; ``secret`` only in the answers that make one (create, roll)."""
    rolling = endpoint.previous_secret_expires is not None and endpoint.previous_secret_expires > time.time()
    out: dict[str, Any] = {
        "id": endpoint.id, "object": "webhook_endpoint", "livemode": endpoint.livemode,
        "created": endpoint.created, "url": endpoint.url, "description": endpoint.description,
        "enabled_events": list(endpoint.enabled_events), "disabled": endpoint.disabled,
        "disabled_reason": endpoint.disabled_reason,
        "previous_secret_expires_at": endpoint.previous_secret_expires if rolling else None,
        "metadata": dict(endpoint.metadata_),
    }
    if secret:
        out["secret"] = endpoint.secret
    return out


def _event_types(types: list[str]) -> list[str]:
    if types == ["*"]:
        return types
    for index, type_ in enumerate(types):
        if type_ not in events.EVENT_TYPES:
            raise InvalidRequest(f"enabled_events[{index}]: unknown event type '{type_}'; use the types of "
                                 "SPEC §4, or [\"*\"] for every type.", param="enabled_events")
    return sorted(set(types))


MAX_ENDPOINTS = 16  # per account and mode (SPEC §4): one event queues at most this many deliveries
_COUNT = (sa.select(sa.func.count()).select_from(WebhookEndpoint)
          .where(WebhookEndpoint.account_id == sa.bindparam("account_id"),
                 WebhookEndpoint.livemode == sa.bindparam("livemode")))
_LOCK_ACCOUNT = sa.select(Account.id).where(Account.id == sa.bindparam("account_id")).with_for_update()


def create(session: Session, caller: Caller, params: EndpointCreate) -> WebhookEndpoint:
    """A new endpoint. Raises InvalidRequest (``webhook_endpoints_limit``) when the
    caller has MAX_ENDPOINTS in this mode already, disabled ones included."""
    # The account's row, locked, orders concurrent creations (SQLite's writers hold the
    # whole database already), so two of them never both see room for one more.
    session.execute(_LOCK_ACCOUNT, {"account_id": caller.account.id})
    if session.execute(_COUNT, {"account_id": caller.account.id, "livemode": caller.livemode}).scalar_one() \
            >= MAX_ENDPOINTS:
        mode = "live" if caller.livemode else "test"
        raise InvalidRequest(f"An account has at most {MAX_ENDPOINTS} webhook endpoints in {mode} mode: delete one "
                             "you no longer use before adding another.", code="webhook_endpoints_limit")
    endpoint = WebhookEndpoint(
        id=new_id("we"), account_id=caller.account.id, livemode=caller.livemode, created=clock.now(),
        url=check_url(params.url, livemode=caller.livemode), description=params.description,
        enabled_events=_event_types(params.enabled_events), disabled=False, secret=new_secret(),
        metadata_={k: v for k, v in params.metadata.items() if v != ""})
    session.add(endpoint)
    session.flush()
    return endpoint


def get(session: Session, caller: Caller, endpoint_id: str, *, for_update: bool = False) -> WebhookEndpoint:
    return get_for(session, caller, WebhookEndpoint, endpoint_id, for_update=for_update)


def update(session: Session, caller: Caller, endpoint_id: str, params: EndpointUpdate) -> WebhookEndpoint:
    endpoint = get(session, caller, endpoint_id, for_update=True)
    fields = params.model_fields_set
    if params.url is not None:
        endpoint.url = check_url(params.url, livemode=caller.livemode)
    if params.enabled_events is not None:
        endpoint.enabled_events = _event_types(params.enabled_events)
    if "description" in fields:
        endpoint.description = params.description
    if params.disabled is not None and params.disabled != endpoint.disabled:
        endpoint.disabled = params.disabled
        endpoint.disabled_reason = "Disabled through the API." if params.disabled else None
        endpoint.failing_since = None
    if "metadata" in fields:
        merged = {**endpoint.metadata_, **params.metadata}
        endpoint.metadata_ = {k: v for k, v in merged.items() if v != ""}
    session.flush()
    return endpoint


def delete(session: Session, caller: Caller, endpoint_id: str) -> dict[str, Any]:
    """Deletes the endpoint with its deliveries; their planned tries find nothing and end."""
    endpoint = get(session, caller, endpoint_id, for_update=True)
    session.delete(endpoint)
    session.flush()
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def roll_secret(session: Session, caller: Caller, endpoint_id: str, expires_in: int) -> WebhookEndpoint:
    """A new secret signs from now on; the current one signs too for ``expires_in``
    seconds of real time (0: stops at once)."""
    endpoint = get(session, caller, endpoint_id, for_update=True)
    endpoint.previous_secret = endpoint.secret if expires_in > 0 else None
    endpoint.previous_secret_expires = int(time.time()) + expires_in if expires_in > 0 else None
    endpoint.secret = new_secret()
    session.flush()
    return endpoint


def list_endpoints(session: Session, caller: Caller, query: EndpointList) -> Page[WebhookEndpoint]:
    return paginate(session, scoped(sa.select(WebhookEndpoint), caller, WebhookEndpoint), WebhookEndpoint, caller,
                    limit=query.limit, starting_after=query.starting_after, ending_before=query.ending_before)


def disable(session: Session, endpoint: WebhookEndpoint, reason: str) -> None:
    """The endpoint stops receiving (410, or five days of failures): its planned
    deliveries end, and the merchant hears of it (``webhook_endpoint.disabled``, and an
    email to their support address)."""
    endpoint.disabled = True
    endpoint.disabled_reason = reason
    session.flush()
    states.fail_pending(session, endpoint.id)
    # The event's subscribers queue its deliveries and the notice to the merchant (app/emails/service.py).
    events.record(session, endpoint.account_id, endpoint.livemode, "webhook_endpoint.disabled", serialize(endpoint))
