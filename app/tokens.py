"""Signed tokens, one itsdangerous serializer per purpose (STYLE "Signed tokens").

The purpose is the salt, so a token minted for one purpose never verifies for
another; the payload names the object and the caller re-checks it against the
object it loaded. The caller hands in the secret key (the app's ``SECRET_KEY``): this
module is below the app and never reads its configuration.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadData, URLSafeSerializer, URLSafeTimedSerializer

HOSTED_INVOICE = "vinr.hosted-invoice.v1"


class InvalidToken(Exception):
    """The token is malformed, expired, tampered with or minted for something else."""


def mint(purpose: str, payload: dict[str, Any], *, secret_key: str, timed: bool = False) -> str:
    """Sign ``payload``; ``timed`` tokens carry their issue time for ``max_age``."""
    serializer = URLSafeTimedSerializer if timed else URLSafeSerializer
    return str(serializer(secret_key, salt=purpose).dumps(payload))


def verify(purpose: str, token: str, *, secret_key: str, max_age: int | None = None) -> dict[str, Any]:
    """The payload of a token of this purpose; ``max_age`` (seconds) for timed ones.

    Raises InvalidToken for anything else.
    """
    try:
        if max_age is not None:
            payload = URLSafeTimedSerializer(secret_key, salt=purpose).loads(token, max_age=max_age)
        else:
            payload = URLSafeSerializer(secret_key, salt=purpose).loads(token)
    except BadData:
        raise InvalidToken(purpose) from None
    if not isinstance(payload, dict):
        raise InvalidToken(purpose)
    return payload
