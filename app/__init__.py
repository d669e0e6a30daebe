"""VINR invoicing: the application factory."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app import config, request_ids
from app.db import configure_sqlite, write_intent
from app.errors import Conflict, DomainError, InvalidRequest, ServiceUnavailable
from app.extensions import babel, csrf, db

log = logging.getLogger(__name__)
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
CONNECTION_LOST_RETRY_AFTER = 1  # seconds: the pool opens a new connection for the next request


def create_app(overrides: Mapping[str, Any] | None = None, *, instance_path: str | None = None) -> Flask:
    """Build the app: defaults, then ``VINR_*`` variables, then ``overrides``. The instance
    folder (the SQLite default and the generated secret key) is ``instance_path``, else
    ``$VINR_INSTANCE_PATH``, else Flask's ``instance/`` beside the app.

    Raises ``config.ConfigError`` naming the variable when a value is bad.
    """
    instance_path = instance_path or os.environ.get("VINR_INSTANCE_PATH") or None
    if instance_path is not None and not os.path.isabs(instance_path):
        raise config.ConfigError("VINR_INSTANCE_PATH: must be an absolute path")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    config.load(app, overrides)
    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    db.init_app(app)
    _drop_unused_async_teardown(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)

    @app.before_request
    def _intent() -> None:
        # GETs never change state (SPEC §7); everything else takes the write
        # lock up front on SQLite. (A PDF's first render takes it only to store.)
        write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))

    @app.after_request
    def _nosniff(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    from app.api import bp as api_bp
    from app.automation.consequences import AfterPayments
    from app.branding import themes
    from app.card_testing import service as card_testing
    from app.documents.view import current_locale
    from app.emails.service import on_event as emails_on_event
    from app.events import service as events
    from app.locales import bound_gettext
    from app.payments.flow import MONEY_FLOW_EXTENSION, MoneyFlow
    from app.payments.processor import Processors
    from app.portal import bp as portal_bp
    from app.portal import install_log_redaction
    from app.webhooks.outbox import queue_deliveries

    # What an event causes in the packages above the event log, in its transaction.
    events.subscribe(queue_deliveries)
    events.subscribe(emails_on_event)

    csrf.init_app(app)
    csrf.exempt(api_bp)  # the API authenticates every request by key, not by cookie
    babel.init_app(app, locale_selector=current_locale)
    app.extensions["card_testing"] = card_testing.from_config(
        app.config["CARD_ATTEMPTS_PER_ADDRESS"], app.config["CARD_ATTEMPTS_PER_INVOICE"], app.config["REDIS_URL"])
    # The money flow is handed its processors (credentials on the instances) and what
    # follows its outcomes, so app/payments imports nothing above it.
    app.extensions[MONEY_FLOW_EXTENSION] = MoneyFlow(Processors.from_config(app.config), AfterPayments())
    themes.install(app)
    app.jinja_env.globals["theme_template"] = themes.template_name
    app.context_processor(lambda: {"locale": current_locale()})
    app.context_processor(bound_gettext)
    install_log_redaction()
    request_ids.init_app(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(portal_bp)
    _register_errors(app)

    from app.cli import register

    register(app)
    return app


def _drop_unused_async_teardown(app: Flask) -> None:
    """Flask-SQLAlchemy-Lite registers an async teardown for async sessions whether or not
    any async engine is configured, and Flask runs an async function through asgiref,
    which starts a thread for it: on every request, for nothing, about a tenth of an API
    request's time. (The same unconditional registration breaks gevent workers:
    https://github.com/pallets-eco/flask-sqlalchemy-lite/issues/11.) We configure no
    async engine, so the teardown has nothing to close. Test: tests/test_extensions.py."""
    if app.config.get("SQLALCHEMY_ASYNC_ENGINES"):
        return
    app.teardown_appcontext_funcs[:] = [
        hook for hook in app.teardown_appcontext_funcs if getattr(hook, "__name__", "") != "_close_async_sessions"]


# SQLite's answers that mean "the file cannot be used now", not "the statement is wrong".
_SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL")


def database_unavailable(error: DBAPIError) -> bool:
    """Whether ``error`` says the database could not be used at all (not reached, the
    connection broke, the file locked or unreadable) rather than that a statement failed:
    a clear 503 with Retry-After, not a 500."""
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    sqlite_name = getattr(error.orig, "sqlite_errorname", None)
    if sqlite_name is not None:
        return str(sqlite_name).startswith(_SQLITE_UNAVAILABLE)
    # A server that answered gives an SQLSTATE; a connection that never got one had no server.
    return getattr(error.orig, "sqlstate", None) is None


def _wants_json() -> bool:
    return request.path.startswith("/v1")


def _html_error(error: HTTPException) -> tuple[str, int] | HTTPException:
    """Hosted-page errors: our own plain pages, telling nothing (SPEC §7)."""
    from flask import render_template
    from jinja2 import TemplateNotFound

    code = error.code or 500
    try:
        body = render_template(f"errors/{code}.html", message=None)
    except TemplateNotFound:
        return error
    return body, code


def _html_conflict() -> tuple[str, int]:
    from flask import render_template

    return render_template("errors/409.html", message=None), 409


def _register_errors(app: Flask) -> None:
    from app.api.routing import error_response

    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        db.session.rollback()
        return error_response(error)

    @app.errorhandler(StaleDataError)
    def _stale(_error: StaleDataError) -> Response | tuple[str, int]:
        db.session.rollback()
        if not _wants_json():  # e.g. a double-clicked Pay on the hosted page
            return _html_conflict()
        return error_response(Conflict(
            "The object was changed by a concurrent request; fetch it again and retry.",
            code="concurrent_modification"))

    @app.errorhandler(IntegrityError)
    def _integrity(_error: IntegrityError) -> Response | tuple[str, int]:
        # Only reachable when two requests race to create the same unique thing.
        db.session.rollback()
        if not _wants_json():
            return _html_conflict()
        return error_response(Conflict("A concurrent request created a conflicting object; retry.",
                                       code="concurrent_modification"))

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError) -> Response | tuple[str, int]:
        if not database_unavailable(error):
            return _unexpected(error)
        # The database could not be reached, or the connection broke under the request (a
        # restarted or failed-over server, a killed backend; the pool has discarded it and the
        # next request gets a new one). Before a COMMIT nothing was written; a COMMIT that broke
        # may or may not have happened, so a POST is retried with its Idempotency-Key, which
        # answers what the first one did.
        log.warning("database unavailable on %s %s (request %s): %s", request.method, request.path,
                    g.get("request_id", "-"), error.orig)
        db.session.rollback()
        if not _wants_json():
            from flask import render_template

            page = render_template("errors/503.html", message=None, request_id=g.get("request_id"))
            return Response(page, 503, {"Retry-After": str(CONNECTION_LOST_RETRY_AFTER)})
        domain = ServiceUnavailable(
            "The database could not be reached, or the connection to it broke while this request ran; retry "
            "it (a POST with the same Idempotency-Key, so that it runs at most once).", code="database_unavailable",
            retry_after=CONNECTION_LOST_RETRY_AFTER)
        return error_response(domain)

    @app.errorhandler(OperationalError)
    def _operational(error: OperationalError) -> Response | tuple[str, int]:
        # PostgreSQL broke a lock cycle (a request and the worker locking the same rows in
        # opposite order) or refused a serialization: the request changed nothing; a retry works.
        if database_unavailable(error):
            return _database(error)
        db.session.rollback()
        if getattr(error.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES:
            return _unexpected(error)
        if not _wants_json():
            return _html_conflict()
        return error_response(Conflict("A concurrent change got in the way; retry.", code="concurrent_modification"))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response | HTTPException | tuple[str, int]:
        if not _wants_json():
            return _html_error(error)
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
        log.exception("unhandled error on %s %s (request %s)", request.method, request.path,
                      g.get("request_id", "-"))
        db.session.rollback()
        if not _wants_json():
            from flask import render_template

            return render_template("errors/500.html", message=None, request_id=g.get("request_id")), 500
        domain = ServiceUnavailable("Something went wrong on our side; the request changed nothing.",
                                    code="internal_error")
        domain.status = 500
        return error_response(domain)
