from __future__ import annotations

from typing import Any

from flask import current_app

from app.accounts.service import Caller
from app.api import bp, objects
from app.api.routing import endpoint
from app.extensions import db
from app.pagination import list_object
from app.webhooks import deliveries, endpoints
from app.webhooks.schemas import AttemptList, EndpointCreate, EndpointList, EndpointUpdate, Recover, Resend, RollSecret


@endpoint(bp, "POST", "/webhook_endpoints", body=EndpointCreate, response=objects.WebhookEndpointObject,
          summary="Create a webhook endpoint (its secret is shown only in this answer)")
def create_webhook_endpoint(caller: Caller, body: EndpointCreate) -> dict[str, Any]:
    return endpoints.serialize(endpoints.create(db.session, caller, body), secret=True)


@endpoint(bp, "GET", "/webhook_endpoints/<endpoint_id>", response=objects.WebhookEndpointObject,
          summary="Retrieve a webhook endpoint")
def get_webhook_endpoint(caller: Caller, endpoint_id: str) -> dict[str, Any]:
    return endpoints.serialize(endpoints.get(db.session, caller, endpoint_id))


@endpoint(bp, "POST", "/webhook_endpoints/<endpoint_id>", body=EndpointUpdate,
          response=objects.WebhookEndpointObject, summary="Update a webhook endpoint")
def update_webhook_endpoint(caller: Caller, endpoint_id: str, body: EndpointUpdate) -> dict[str, Any]:
    return endpoints.serialize(endpoints.update(db.session, caller, endpoint_id, body))


@endpoint(bp, "DELETE", "/webhook_endpoints/<endpoint_id>", response=objects.Deleted,
          summary="Delete a webhook endpoint")
def delete_webhook_endpoint(caller: Caller, endpoint_id: str) -> dict[str, Any]:
    return endpoints.delete(db.session, caller, endpoint_id)


@endpoint(bp, "GET", "/webhook_endpoints", query=EndpointList, response=objects.WebhookEndpointList,
          summary="List webhook endpoints")
def list_webhook_endpoints(caller: Caller, query: EndpointList) -> dict[str, Any]:
    page = endpoints.list_endpoints(db.session, caller, query)
    return list_object("/v1/webhook_endpoints", [endpoints.serialize(e) for e in page.items], page.has_more)


@endpoint(bp, "POST", "/webhook_endpoints/<endpoint_id>/roll_secret", body=RollSecret,
          response=objects.WebhookEndpointObject,
          summary="Roll a webhook endpoint's secret (the old one signs too until expires_in seconds pass)")
def roll_webhook_secret(caller: Caller, endpoint_id: str, body: RollSecret) -> dict[str, Any]:
    return endpoints.serialize(endpoints.roll_secret(db.session, caller, endpoint_id, body.expires_in), secret=True)


@endpoint(bp, "GET", "/webhook_endpoints/<endpoint_id>/deliveries", query=AttemptList,
          response=objects.WebhookAttemptList, summary="List a webhook endpoint's delivery attempts")
def list_webhook_attempts(caller: Caller, endpoint_id: str, query: AttemptList) -> dict[str, Any]:
    page = deliveries.list_attempts(db.session, caller, endpoint_id, query)
    return list_object(f"/v1/webhook_endpoints/{endpoint_id}/deliveries",
                       [deliveries.serialize_attempt(a) for a in page.items], page.has_more)


@endpoint(bp, "POST", "/webhook_endpoints/<endpoint_id>/resend", body=Resend,
          response=objects.WebhookDeliveryObject, summary="Send an event to the endpoint again, now")
def resend_webhook_event(caller: Caller, endpoint_id: str, body: Resend) -> dict[str, Any]:
    delivery = deliveries.resend(db.session, caller, endpoint_id, body.event, current_app.config["EVENT_RETENTION"])
    return deliveries.serialize_delivery(delivery)


@endpoint(bp, "POST", "/webhook_endpoints/<endpoint_id>/recover", body=Recover,
          response=objects.WebhookRecovery,
          summary="Send again every delivery to the endpoint that failed since a time")
def recover_webhook_deliveries(caller: Caller, endpoint_id: str, body: Recover) -> dict[str, Any]:
    planned = deliveries.recover(db.session, caller, endpoint_id, body.since, body.until)
    return {"object": "webhook_recovery", "endpoint": endpoint_id, "deliveries_planned": planned}
