"""Webhook secrets and signatures (SPEC §4, delivery).

Every delivery is signed twice, with each of the endpoint's live secrets (the
current one first, then, during a roll, the old one until it expires):

``x-vinr-signature`` (VINR's own scheme)
    ``t=<timestamp>,v1=<hex>[,v1=<hex>…]`` where ``<timestamp>`` is Unix seconds
    and each ``<hex>`` is the lowercase hex HMAC-SHA256 keyed with the *whole*
    secret string as UTF-8 (``whsec_`` included) over ``b"<timestamp>." + body``.

Standard Webhooks (https://www.standardwebhooks.com)
    ``webhook-id: <event id>``, ``webhook-timestamp: <timestamp>`` and
    ``webhook-signature: v1,<base64>[ v1,<base64>…]`` (entries separated by one
    space), where each ``<base64>`` is the standard, padded base64 HMAC-SHA256
    keyed with the *bytes* the part of the secret after ``whsec_`` decodes to
    (base64), over ``b"<event id>.<timestamp>." + body``. The specification's
    libraries verify it.

Both schemes sign the raw body bytes and carry the same real wall-clock
timestamp; a receiver accepts a timestamp within a tolerance (5 minutes by
default) in either direction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence
from secrets import token_bytes

SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix of every secret, not a secret

_SECRET_BYTES = 32  # SPEC §4 asks for at least 24 random bytes
_VINR_HEADER = "x-vinr-signature"
# Unix seconds, at most 12 digits (up to the year 33658): int() would also take "+1", " 1"
# and "1_0", and raises ValueError for a text of thousands of digits.
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_SHOWN = 20  # characters of a malformed value that an error message quotes


class SignatureVerificationError(Exception):
    """A delivery's signature is missing, malformed, stale or does not match."""


def new_secret() -> str:
    """Return a fresh endpoint secret: ``whsec_`` + standard base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(_SECRET_BYTES)).decode("ascii")


def signature_headers(*, event_id: str, body: bytes, secrets: Sequence[str], timestamp: int) -> dict[str, str]:
    """Return the signature headers of one delivery attempt, one signature per secret in each scheme.

    ``secrets`` lists the endpoint's current secret first, then the old one during
    a roll; ``timestamp`` is the real time of this attempt in Unix seconds.
    Raises ``ValueError`` when ``secrets`` is empty or a secret is not
    ``whsec_`` + base64, and ``TypeError`` when it is one string, not a sequence.
    """
    if isinstance(secrets, str):  # a str is a Sequence[str] too: it would sign with each character
        raise TypeError("secrets must be a sequence of secrets, not one string")
    if not secrets:
        raise ValueError("at least one secret is needed to sign a delivery")
    vinr = [f"v1={_vinr_signature(secret, timestamp, body)}" for secret in secrets]
    standard = [f"v1,{_standard_signature(_standard_key(secret), event_id, timestamp, body)}" for secret in secrets]
    return {
        _VINR_HEADER: ",".join([f"t={timestamp}", *vinr]),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(standard),
    }


def verify_signature(payload: bytes, header: str, secret: str, tolerance: int = 300, *, now: int | None = None) -> None:
    """Check an ``x-vinr-signature`` header against the raw body ``payload``.

    Entries other than ``t`` and ``v1`` are ignored (room for future schemes).
    ``tolerance`` is in seconds, either way of ``now`` (Unix seconds, default the
    current time). Returns ``None`` when one ``v1`` matches; raises
    ``SignatureVerificationError`` saying what is wrong otherwise.
    """
    if not header:
        raise SignatureVerificationError(f"no {_VINR_HEADER} header")
    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureVerificationError(
                f"malformed {_VINR_HEADER} header: {_quoted(item.strip())} is not key=value")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            candidates.append(value)
    if len(timestamps) != 1:
        raise SignatureVerificationError(
            f"malformed {_VINR_HEADER} header: expected one t=<unix seconds>, found {len(timestamps)}")
    timestamp = _parse_timestamp(timestamps[0], f"t in {_VINR_HEADER}")
    if not candidates:
        raise SignatureVerificationError(f"malformed {_VINR_HEADER} header: no v1= signature")
    _check_tolerance(timestamp, tolerance, now)
    expected = _vinr_signature(secret, timestamp, payload).encode("ascii")
    if not any(hmac.compare_digest(expected, _header_bytes(candidate)) for candidate in candidates):
        raise SignatureVerificationError(f"no v1 signature in {_VINR_HEADER} matches this body and secret")


def verify_standard(payload: bytes, headers: Mapping[str, str], secret: str, tolerance: int = 300, *,
                    now: int | None = None) -> None:
    """Check the Standard Webhooks headers (names in any case) against the raw body ``payload``.

    Signature entries other than ``v1,…`` are ignored. ``tolerance`` and ``now``
    as for ``verify_signature``. Returns ``None`` when one ``v1`` matches; raises
    ``SignatureVerificationError`` saying what is wrong otherwise, and
    ``ValueError`` when ``secret`` is not ``whsec_`` + base64.
    """
    key = _standard_key(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in ("webhook-id", "webhook-timestamp", "webhook-signature") if not lowered.get(name)]
    if missing:
        raise SignatureVerificationError(f"no {', '.join(missing)} header")
    timestamp = _parse_timestamp(lowered["webhook-timestamp"], "webhook-timestamp")
    entries = (entry.partition(",") for entry in lowered["webhook-signature"].split())
    candidates = [value for version, sep, value in entries if sep and version == "v1"]
    if not candidates:
        raise SignatureVerificationError("malformed webhook-signature header: no v1,<base64> entry")
    _check_tolerance(timestamp, tolerance, now)
    expected = _standard_signature(key, lowered["webhook-id"], timestamp, payload).encode("ascii")
    if not any(hmac.compare_digest(expected, _header_bytes(candidate)) for candidate in candidates):
        raise SignatureVerificationError("no v1 signature in webhook-signature matches this body and secret")


def _vinr_signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _standard_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as error:
        raise ValueError(f"a webhook secret is {SECRET_PREFIX!r} + base64") from error
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def _standard_signature(key: bytes, event_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key, _header_bytes(event_id) + f".{timestamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _parse_timestamp(value: str, name: str) -> int:
    if not _UNIX_SECONDS.fullmatch(value):
        raise SignatureVerificationError(f"malformed {name}: {_quoted(value)} is not an integer of Unix seconds")
    return int(value)


def _header_bytes(value: str) -> bytes:
    """A header's text as bytes, whatever it holds: a lone surrogate (in no id or signature
    VINR makes) is kept as bytes that simply match nothing, rather than raising."""
    return value.encode("utf-8", errors="surrogatepass")


def _quoted(value: str) -> str:
    """``value`` for an error message: a sender's header can be kilobytes long."""
    return repr(value) if len(value) <= _SHOWN else repr(value[:_SHOWN])[:-1] + "…'"


def _check_tolerance(timestamp: int, tolerance: int, now: int | None) -> None:
    current = int(time.time()) if now is None else now
    skew = current - timestamp  # seconds; negative when the timestamp is in the future
    if abs(skew) > tolerance:
        age = f"{skew} s old" if skew > 0 else f"{-skew} s in the future"
        raise SignatureVerificationError(
            f"timestamp outside the tolerance: it is {age}, more than {tolerance} s "
            "(a replayed delivery, or a clock that is off)")
