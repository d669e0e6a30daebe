"""One webhook POST to an address that :mod:`app.webhooks.addresses` has checked (SPEC §4).

The TCP connection goes to ``Destination.address`` and nowhere else: no DNS lookup
here, no redirect followed, no proxy from the environment (urllib3 pools read none).
TLS is verified against the URL's host name (SNI and certificate), as a browser
would. Nothing is retried here: the caller schedules the next attempt, honouring
``Sent.retry_after``. Network trouble never raises; it is a :class:`Sent` with an error.

**One deadline for the whole exchange.** SPEC §4 gives a receiver 10 s in all, but
urllib3's timeouts (even ``Timeout(total=...)``) bound each socket operation, not the
exchange: a receiver that sends its headers one byte a second never lets a read time
out, and holds the worker's thread for as long as it likes. So the exchange has a
deadline (``timeout`` seconds after :func:`post` starts), and every blocking step is
given only the time left before it, through the connection class urllib3 lets a pool
choose (``ConnectionCls``):

- the TCP connect: the connection's timeout;
- the TLS handshake: the socket's timeout, set again once connected (CPython bounds a
  handshake as a whole by it, not each read);
- each send: the socket's timeout (``sendall`` is bounded as a whole);
- each read of the status line, headers and body: ``response_class`` reads the socket
  through :class:`_ReadsByDeadline`, which sets the socket's timeout to what is left
  before every ``recv`` and refuses to wait once nothing is.

The deadline reaches the connection the pool lends this thread through a context
variable, as urllib3 has no per-request hook for it. The alternative, a watchdog
thread shutting sockets down at the deadline, needs the socket of every phase
(urllib3 swaps it during the TLS handshake) and a thread's worth of races; this needs
neither. At most :data:`BODY_LIMIT` bytes of the answer's body are read, so a fast
endless body ends too.
"""

from __future__ import annotations

import email.utils
import http.client
import io
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from app.webhooks.addresses import Destination

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed import ReadableBuffer, SupportsRead, WriteableBuffer

USER_AGENT: Final = "VINR-Webhooks/1"
BODY_LIMIT: Final = 64 * 1024  # bytes of a response body read (and discarded); the status is the answer
POOL_LIMIT: Final = 32  # endpoints whose connections a process keeps; least recently used go first
# Connections a pool keeps at least: one unit of work's sends (app/webhooks/delivery.py
# BATCH_SENDS). A pool holds as many as this process has POSTs in flight (worker threads
# x BATCH_SENDS), grown when more are: a connection handed back to a full pool would
# be closed, and urllib3 warns "Connection pool is full" for each.
CONNECTIONS_PER_POOL: Final = 25
_ERROR_LENGTH: Final = 200  # characters of an exception's text kept in Sent.error

_PoolKey = tuple[str, str, int, str, ssl.SSLContext | None, str | None]
_pools: OrderedDict[_PoolKey, tuple[urllib3.HTTPConnectionPool, int]] = OrderedDict()  # the pool, its size
_pools_lock = threading.Lock()
_in_flight = 0  # POSTs in progress in this process (under _pools_lock)

# monotonic time by which the current thread's exchange must be over
_deadline: ContextVar[float | None] = ContextVar("webhook_deadline", default=None)


