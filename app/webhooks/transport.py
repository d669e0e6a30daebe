"""One webhook POST to an address that :mod:`app.webhooks.addresses` has checked (SPEC §4).

The TCP connection goes to ``Destination.address`` and nowhere else: no DNS lookup
here, no redirect followed, no proxy from the environment (urllib3 pools read none).
TLS is verified against the URL's host name (SNI and certificate), as a browser
would. Nothing is retried here: the caller schedules the next attempt, honouring
``Sent.retry_after``. Network trouble never raises; it is a :class:`Sent` with an error.
"""

from __future__ import annotations

import email.utils
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import certifi
import urllib3
from urllib3.connection import HTTPConnection
from urllib3.exceptions import (
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from app.webhooks.addresses import Destination

USER_AGENT: Final = "VINR-Webhooks/1"
BODY_LIMIT: Final = 64 * 1024  # bytes of a response body read (and discarded); the status is the answer
POOL_LIMIT: Final = 32  # endpoints whose connections a process keeps; least recently used go first
# Idle keep-alive connections kept per endpoint (more are opened as needed): as many as
# one unit of work sends at once (app/webhooks/delivery.py BATCH_SENDS), so a busy
# endpoint's connections are reused instead of reopened.
CONNECTIONS_PER_POOL: Final = 25
_ERROR_LENGTH: Final = 200  # characters of an exception's text kept in Sent.error

_PoolKey = tuple[str, str, int, str, ssl.SSLContext | None, str | None]
_pools: OrderedDict[_PoolKey, urllib3.HTTPConnectionPool] = OrderedDict()
_pools_lock = threading.Lock()


@dataclass(frozen=True)
class Sent:
    """What came of one POST: an HTTP status, or an ``error`` "<code>: <text>" (or both, for a redirect).

    Error codes: ``timeout``, ``connection_failed``, ``tls_failed``, ``protocol_error``,
    ``redirect`` (``status`` holds the 3xx); the caller adds ``address_blocked``.
    """

    status: int | None
    error: str | None
    retry_after: int | None  # seconds the receiver asked us to wait (Retry-After), None when absent or unreadable
    duration_ms: int

    @property
    def ok(self) -> bool:
        """A 2xx answer: the delivery succeeded."""
        return self.status is not None and 200 <= self.status < 300 and self.error is None


def post(destination: Destination, body: bytes, headers: Mapping[str, str], *, timeout: float = 10.0,
         ssl_context: ssl.SSLContext | None = None, ca_certs: str | None = None) -> Sent:
    """POST ``body`` to ``destination`` and report the answer; never raises for network problems.

    ``timeout`` (seconds) bounds the whole exchange: connecting, the answer's status
    (which alone decides success), and reading at most :data:`BODY_LIMIT` bytes of body,
    which are discarded; a body cut short by either limit costs only the connection's
    reuse, never the answer. ``headers`` are sent as given, except that ``Host``,
    ``Content-Type`` and ``User-Agent`` are ours.
    Certificates are checked against certifi's CA bundle unless ``ssl_context`` or
    ``ca_certs`` (a PEM file) says otherwise.
    """
    started = time.monotonic()
    request_headers = urllib3.HTTPHeaderDict(headers)
    request_headers["Host"] = destination.authority
    request_headers["Content-Type"] = "application/json"
    request_headers["User-Agent"] = USER_AGENT
    pool = _pool_for(destination, ssl_context=ssl_context, ca_certs=ca_certs)

    def sent(status: int | None = None, error: str | None = None, retry_after: int | None = None) -> Sent:
        return Sent(status=status, error=error, retry_after=retry_after,
                    duration_ms=round((time.monotonic() - started) * 1000))

    try:
        response = pool.urlopen("POST", destination.target, body=body, headers=request_headers,
                                redirect=False, retries=False, timeout=urllib3.Timeout(total=timeout),
                                preload_content=False, decode_content=False, assert_same_host=False)
    except ReadTimeoutError:
        return sent(error=f"timeout: no answer within {timeout:g} s")
    except NewConnectionError as exc:  # before TimeoutError: urllib3 derives it from ConnectTimeoutError
        return sent(error=f"connection_failed: {_describe(exc)}")
    except Urllib3Timeout:
        return sent(error=f"timeout: no connection within {timeout:g} s")
    except SSLError as exc:
        return sent(error=f"tls_failed: {_describe(exc)}")
    except ProtocolError as exc:
        return sent(error=f"connection_failed: {_describe(exc)}")
    except (HTTPError, OSError) as exc:
        return sent(error=f"protocol_error: {_describe(exc)}")
    try:
        _discard_body(response, deadline=started + timeout)
    finally:
        response.release_conn()
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if 300 <= response.status < 400:
        location = response.headers.get("Location")
        where = f"to {location[:_ERROR_LENGTH]} " if location else ""
        return sent(response.status, f"redirect: {response.status} {where}is not followed", retry_after)
    return sent(response.status, None, retry_after)


def parse_retry_after(value: str | None) -> int | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); None when absent or garbage."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None  # HTTP-dates are GMT; a date without a zone is not one
    return max(0, round((when - datetime.now(UTC)).total_seconds()))


