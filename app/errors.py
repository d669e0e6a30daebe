"""Domain errors and the one table that maps them to HTTP (SPEC §2).

Services raise these; the API renders them as the JSON error object and the
portal renders ``errors/<status>.html``. Nothing else decides a status code.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client may see. ``message`` is shown verbatim."""

    status: int = 400
    type: str = "invalid_request_error"
    code: str = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.retry_after = retry_after  # seconds a retry should wait (``Retry-After``), where one can tell
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        error: dict[str, object] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


class InvalidRequest(DomainError):
    """A parameter is missing, malformed or not allowed here (400)."""

    code = "parameter_invalid"


class UnsupportedMediaType(DomainError):
    """A body sent as a media type the endpoint does not read (415)."""

    status = 415
    code = "unsupported_media_type"


class NotFound(DomainError):
    """Unknown id, or an id of another account or mode: indistinguishable (404)."""

    status = 404
    code = "resource_missing"


class Conflict(DomainError):
    """The object is in a state that does not allow this (409)."""

    status = 409
    code = "invalid_state"


class AuthenticationFailed(DomainError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class CardError(DomainError):
    """The card was refused, by validation or by the processor (402)."""

    status = 402
    type = "card_error"
    code = "card_declined"

    def __init__(
        self,
        message: str,
        *,
        code: str,
        param: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code)
        self.decline_code = decline_code

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        if self.decline_code is not None:
            body["error"]["decline_code"] = self.decline_code  # type: ignore[index]
        return body


class IdempotencyError(DomainError):
    type = "idempotency_error"
    code = "idempotency_key_reused"


class IdempotencyInFlight(IdempotencyError):
    """The key's first request is still running (409); ``retry_after``: seconds worth waiting."""

    status = 409
    code = "idempotency_key_in_use"


class RateLimited(DomainError):
    """Too many requests (429); ``retry_after`` is the seconds until one fits again (SPEC §2)."""

    status = 429
    type = "rate_limit_error"
    code = "rate_limited"

    retry_after: int  # always known: when the oldest counted request leaves the window

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, retry_after=retry_after)


class ServiceUnavailable(DomainError):
    status = 503
    type = "api_error"
    code = "service_unavailable"
