"""The merchant JSON API under ``/v1`` (SPEC §2–§4)."""

from __future__ import annotations

from flask import Blueprint, g, request

from app.accounts.service import authenticate
from app.extensions import db

bp = Blueprint("api", __name__, url_prefix="/v1")

PUBLIC_ENDPOINTS = frozenset({"api.openapi"})


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


from app.api import branding, catalog, customers, events, invoices, openapi, payments  # noqa: E402,F401 - registers routes
