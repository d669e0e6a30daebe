"""The merchant JSON API under ``/v1`` (SPEC §2–§4)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.accounts.service import authenticate
from app.api.routing import BODY_LIMITS
from app.errors import InvalidRequest
from app.extensions import db

bp = Blueprint("api", __name__, url_prefix="/v1")

PUBLIC_ENDPOINTS = frozenset({"api.openapi"})


@bp.after_app_request
def _send_the_request_id(response: Response) -> Response:
    """Every ``/v1`` answer names its request (app/request_ids.py), unknown paths included."""
    if request.path.startswith("/v1/"):
        response.headers["Request-Id"] = g.request_id
    return response


@bp.before_request
def _read_whole_body() -> None:
    """Read the body once, refusing one over MAX_CONTENT_LENGTH however it is sent (SPEC §2: 413).

    Werkzeug refuses a ``Content-Length`` over the limit, but a chunked body
    (no length, ``wsgi.input_terminated``) is only read up to the limit and
    the rest silently dropped, so a truncated body would be parsed as if it
    were whole (``LimitedStream.readall`` stops at the limit without raising;
    the limit on streams came with https://github.com/pallets/werkzeug/pull/2620).
    After a body that filled the limit, one more byte from the server's stream
    tells whether there was more. Everything later
    (``request.get_data(cache=True)``: idempotency, JSON parsing) reads the
    cached bytes.
    """
    larger = BODY_LIMITS.get(request.endpoint or "")
    if larger is not None:
        # An endpoint that takes a larger body (a bank statement): read one byte past its
        # limit, so that the view can say the body is too large, and by how much.
        request.max_content_length = larger + 1
        if request.content_length is not None and request.content_length > larger:
            raise InvalidRequest(f"The request body is {request.content_length} bytes; at most {larger} are read "
                                 "here.", code="body_too_large")
    body = request.get_data(cache=True)
    limit = larger + 1 if larger is not None else current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and len(body) >= limit and request.environ["wsgi.input"].read(1):
        if larger is not None:
            raise InvalidRequest(f"The request body is larger than {larger} bytes.", code="body_too_large")
        raise RequestEntityTooLarge()


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("X-Api-Key")
    if header is None:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        header = credentials.strip() if scheme.lower() == "bearer" else None
    # The lookup runs in the request's own transaction: one transaction per
    # request (an Idempotency-Key claim commits it early, see idempotency).
    g.caller = authenticate(db.session, header)


from app.api import (  # noqa: E402,F401 - registers routes
    bank_statements,
    branding,
    business_profile,
    catalog,
    credit_notes,
    customers,
    einvoices,
    events,
    invoices,
    openapi,
    payments,
    refunds,
    settings,
    test_helpers,
    webhooks,
)