@dataclass(frozen=True)
class Sent:
    """What came of one POST: an HTTP status, or an ``error`` "<code>: <text>" (or both).

    Error codes: ``timeout`` (``status`` is set when the status line came in time but
    the rest of the answer did not), ``connection_failed``, ``tls_failed``,
    ``protocol_error``, ``redirect`` (``status`` holds the 3xx); the caller adds
    ``address_blocked``.
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

    ``timeout`` (seconds) bounds the whole exchange by the wall clock: connecting, the
    TLS handshake, sending, and the whole answer, of which at most :data:`BODY_LIMIT`
    bytes of body are read (then discarded; a longer body costs only the connection's
    reuse). An exchange not over by then is a ``timeout`` failure, whatever its status
    said. ``headers`` are sent as given, except that ``Host``, ``Content-Type`` and
    ``User-Agent`` are ours.
    Certificates are checked against certifi's CA bundle unless ``ssl_context`` or
    ``ca_certs`` (a PEM file) says otherwise.
    """
    started = time.monotonic()
    deadline = started + timeout
    request_headers = urllib3.HTTPHeaderDict(headers)
    request_headers["Host"] = destination.authority
    request_headers["Content-Type"] = "application/json"
    request_headers["User-Agent"] = USER_AGENT

    def sent(status: int | None = None, error: str | None = None, retry_after: int | None = None) -> Sent:
        return Sent(status=status, error=error, retry_after=retry_after,
                    duration_ms=round((time.monotonic() - started) * 1000))

    with _sending(), _until(deadline):
        pool = _pool_for(destination, ssl_context=ssl_context, ca_certs=ca_certs)
        try:
            response = pool.urlopen("POST", destination.target, body=body, headers=request_headers,
                                    redirect=False, retries=False, timeout=urllib3.Timeout(total=timeout),
                                    preload_content=False, decode_content=False, assert_same_host=False)
        except (HTTPError, OSError) as exc:
            return sent(error=_failure(exc, timeout=timeout, late=time.monotonic() >= deadline))
        try:
            in_time = _read_body(response, deadline=deadline)
        finally:
            response.release_conn()
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if not in_time:
        return sent(response.status, f"timeout: the answer did not end within {timeout:g} s", retry_after)
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
        pools = [pool for pool, _ in _pools.values()]
        _pools.clear()
    for pool in pools:
        pool.close()


def _failure(exc: BaseException, *, timeout: float, late: bool) -> str:
    """The ``Sent.error`` for an exchange that ended in ``exc`` before an answer; ``late``: past the deadline."""
    if isinstance(exc, ReadTimeoutError):
        return f"timeout: no answer within {timeout:g} s"
    if isinstance(exc, NewConnectionError) and not late:  # before Urllib3Timeout: it derives from ConnectTimeoutError
        return f"connection_failed: {_describe(exc)}"
    if isinstance(exc, Urllib3Timeout | NewConnectionError):
        return f"timeout: no connection within {timeout:g} s"
    if late:
        return f"timeout: no answer within {timeout:g} s"
    if isinstance(exc, SSLError):
        return f"tls_failed: {_describe(exc)}"
    if isinstance(exc, ProtocolError):
        return f"connection_failed: {_describe(exc)}"
    return f"protocol_error: {_describe(exc)}"


@contextmanager
def _sending() -> Iterator[None]:
    """Count this POST among those in flight, which sizes the pools."""
    global _in_flight
    with _pools_lock:
        _in_flight += 1
    try:
        yield
    finally:
        with _pools_lock:
            _in_flight -= 1


@contextmanager
def _until(deadline: float) -> Iterator[None]:
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def _time_left(deadline: float | None = None) -> float | None:
    """Seconds left before ``deadline`` (by default, this thread's exchange's; None: there is
    none); raises ``TimeoutError`` when none are."""
    if deadline is None:
        deadline = _deadline.get()
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the delivery's deadline passed")
    return left


class _ReadsByDeadline(io.RawIOBase):
    """A socket's reads, each allowed only the time left before the exchange's deadline."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, deadline: float | None) -> None:
        super().__init__()
        self._raw = raw  # the socket's own reader (socket.makefile), which keeps the socket open while in use
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int | None:
        if self._deadline is not None:
            self._sock.settimeout(_time_left(self._deadline))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _Response(http.client.HTTPResponse):
    """http.client's response (status line, headers, body), read by the deadline."""

    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: str | None = None,
                 url: str | None = None) -> None:
        super().__init__(sock, debuglevel, method, url)
        raw = self.fp.detach()  # nothing read yet: nothing buffered is lost
        self.fp = io.BufferedReader(_ReadsByDeadline(raw, sock, _deadline.get()))


