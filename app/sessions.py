"""The signed-cookie session, with its serializer built once per key."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CachedSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask's own cookie session (same format, same keys, same fallbacks).

    Flask builds a new itsdangerous serializer for every request, and twice
    for a first visit to the hosted page (to open the session, then to save
    the CSRF token in it); each build also round-trips an empty dict through
    the JSON serializer. A serializer holds only its configuration, so one per
    key set is kept and reused (docs/performance.md).
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()), self.salt,
               self.digest_method, self.key_derivation)
        if key not in self._serializers:
            self._serializers[key] = super().get_signing_serializer(app)
        return self._serializers[key]
