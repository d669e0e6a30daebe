"""How every ``/v1`` endpoint is declared: one decorator that parses the query
and body with the endpoint's pydantic models, runs the view inside the
request's transaction (with Idempotency-Key handling for POST), commits once,
and records the endpoint for the OpenAPI document.

Views stay thin: they receive the caller and validated models, call a
service and return a JSON-ready dict.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, g, request, send_file
from pydantic import BaseModel

from app.accounts.service import Caller
from app.db import commit_without_waiting_for_disk
from app.errors import DomainError, InvalidRequest, UnsupportedMediaType
from app.extensions import db
from app.idempotency import service as idempotency
from app.validation import BIDI_CONTROLS_UTF8, parse, refuse_bad_text


@dataclass(frozen=True)
class Download:
    """What a view returns for a document rather than a JSON object (a GET only): its bytes,
    media type and the file name the answer's Content-Disposition gives it."""

    content: bytes
    media_type: str
    filename: str


View = Callable[..., Any]  # a JSON-ready dict, or a Download where the endpoint ``produces`` one


@dataclass(frozen=True)
class Endpoint:
    method: str
    rule: str
    name: str
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    path_params: tuple[str, ...]
    authenticated: bool
    produces: str = "application/json"
    consumes: str = "application/json"
    max_body: int | None = None