def close_pools() -> None:
    """Close every kept connection (worker shutdown, tests)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


def _pool_for(destination: Destination, *, ssl_context: ssl.SSLContext | None,
              ca_certs: str | None) -> urllib3.HTTPConnectionPool:
    """The process's pool for this endpoint, so consecutive deliveries reuse a keep-alive connection."""
    https = destination.scheme == "https"
    key: _PoolKey = (destination.scheme, destination.address, destination.port, destination.host,
                     ssl_context if https else None, ca_certs if https else None)
    evicted = None
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        if https:
            # Connect to the checked address; verify and send SNI for the URL's host name.
            pool = urllib3.HTTPSConnectionPool(
                destination.address, destination.port, maxsize=CONNECTIONS_PER_POOL, block=False, retries=False,
                cert_reqs="CERT_REQUIRED", server_hostname=destination.host, assert_hostname=destination.host,
                ssl_context=ssl_context,
                ca_certs=ca_certs if ca_certs is not None or ssl_context is not None else certifi.where())
        else:
            pool = urllib3.HTTPConnectionPool(destination.address, destination.port, maxsize=CONNECTIONS_PER_POOL,
                                              block=False, retries=False)
        _pools[key] = pool
        if len(_pools) > POOL_LIMIT:
            _, evicted = _pools.popitem(last=False)
    if evicted is not None:
        # A delivery still using it finishes normally: urllib3 closes a connection returned to a closed pool.
        evicted.close()
    return pool


def _discard_body(response: urllib3.BaseHTTPResponse, *, deadline: float) -> None:
    """Read up to BODY_LIMIT bytes by ``deadline``; a slow or long body costs the connection, not the answer."""
    received = 0
    try:
        while received <= BODY_LIMIT:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            connection = response.connection
            if isinstance(connection, HTTPConnection) and connection.sock is not None:
                # urllib3 set the socket timeout once, for the headers; bound each body read by what is left.
                connection.sock.settimeout(remaining)
            chunk = response.read1(BODY_LIMIT + 1 - received)
            if not chunk:
                return  # the whole body: the connection can be reused
            received += len(chunk)
    except (HTTPError, OSError):
        pass
    response.close()  # unread bytes would garble the next answer on this connection


def _describe(exc: BaseException) -> str:
    """The innermost reason for ``exc``, short: urllib3 wraps it in text naming its own objects."""
    while True:
        inner = exc.__cause__ or next((arg for arg in exc.args if isinstance(arg, BaseException)), None)
        if inner is None:
            break
        exc = inner
    return (str(exc) or type(exc).__name__)[:_ERROR_LENGTH]