class _Connection(HTTPConnection):
    """urllib3's connection, each blocking step bounded by the time left (module docstring)."""

    response_class = _Response

    def _new_conn(self) -> socket.socket:
        left = _time_left()
        if left is not None:
            self.timeout = left  # the TCP connect
        sock = super()._new_conn()
        try:
            left = _time_left()
        except TimeoutError:
            sock.close()
            raise
        if left is not None:
            sock.settimeout(left)  # what follows before the request: the TLS handshake
        return sock

    def send(self, data: SupportsRead[bytes] | Iterable[ReadableBuffer] | ReadableBuffer | str) -> None:
        left = _time_left()
        if left is not None and self.sock is not None:
            self.sock.settimeout(left)
        super().send(data)


class _TLSConnection(_Connection, HTTPSConnection):
    pass


class _Pool(urllib3.HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


def _pool_for(destination: Destination, *, ssl_context: ssl.SSLContext | None,
              ca_certs: str | None) -> urllib3.HTTPConnectionPool:
    """The process's pool for this endpoint, so consecutive deliveries reuse a keep-alive
    connection; replaced by a larger one when this process has more POSTs in flight
    than it could keep."""
    https = destination.scheme == "https"
    key: _PoolKey = (destination.scheme, destination.address, destination.port, destination.host,
                     ssl_context if https else None, ca_certs if https else None)
    retired = []
    with _pools_lock:
        kept = _pools.get(key)
        if kept is not None and kept[1] >= _in_flight:
            _pools.move_to_end(key)
            return kept[0]
        size = CONNECTIONS_PER_POOL if kept is None else 2 * kept[1]
        size = max(size, _in_flight)
        if https:
            # Connect to the checked address; verify and send SNI for the URL's host name.
            pool: urllib3.HTTPConnectionPool = _TLSPool(
                destination.address, destination.port, maxsize=size, block=False, retries=False,
                cert_reqs="CERT_REQUIRED", server_hostname=destination.host, assert_hostname=destination.host,
                ssl_context=ssl_context,
                ca_certs=ca_certs if ca_certs is not None or ssl_context is not None else certifi.where())
        else:
            pool = _Pool(destination.address, destination.port, maxsize=size, block=False, retries=False)
        if kept is not None:
            retired.append(kept[0])
        _pools[key] = (pool, size)
        _pools.move_to_end(key)
        if len(_pools) > POOL_LIMIT:
            retired.append(_pools.popitem(last=False)[1][0])
    for old in retired:
        # A delivery still using it finishes normally: urllib3 closes a connection returned to a closed pool.
        old.close()
    return pool


def _read_body(response: urllib3.BaseHTTPResponse, *, deadline: float) -> bool:
    """Read the body, at most BODY_LIMIT bytes of it; False when it did not end (or reach
    the limit) by ``deadline``. A body cut short costs the connection, not the answer."""
    received = 0
    try:
        while received <= BODY_LIMIT:
            chunk = response.read1(BODY_LIMIT + 1 - received)
            if not chunk:
                return True  # the whole body: the connection can be reused
            received += len(chunk)
    except (HTTPError, OSError) as exc:
        response.close()  # unread bytes would garble the next answer on this connection
        # A receiver that hung up early has still answered; one that ran out of time has not.
        return not isinstance(exc, ReadTimeoutError | TimeoutError) and time.monotonic() < deadline
    response.close()
    return True


def _describe(exc: BaseException) -> str:
    """The innermost reason for ``exc``, short: urllib3 wraps it in text naming its own objects."""
    while True:
        inner = exc.__cause__ or next((arg for arg in exc.args if isinstance(arg, BaseException)), None)
        if inner is None:
            break
        exc = inner
    return (str(exc) or type(exc).__name__)[:_ERROR_LENGTH]