ENDPOINTS: list[Endpoint] = []
# The endpoints (Flask endpoint names) that take a larger body than MAX_CONTENT_LENGTH, and
# their limit (app/api/__init__.py reads the body up to it).
BODY_LIMITS: dict[str, int] = {}
# Media types an XML-consuming endpoint accepts (RFC 7303).
XML_MEDIA_TYPES = frozenset({"application/xml", "text/xml"})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_body() -> dict[str, Any]:
    """The request body as a JSON object; empty means {} (SPEC §2)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    # Only UTF-8 (RFC 8259 §8.1; a BOM is ignored): json.loads would guess UTF-16 and UTF-32 from
    # bytes, and a body in those could carry what the checks made on UTF-8 text (_arguments) look for.
    try:
        text: str | None = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is None:
        raise InvalidRequest("The request body is not UTF-8: send JSON encoded as UTF-8.", code="body_not_json")
    if "\x00" in text:  # no JSON has a raw NUL, but UTF-16 or UTF-32 text that decoded as UTF-8 does
        raise InvalidRequest("The request body is not valid JSON: it holds a raw NUL byte (send JSON encoded "
                             "as UTF-8, not UTF-16 or UTF-32).", code="body_not_json")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise InvalidRequest("The request body is not valid JSON.", code="body_not_json") from None
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="body_not_object")
    return data


def query_args() -> dict[str, Any]:
    """Query parameters, with ``name[]`` keys kept as lists."""
    args: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        args[key] = values if key.endswith("[]") else values[-1]
    return args


def render(payload: dict[str, Any], status: int = 200) -> Response:
    body = current_app.json.dumps(payload)
    return Response(body, status=status, mimetype="application/json")


def endpoint(
    bp: Blueprint,
    method: str,
    rule: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    authenticated: bool = True,
    produces: str = "application/json",
    consumes: str = "application/json",
    max_body: int | None = None,
) -> Callable[[View], View]:
    """Register ``view`` for ``method rule`` under the blueprint (see module docstring). A GET
    that ``produces`` another media type returns a ``Download``, sent as an attachment. A POST
    that ``consumes`` application/xml receives the body's bytes as ``body`` (of any size up to
    ``max_body``, which the view checks and names), and refuses another Content-Type."""

    def decorator(view: View) -> View:
        def handler(**path: str) -> Response:
            if not authenticated:
                return render(view(**_arguments(path)))

            def run() -> tuple[int, bytes]:
                # Parsing runs inside: a refused body is an answer the key replays too.
                return 200, current_app.json.dumps(view(caller=g.caller, **_arguments(path))).encode()

            if produces != "application/json":
                download: Download = view(caller=g.caller, **_arguments(path))
                db.session.commit()
                return send_file(io.BytesIO(download.content), mimetype=download.media_type, as_attachment=True,
                                 download_name=download.filename)
            if method == "POST" and request.headers.get("Idempotency-Key") is not None:
                return _once(g.caller, request.headers["Idempotency-Key"], run)
            status, data = run()
            db.session.commit()
            return Response(data, status=status, mimetype="application/json")

        def _arguments(path: dict[str, str]) -> dict[str, Any]:
            refuse_bad_text(path)
            kwargs: dict[str, Any] = dict(path)
            args = query_args()
            if b"%00" in request.query_string:  # the walk only when there may be something to find
                refuse_bad_text(args)
            if query is not None:
                kwargs["query"] = parse(query, args)
            elif args:
                name = next(iter(args))
                raise InvalidRequest(f"Received unknown parameter: {name}", param=name,
                                     code="parameter_unknown")
            if consumes != "application/json":
                media_type = (request.mimetype or "").lower()
                if media_type not in XML_MEDIA_TYPES:
                    raise UnsupportedMediaType(f"Send the body as {consumes} (Content-Type: {consumes}), "
                                               f"not {media_type or 'without a Content-Type'}.")
                kwargs["body"] = request.get_data(cache=True)
                return kwargs
            raw = json_body() if method in ("POST", "DELETE") else {}
            data = request.get_data(cache=True)
            # The walk only when there may be something to find: in UTF-8 JSON NULs and surrogates
            # come escaped, bidirectional controls escaped or raw.
            if b"\\u" in data or BIDI_CONTROLS_UTF8.search(data):
                refuse_bad_text(raw)
            if body is not None:
                kwargs["body"] = parse(body, raw)
            elif raw:
                name = next(iter(raw))
                raise InvalidRequest(f"Received unknown parameter: {name}", param=name,
                                     code="parameter_unknown")
            return kwargs

        handler.__name__ = view.__name__
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=handler, methods=[method])
        if max_body is not None:
            BODY_LIMITS[f"{bp.name}.{view.__name__}"] = max_body
        ENDPOINTS.append(Endpoint(
            method=method, rule=rule, name=view.__name__, summary=summary, body=body, query=query,
            response=response, path_params=tuple(re.findall(r"<(?:\w+:)?(\w+)>", rule)),
            authenticated=authenticated, produces=produces, consumes=consumes, max_body=max_body,
        ))
        return view

    return decorator


def _once(caller: Caller, key: str, run: Callable[[], tuple[int, bytes]]) -> Response:
    """Run a POST at most once for its Idempotency-Key (app/idempotency/service.py): the
    claim commits on its own, the answer is stored with the request's own changes.

    The claim's commit does not wait for the disk (a flush is several milliseconds, and
    the request's own commit waits for it anyway): PostgreSQL writes commits in order,
    so the request's durable commit makes the claim durable too, and a crash before it
    loses the claim together with everything the request did, so that a retry runs."""
    session = db.session
    config = current_app.config
    digest = idempotency.request_hash(config["SECRET_KEY"], request.method, request.path,
                                      request.get_data(cache=True))
    limits = idempotency.Limits(ttl=config["IDEMPOTENCY_TTL"], lock_timeout=config["IDEMPOTENCY_LOCK_TIMEOUT"])
    stored = idempotency.claim(session, caller, key, digest, limits)
    commit_without_waiting_for_disk(session)
    session.commit()
    if stored is not None:
        replay = Response(stored.body, status=stored.status, mimetype="application/json")
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    try:
        status, body = run()
    except DomainError as error:
        session.rollback()
        if idempotency.releases(error):
            idempotency.release(session, caller, key)
        else:
            idempotency.store(session, caller, key, error.status, current_app.json.dumps(error.to_dict()).encode())
        session.commit()
        raise
    except BaseException:
        session.rollback()
        idempotency.release(session, caller, key)
        session.commit()
        raise
    idempotency.store(session, caller, key, status, body)
    session.commit()
    return Response(body, status=status, mimetype="application/json")


def error_response(error: DomainError) -> Response:
    response = render(error.to_dict(), error.status)
    if error.retry_after is not None or error.status == 429:
        response.headers["Retry-After"] = str(error.retry_after if error.retry_after is not None else 60)
    return response
