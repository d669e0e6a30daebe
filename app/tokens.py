"""Signed tokens, one itsdangerous serializer per purpose (STYLE "Signed tokens").

The purpose is the salt, so a token minted for one purpose never verifies for
another; the payload names the object and the caller re-checks it against the
object it loaded.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer, URLSafeTimedSerializer

HOSTED_INVOICE = "vinr.hosted-invoice.v1"


class InvalidToken(Exception):
    """The token is malformed, expired, tampered with or minted for something else."""


def _serializer(purpose: str, timed: bool, secret_key: str | None = None) -> URLSafeSerializer | URLSafeTimedSerializer:
    cls = URLSafeTimedSerializer if timed else URLSafeSerializer
    return cls(secret_key or current_app.config["SECRET_KEY"], salt=purpose)


def mint(purpose: str, payload: dict[str, Any], *, timed: bool = False) -> str:
    """Sign ``payload``; ``timed`` tokens carry their issue time for ``max_age``."""
    return str(_serializer(purpose, timed).dumps(payload))


def verify(purpose: str, token: str, *, max_age: int | None = None, secret_key: str | None = None) -> dict[str, Any]:
    """The payload of a token of this purpose; ``max_age`` (seconds) for timed ones.
    ``secret_key`` defaults to the app's.

    Raises InvalidToken for anything else.
    """
    try:
        if max_age is not None:
            payload = URLSafeTimedSerializer(secret_key or current_app.config["SECRET_KEY"], salt=purpose).loads(
                token, max_age=max_age)
        else:
            payload = _serializer(purpose, False, secret_key).loads(token)
    except BadData:
        raise InvalidToken(purpose) from None
    if not isinstance(payload, dict):
        raise InvalidToken(purpose)
    return payload
