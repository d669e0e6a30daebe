"""The hosted invoice page under ``/i`` (SPEC §7): server-rendered, no JavaScript."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, abort, g, request

bp = Blueprint("portal", __name__, url_prefix="/i")

# Credentials in hosted paths never reach a log line: the link's token, and the signed
# state of a card set-up's 3DS challenge (it names the card being saved).
_TOKEN_IN_PATH = re.compile(r"(/i/[A-Za-z0-9_]+/)[A-Za-z0-9_.\-]+")
_SETUP_STATE_IN_PATH = re.compile(r"(/payment-method/authenticate/)[A-Za-z0-9_.\-]+")


def redact(text: str) -> str:
    return _SETUP_STATE_IN_PATH.sub(r"\1[redacted]", _TOKEN_IN_PATH.sub(r"\1[redacted]", text))


class RedactTokens(logging.Filter):
    """Rewrites hosted-link tokens out of log records (werkzeug, gunicorn, ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, Mapping):  # gunicorn's access log passes a dict of atoms
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_log_redaction() -> None:
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", "app", "flask.app"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


@bp.url_value_preprocessor
def _refuse_nul(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    # No id or token holds a NUL, and PostgreSQL refuses one even in a lookup: the plain 404
    # of any unknown link, on both databases.
    if values and any("\x00" in value for value in values.values() if isinstance(value, str)):
        abort(404)


@bp.before_request
def _nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


@bp.after_request
def _headers(response: Response) -> Response:
    """SPEC §7 defences: nothing cached, indexed, framed, sniffed or referred;
    no script at all, and styles only from us (plus the one nonce'd block of
    merchant colours)."""
    nonce = g.get("csp_nonce", "")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'none'; "
        f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; font-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    if request.endpoint == "portal.theme_asset":
        response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.app_template_filter("email_breaks")
def _email_breaks(address: str) -> Any:
    from app.documents.view import email_breaks

    return email_breaks(address)


from app.portal import views  # noqa: E402,F401 - registers routes
