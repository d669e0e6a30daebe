"""Signed tokens, one itsdangerous serializer per purpose (STYLE "Signed tokens").

The purpose is the salt, so a token minted for one purpose never verifies for
another; the payload names the object and the caller re-checks it against the
object it loaded.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

HOSTED_INVOICE = "vinr.hosted-invoice.v1"


class InvalidToken(Exception):
    """The token is malformed, tampered with or minted for something else."""


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def mint(purpose: str, payload: dict[str, Any]) -> str:
    return str(_serializer(purpose).dumps(payload))


def verify(purpose: str, token: str) -> dict[str, Any]:
    try:
        payload = _serializer(purpose).loads(token)
    except BadData:
        raise InvalidToken(purpose) from None
    if not isinstance(payload, dict):
        raise InvalidToken(purpose)
    return payload
