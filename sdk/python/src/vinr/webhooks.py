"""Verifying webhook deliveries (``docs/webhooks.md``).

Each delivery is signed in two schemes, and :func:`verify` accepts either:

``x-vinr-signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]``
    the hex HMAC-SHA256, keyed with the whole secret string (``whsec_…``, as
    UTF-8), of ``"<t>."`` followed by the raw body;

Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>[ …]``)
    the base64 HMAC-SHA256, keyed with the bytes that the part of the secret
    after ``whsec_`` base64-decodes to, of ``"<id>.<timestamp>."`` followed by
    the raw body.

During a secret roll a delivery carries one signature per secret; one match
is enough. Timestamps are accepted ``tolerance`` seconds either side of now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from vinr.errors import SignatureVerificationError
from vinr.objects import Event

__all__ = ["DEFAULT_TOLERANCE", "Headers", "SignatureVerificationError", "Webhooks", "verify"]

DEFAULT_TOLERANCE = 300  # seconds, in either direction
SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix of every secret, not a secret

_VINR = "x-vinr-signature"


class Headers(Protocol):
    """Request headers: a ``Mapping`` or anything with ``items()`` (werkzeug's, Starlette's, Django's)."""

    def items(self) -> Iterable[tuple[str, str]]: ...

# Unix seconds, at most 12 digits (up to the year 33658): int() would also take "+1", " 1"
# and "1_0", and raises ValueError for a text of thousands of digits.
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_SHOWN = 20  # characters of a malformed value that an error message quotes


def verify(payload: bytes | str, signature_header: str | Headers | None, secret: str | bytes,
           tolerance: int = DEFAULT_TOLERANCE, *, now: int | None = None) -> Event:
    """Check a delivery and return its event.

    ``payload`` is the raw body exactly as received (``request.get_data()`` in
    Flask; not re-serialized JSON). ``signature_header`` is the value of the
    ``x-vinr-signature`` header, or the request's headers (any mapping, names
    in any case): then ``x-vinr-signature`` is checked when present, else the
    Standard Webhooks headers. ``secret`` is the endpoint's ``whsec_…``.
    ``now`` (unix seconds) defaults to the current time.

    Raises :class:`~vinr.errors.SignatureVerificationError` saying what is wrong,
    also for a missing (``None``), empty or malformed header (whatever its length
    or characters), and a payload or secret that is neither ``str`` nor ``bytes``:
    it is the only exception a receiver needs to catch.
    """
    body = _bytes(payload, "payload")
    secret = _bytes(secret, "secret").decode("utf-8", errors="replace")
    if not secret:
        raise SignatureVerificationError("the secret is empty: pass the endpoint's whsec_… secret")
    current = int(time.time()) if now is None else now
    if isinstance(signature_header, str):
        if not signature_header.strip():
            raise SignatureVerificationError(f"no {_VINR} header: the value given is empty")
        _verify_vinr(body, signature_header, secret, tolerance, current)
    elif signature_header is None or not callable(getattr(signature_header, "items", None)):
        raise SignatureVerificationError(
            f"no signature header: pass the {_VINR} value or the request's headers, "
            f"not {type(signature_header).__name__}")
    else:
        headers = {str(name).lower(): str(value) for name, value in signature_header.items() if value is not None}
        if headers.get(_VINR):
            _verify_vinr(body, headers[_VINR], secret, tolerance, current)
        elif any(headers.get(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature")):
            _verify_standard(body, headers, secret, tolerance, current)
        else:
            raise SignatureVerificationError(f"no {_VINR} header and no Standard Webhooks headers")
    try:
        event: Any = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise SignatureVerificationError("the signed body is not JSON") from None
    if not isinstance(event, dict):
        raise SignatureVerificationError("the signed body is not a JSON object")
    return Event(event)


def _bytes(value: object, name: str) -> bytes:
    """``value`` as bytes (text as UTF-8); anything else is refused as a verification failure,
    because a receiver catches only :class:`SignatureVerificationError`."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates, as a decoding with errors="surrogateescape" leaves
            raise SignatureVerificationError(f"the {name} is text that is not UTF-8: pass the bytes") from None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise SignatureVerificationError(f"the {name} must be str or bytes, not {type(value).__name__}")


class Webhooks:
    """``client.webhooks``: the same :func:`verify`, for code that holds a client."""

    def verify(self, payload: bytes | str, signature_header: str | Headers | None, secret: str | bytes,
               tolerance: int = DEFAULT_TOLERANCE, *, now: int | None = None) -> Event:
        return verify(payload, signature_header, secret, tolerance, now=now)


def _verify_vinr(body: bytes, header: str, secret: str, tolerance: int, now: int) -> None:
    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureVerificationError(f"malformed {_VINR} header: {_quoted(item.strip())} is not key=value")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            candidates.append(value)
    if len(timestamps) != 1:
        raise SignatureVerificationError(f"malformed {_VINR} header: expected one t=, found {len(timestamps)}")
    if not candidates:
        raise SignatureVerificationError(f"malformed {_VINR} header: no v1= signature")
    timestamp = _timestamp(timestamps[0], f"t in {_VINR}")
    _check_tolerance(timestamp, tolerance, now)
    expected = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected.encode(), _header_bytes(candidate)) for candidate in candidates):
        raise SignatureVerificationError(f"no v1 signature in {_VINR} matches this body and secret")


def _verify_standard(body: bytes, headers: Mapping[str, str], secret: str, tolerance: int, now: int) -> None:
    missing = [name for name in ("webhook-id", "webhook-timestamp", "webhook-signature") if not headers.get(name)]
    if missing:
        raise SignatureVerificationError(f"no {', '.join(missing)} header")
    key = _standard_key(secret)
    timestamp = _timestamp(headers["webhook-timestamp"], "webhook-timestamp")
    entries = (entry.partition(",") for entry in headers["webhook-signature"].split())
    candidates = [value for version, sep, value in entries if sep and version == "v1"]
    if not candidates:
        raise SignatureVerificationError("malformed webhook-signature header: no v1,<base64> entry")
    _check_tolerance(timestamp, tolerance, now)
    signed = _header_bytes(headers["webhook-id"]) + f".{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    if not any(hmac.compare_digest(expected, _header_bytes(candidate)) for candidate in candidates):
        raise SignatureVerificationError("no v1 signature in webhook-signature matches this body and secret")


def _standard_key(secret: str) -> bytes:
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError:  # binascii.Error, or a character beyond ASCII
        raise SignatureVerificationError(f"the secret is not {SECRET_PREFIX!r} + base64") from None
    if not key:
        raise SignatureVerificationError("the secret is empty")
    return key


def _timestamp(value: str, name: str) -> int:
    if not _UNIX_SECONDS.fullmatch(value.strip()):
        raise SignatureVerificationError(f"malformed {name}: {_quoted(value)} is not unix seconds")
    return int(value.strip())


def _header_bytes(value: str) -> bytes:
    """A header's text as bytes, whatever it holds: a lone surrogate (which no signature VINR
    makes contains) is kept as bytes that simply match nothing, rather than raising."""
    return value.encode("utf-8", errors="surrogatepass")


def _quoted(value: str) -> str:
    """``value`` for an error message: a sender's header can be kilobytes long."""
    return repr(value) if len(value) <= _SHOWN else repr(value[:_SHOWN])[:-1] + "…'"


def _check_tolerance(timestamp: int, tolerance: int, now: int) -> None:
    skew = now - timestamp  # seconds; negative when the timestamp is in the future
    if abs(skew) > tolerance:
        age = f"{skew} s old" if skew > 0 else f"{-skew} s in the future"
        raise SignatureVerificationError(f"timestamp outside the tolerance: {age}, more than {tolerance} s")
