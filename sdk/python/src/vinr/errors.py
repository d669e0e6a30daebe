"""The exceptions the SDK raises, one class per error ``type`` of the API.

Every error carries what the API said (``message``, ``code``, ``param``,
``decline_code``), the HTTP status, and the request id when the server sent one
(``Request-Id``), so that a failure can be handled by its code and reported with
what support needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


class VinrError(Exception):
    """Base of every error raised by the SDK."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        type: str | None = None,  # the API's name for the field
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | httpx.Headers | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.request_id = request_id
        #: The answer's headers, by name in any case (``headers["Retry-After"]``).
        self.headers = httpx.Headers(headers)
        #: The decoded JSON body of the answer, when there was one.
        self.body = body

    def __str__(self) -> str:
        details = [f"{name}={value}" for name, value in (
            ("status", self.http_status), ("code", self.code), ("param", self.param),
            ("decline_code", self.decline_code), ("request_id", self.request_id)) if value is not None]
        return f"{self.message} ({', '.join(details)})" if details else self.message

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(message={self.message!r}, http_status={self.http_status!r}, "
                f"code={self.code!r}, param={self.param!r}, request_id={self.request_id!r})")


class APIError(VinrError):
    """``api_error``: the server failed (500, 503), or answered something the SDK cannot read."""


class APIConnectionError(VinrError):
    """No answer reached the SDK: the connection failed, broke or timed out, after every retry.

    A POST may still have been carried out; calling it again with the same
    ``idempotency_key`` replays its answer instead of doing it twice.
    """


class InvalidRequestError(VinrError):
    """``invalid_request_error``: a bad parameter (400), an unknown id (404) or a status that
    does not allow the operation (409); ``param`` names the parameter when there is one."""


class AuthenticationError(VinrError):
    """``authentication_error``: the API key is missing or wrong (401)."""


class CardError(VinrError):
    """``card_error``: the card was refused (402); see ``code`` and ``decline_code``."""


class IdempotencyError(VinrError):
    """``idempotency_error``: an ``Idempotency-Key`` reused with different parameters (400,
    ``idempotency_key_reused``), or the earlier request with that key still running after
    every retry (409, ``idempotency_key_in_use``: send it again later with the same key)."""


class RateLimitError(VinrError):
    """``rate_limit_error``: too many requests (429); ``retry_after`` is in seconds, when given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class SignatureVerificationError(VinrError):
    """A webhook delivery whose signature is missing, malformed, too old or does not match."""


ERRORS_BY_TYPE: dict[str, type[VinrError]] = {
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "card_error": CardError,
    "idempotency_error": IdempotencyError,
    "rate_limit_error": RateLimitError,
    "api_error": APIError,
}


def error_class(error_type: str | None, status: int) -> type[VinrError]:
    """The exception for an error answer: by the API's ``type``, else by the HTTP status
    (an answer from a proxy in front of the API has no ``type``)."""
    if error_type in ERRORS_BY_TYPE:
        return ERRORS_BY_TYPE[error_type]
    if status == 401:
        return AuthenticationError
    if status == 402:
        return CardError
    if status == 429:
        return RateLimitError
    if 400 <= status < 500:
        return InvalidRequestError
    return APIError
