"""When a request is sent again, and after how long.

Only what cannot do harm is retried:

* POSTs always carry an ``Idempotency-Key`` (the caller's, or one made once per
  call and reused by every retry of it), so the server runs a POST at most once
  and replays its answer to a retry;
* GETs change nothing;
* a DELETE has no key, so it is retried only when the connection could not
  even be opened (the request never left).

A retry follows a broken or timed-out connection, a 409 that says the same key
is still in flight, a 429, and any 5xx but a 503 ``processor_not_configured``
(the live processor is not set up: an answer about configuration, which a retry
would only repeat). Nothing else: a 4xx is the caller's to fix. The wait
doubles from ``initial_delay`` up to ``max_delay`` with random jitter (so that
many clients that failed together do not come back together), and is at least
what ``Retry-After`` asks; a ``Retry-After`` longer than ``max_retry_after`` is
not waited out silently, the error is raised instead.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import httpx

IN_FLIGHT_CODE = "idempotency_key_in_use"  # the 409 of a key whose first request is still running
NOT_CONFIGURED_CODE = "processor_not_configured"  # the 503 of live mode without a processor: nothing ran

# Indirections the tests replace to run without waiting. anyio's sleep (httpx<1 depends
# on anyio) runs under whatever loop AsyncVinr is awaited in: asyncio or trio.
sleep = time.sleep
async_sleep = anyio.sleep


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    initial_delay: float = 0.5  # seconds
    max_delay: float = 8.0  # seconds
    max_retry_after: float = 60.0  # seconds

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")

    def retries_exception(self, method: str, error: Exception) -> bool:
        """Whether a request that failed with ``error`` (no answer) may be sent again."""
        if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return True  # never reached the server
        if method in ("GET", "POST"):
            return isinstance(error, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)
        return False

    def retries_response(self, method: str, status: int, error_code: str | None) -> bool:
        """Whether an answer with this HTTP status (and error ``code``) may be asked for again."""
        if method not in ("GET", "POST"):
            return False
        if status == 503 and error_code == NOT_CONFIGURED_CODE:
            return False
        return (status == 409 and error_code == IN_FLIGHT_CODE) or status == 429 or status >= 500

    def delay(self, retries_done: int, retry_after: float | None = None,
              rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before retry number ``retries_done + 1``; ``None``: do not retry."""
        if retries_done >= self.max_retries:
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        backoff = min(self.max_delay, self.initial_delay * 2.0 ** retries_done)
        jittered = backoff * (0.5 + rand() / 2)  # between half and all of it
        return max(jittered, retry_after or 0.0)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
