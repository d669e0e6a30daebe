"""VINR invoicing: the application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app import config
from app.db import configure_sqlite, write_intent
from app.errors import Conflict, DomainError, InvalidRequest, ServiceUnavailable
from app.extensions import db

log = logging.getLogger(__name__)


def create_app(overrides: Mapping[str, Any] | None = None, *, instance_path: str | None = None) -> Flask:
    """Build the app: defaults, then ``VINR_*`` variables, then ``overrides``.

    Raises ``config.ConfigError`` naming the variable when a value is bad.
    """
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    config.load(app, overrides)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)

    @app.before_request
    def _intent() -> None:
        # GETs never write (SPEC §7); everything else takes the write lock up front on SQLite.
        write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))

    from app.api import bp as api_bp

    app.register_blueprint(api_bp)
    _register_errors(app)

    from app.cli import register

    register(app)
    return app


def _wants_json() -> bool:
    return request.path.startswith("/v1")


def _register_errors(app: Flask) -> None:
    from app.api.routing import error_response

    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        db.session.rollback()
        return error_response(error)

    @app.errorhandler(StaleDataError)
    def _stale(_error: StaleDataError) -> Response:
        db.session.rollback()
        return error_response(Conflict(
            "The object was changed by a concurrent request; fetch it again and retry.",
            code="concurrent_modification"))

    @app.errorhandler(IntegrityError)
    def _integrity(_error: IntegrityError) -> Response:
        # Only reachable when two requests race to create the same unique thing.
        db.session.rollback()
        return error_response(Conflict("A concurrent request created a conflicting object; retry.",
                                       code="concurrent_modification"))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response | HTTPException:
        if not _wants_json():
            return error
        code = error.code or 500
        messages = {
            404: ("resource_missing", "Unrecognized request URL."),
            405: ("method_not_allowed", f"{request.method} is not allowed on {request.path}."),
            413: ("body_too_large", "The request body is larger than 1 MiB."),
            415: ("unsupported_media_type", "Send the body as application/json."),
        }
        err_code, message = messages.get(code, ("invalid_request", error.description or error.name))
        domain = InvalidRequest(message, code=err_code)
        domain.status = code
        return error_response(domain)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response | tuple[str, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if not _wants_json():
            return "Internal Server Error", 500
        domain = ServiceUnavailable("Something went wrong on our side; the request changed nothing.",
                                    code="internal_error")
        domain.status = 500
        return error_response(domain)
