"""What the sync and the async client share: building a request, reading its answer.

Neither does any I/O, so both clients send the very same bytes and read the
answers the same way; they differ only in how they wait.
"""

from __future__ import annotations

import json
import os
import platform
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from vinr._retry import IN_FLIGHT_CODE, parse_retry_after
from vinr._version import VERSION
from vinr.errors import APIError, RateLimitError, VinrError, error_class
from vinr.objects import ListObject, VinrObject

DEFAULT_BASE_URL = "http://127.0.0.1:5000"  # what ./scripts/run serves
DEFAULT_TIMEOUT = 60.0  # seconds; a payment may wait on the live processor's own retries
USER_AGENT = f"vinr-python/{VERSION} httpx/{httpx.__version__} python/{platform.python_version()}"


def resolve_key(secret_key: str | None) -> str:
    key = secret_key if secret_key is not None else os.environ.get("VINR_API_KEY")
    if not key:
        raise ValueError("no API key: pass Vinr(secret_key) or set VINR_API_KEY (sk_test_… or sk_live_…)")
    return key


def resolve_base_url(base_url: str | None) -> str:
    url = base_url or os.environ.get("VINR_BASE_URL") or DEFAULT_BASE_URL
    return url.rstrip("/")


def path(template: str, *ids: str) -> str:
    """``template`` with each ``{}`` replaced by an id, escaped; an empty id is refused here,
    because ``/v1/customers/`` would list customers instead of fetching one."""
    for ident in ids:
        if not isinstance(ident, str) or not ident:
            raise ValueError(f"an id must be a non-empty string, not {ident!r}")
    return template.format(*(quote(ident, safe="") for ident in ids))


def query(params: Mapping[str, Any] | None) -> httpx.QueryParams:
    """Query parameters in the API's form: ``expand[]=customer``, ``created[gte]=…``, ``true``/``false``."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            pairs.extend((f"{key}[{sub}]", _scalar(item)) for sub, item in value.items() if item is not None)
        elif isinstance(value, list | tuple):
            pairs.extend((f"{key}[]", _scalar(item)) for item in value)
        else:
            pairs.append((key, _scalar(value)))
    return httpx.QueryParams(tuple(pairs))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def headers(secret_key: str, method: str, idempotency_key: str | None) -> dict[str, str]:
    result = {"X-Api-Key": secret_key, "Accept": "application/json", "User-Agent": USER_AGENT}
    if method == "POST":
        result["Content-Type"] = "application/json"
        result["Idempotency-Key"] = idempotency_key or new_idempotency_key()
    return result


def new_idempotency_key() -> str:
    return f"vinr-python-{uuid.uuid4()}"


def body(method: str, params: Mapping[str, Any] | None) -> bytes | None:
    if method != "POST":
        return None
    return json.dumps(dict(params or {}), separators=(",", ":"), default=_jsonable).encode()


def _jsonable(value: Any) -> Any:
    """What ``json`` cannot write itself: a result passed back as a parameter
    (``address=other.address``, ``metadata=customer.metadata``), any other mapping
    or non-text sequence."""
    if isinstance(value, VinrObject | ListObject):
        return value.to_dict()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray | memoryview):
        return list(value)
    raise TypeError(f"a parameter of type {type(value).__name__} cannot be sent as JSON")


def error_code(response: httpx.Response) -> str | None:
    """The API error ``code`` of an answer, if it is an error object."""
    try:
        payload = response.json()
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def request_id(response: httpx.Response) -> str | None:
    value = response.headers.get("Request-Id") or response.headers.get("X-Request-Id")
    return str(value) if value else None


def decode(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer; raises the matching :class:`VinrError` for anything else."""
    if response.is_success:
        try:
            return response.json()
        except ValueError:
            raise APIError(f"the API answered {response.status_code} with a body that is not JSON",
                           http_status=response.status_code, request_id=request_id(response),
                           headers=response.headers) from None
    raise to_error(response)


def content(response: httpx.Response) -> bytes:
    """The body of a 2xx answer that is a document, not JSON; raises like ``decode`` otherwise."""
    if response.is_success:
        return response.content
    raise to_error(response)


def to_error(response: httpx.Response) -> VinrError:
    status = response.status_code
    try:
        payload: Any = response.json()
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = {}
    error_type = error.get("type") if isinstance(error.get("type"), str) else None
    message = error.get("message") or f"the API answered HTTP {status} without an error object"
    cls = error_class(error_type, status)
    if error.get("code") == IN_FLIGHT_CODE:
        # Reached once the retries (which wait for it) are spent: the other request may still succeed.
        message = (f"the earlier request with this Idempotency-Key is still running, after every retry: send "
                   f"this one again later with the same key to get that request's answer ({message})")
    fields: dict[str, Any] = {
        "http_status": status, "type": error_type, "code": error.get("code"), "param": error.get("param"),
        "decline_code": error.get("decline_code"), "request_id": request_id(response),
        "headers": response.headers, "body": payload,
    }
    if cls is RateLimitError:
        return RateLimitError(str(message), retry_after=parse_retry_after(response.headers.get("Retry-After")),
                              **fields)
    return cls(str(message), **fields)
