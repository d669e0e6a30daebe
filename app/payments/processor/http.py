"""The live-mode processor: a stripe-like HTTP API reached with ``requests`` (SPEC §6).

Endpoints (JSON in, JSON out, ``Authorization: Bearer <key>``):

- ``POST /v1/payment_methods`` ``{"type": "card", "card": {...}}`` ->
  ``{"id": "pm_…", "card": {"brand", "last4", "exp_month", "exp_year", "fingerprint"}}``
- ``POST /v1/payment_intents`` ``{"amount", "currency", "payment_method", "confirm": true,
  "off_session", "return_url"}`` -> a payment intent
- ``POST /v1/payment_intents/{id}/confirm`` -> a payment intent
- ``POST /v1/refunds`` ``{"payment_intent", "amount", "reason"}`` -> a refund
- ``GET /v1/refunds/{id}`` -> a refund (what became of one that was ``pending``)

A payment intent is ``{"id": "pi_…", "status": "succeeded" | "requires_action" |
"requires_payment_method", "next_action": {"redirect_to_url": {"url"}},
"last_payment_error": {"code", "decline_code", "message"}}``. A decline may also
arrive as HTTP 402 ``{"error": {"type": "card_error", "code", "decline_code",
"message", "payment_intent": {"id"}}}``. A refund is ``{"id": "re_…", "status":
"succeeded" | "pending" | "failed" | "canceled", "failure_reason"}``.

Every call carries the caller's idempotency key, unchanged across retries, so a
retry after a lost response can never charge twice. Only connection errors,
timeouts and 5xx answers are retried; anything else is an answer.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from app.errors import CardError
from app.payments.processor.base import (
    CardDetails,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    ConfirmRequest,
    ProcessorError,
    RefundRequest,
    RefundResult,
    RefundResultStatus,
    SetupRequest,
    TokenizedCard,
)

_KNOWN_BRANDS = frozenset({"visa", "mastercard", "amex", "discover", "diners", "jcb", "unionpay"})
# A run of 12+ digits, possibly grouped: what a PAN looks like inside free text.
_PAN_LIKE = re.compile(r"\d(?:[ \-]?\d){11,}")
_SAFE_ID = re.compile(r"[A-Za-z0-9_\-]{1,255}")
# What is persisted must fit its column (app/payments/models.py): an id, code,
# message or URL that does not is garbage to normalize here, or the write of
# the outcome would fail on PostgreSQL every time the attempt is resent.
_STORED_ID = re.compile(r"[A-Za-z0-9_\-]{1,128}")  # processor_id, processor_ref
_CODE = re.compile(r"[A-Za-z0-9_\-.]{1,64}")  # failure_code, decline_code
_MAX_MESSAGE = 500  # failure_message
_MAX_URL = 2000  # action_url
_MAX_FINGERPRINT = 64

# Errors after which the request may or may not have reached the processor.
# The idempotency key makes resending it safe.
_TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    requests.exceptions.ConnectionError,  # includes ConnectTimeout
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class HttpProcessor:
    """The :class:`~app.payments.processor.base.Processor` for live mode.

    ``max_retries`` counts resends after the first attempt. The wait before
    resend *n* (0-based) is ``backoff * 2**n`` seconds, jittered between half
    and all of it so that workers failing together do not retry together.
    ``session`` and ``sleep`` exist for tests.
    """

    name = "http"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.2,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if urlsplit(base_url).scheme not in {"http", "https"}:
            raise ValueError("HttpProcessor base_url must be an http(s) URL")
        if not api_key:
            raise ValueError("HttpProcessor needs an api_key")
        if timeout <= 0 or max_retries < 0 or backoff < 0:
            raise ValueError("HttpProcessor needs timeout > 0, max_retries >= 0 and backoff >= 0")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep

    def __repr__(self) -> str:
        # Never the key: reprs end up in logs and tracebacks.
        return f"HttpProcessor(base_url={self.base_url!r})"

    # -- the Processor protocol ------------------------------------------------

    def tokenize(self, card: CardDetails, *, idempotency_key: str) -> TokenizedCard:
        """Store a validated card with the processor.

        Raises CardError when the processor refuses the card (402), with the
        processor's code and message, scrubbed of card data. Raises
        ProcessorError when no usable answer was obtained.
        """
        payload: dict[str, Any] = {
            "type": "card",
            "card": {
                "number": card.number,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
                "cvc": card.cvc,
            },
        }
        if card.name:
            payload["billing_details"] = {"name": card.name}
        sensitive = (card.number, card.cvc)
        status, body = self._post("/v1/payment_methods", payload, idempotency_key, sensitive)
        if status == 402:
            error = _card_error(body)
            param = error.get("param")
            raise CardError(
                _redact(_opt_str(error.get("message")) or "Your card was declined.", sensitive),
                code=_opt_str(error.get("code")) or "card_declined",
                decline_code=_opt_str(error.get("decline_code")),
                param=f"card[{param}]" if param in {"number", "exp_month", "exp_year", "cvc"} else None,
            )
        pm_id = _required_str(body, "id")
        details = body.get("card")
        if not isinstance(details, dict) or not _STORED_ID.fullmatch(pm_id):
            raise _invalid_response()
        fingerprint = _required_str(details, "fingerprint")
        if len(fingerprint) > _MAX_FINGERPRINT or _storable(fingerprint) != fingerprint:
            raise _invalid_response()
        brand = _required_str(details, "brand").lower()
        last4 = _required_str(details, "last4")
        if not re.fullmatch(r"[0-9]{4}", last4):
            raise _invalid_response()
        return TokenizedCard(
            processor_ref=pm_id,
            brand=brand if brand in _KNOWN_BRANDS else "unknown",
            last4=last4,
            exp_month=_required_int(details, "exp_month"),
            exp_year=_required_int(details, "exp_year"),
            fingerprint=fingerprint,
        )

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm a payment intent. Declines are FAILED results.

        Raises ProcessorError when no usable answer was obtained.
        """
        payload: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency,
            "payment_method": request.processor_ref,
            "confirm": True,
            "off_session": request.off_session,
        }
        if request.return_url is not None:
            payload["return_url"] = request.return_url
        if request.description is not None:
            payload["description"] = request.description
        status, body = self._post("/v1/payment_intents", payload, request.idempotency_key)
        return self._intent_result(status, body)

    def confirm(self, request: ConfirmRequest) -> ChargeResult:
        """Confirm a payment intent that required action, once the customer is back.

        ``challenge_passed`` is ignored: the processor ran the challenge and
        knows its outcome. Raises ProcessorError when no usable answer was
        obtained, or for an id that cannot be a processor id.
        """
        if not _SAFE_ID.fullmatch(request.processor_id):
            raise ProcessorError("Invalid payment id.", code="processor_invalid_request")
        path = f"/v1/payment_intents/{quote(request.processor_id, safe='')}/confirm"
        status, body = self._post(path, {}, request.idempotency_key)
        return self._intent_result(status, body)

    def setup(self, request: SetupRequest) -> ChargeResult:
        """Create and confirm a setup intent for off-session use of a saved card."""
        payload: dict[str, Any] = {"payment_method": request.processor_ref, "confirm": True,
                                   "usage": "off_session"}
        if request.return_url is not None:
            payload["return_url"] = request.return_url
        status, body = self._post("/v1/setup_intents", payload, request.idempotency_key)
        return self._intent_result(status, body)

    def confirm_setup(self, request: ConfirmRequest) -> ChargeResult:
        """Confirm a setup intent after the customer's challenge."""
        if not _SAFE_ID.fullmatch(request.processor_id):
            raise ProcessorError("Invalid setup id.", code="processor_invalid_request")
        path = f"/v1/setup_intents/{quote(request.processor_id, safe='')}/confirm"
        status, body = self._post(path, {}, request.idempotency_key)
        return self._intent_result(status, body)

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund (part of) a payment intent. A refund the processor refuses to make is a
        FAILED result with its ``failure_reason``.

        Raises ProcessorError when no usable answer was obtained, or for a payment id that
        cannot be a processor id; a 4xx refusal of the request (an intent already refunded,
        say) is ProcessorError ``processor_invalid_request``, as for charges.
        """
        if not _SAFE_ID.fullmatch(request.payment_processor_id):
            raise ProcessorError("Invalid payment id.", code="processor_invalid_request")
        payload: dict[str, Any] = {"payment_intent": request.payment_processor_id, "amount": request.amount}
        if request.reason is not None:
            payload["reason"] = request.reason
        status, body = self._post("/v1/refunds", payload, request.idempotency_key)
        return self._refund_result(status, body)

    def retrieve_refund(self, processor_id: str) -> RefundResult:
        """Read a refund again (one that answered PENDING). Raises ProcessorError when no
        usable answer was obtained, or for an id that cannot be a processor id."""
        if not _SAFE_ID.fullmatch(processor_id):
            raise ProcessorError("Invalid refund id.", code="processor_invalid_request")
        status, body = self._send("GET", f"/v1/refunds/{quote(processor_id, safe='')}", None, None)
        return self._refund_result(status, body)

    # -- helpers ----------------------------------------------------------------

    def _post(
        self,
        path: str,
        payload: Mapping[str, Any],
        idempotency_key: str,
        sensitive: Iterable[str] = (),
    ) -> tuple[int, dict[str, Any]]:
        """POST with retries; return a 2xx or 402 status and its JSON object (``_send``)."""
        return self._send("POST", path, payload, idempotency_key, sensitive)

    def _send(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        idempotency_key: str | None,
        sensitive: Iterable[str] = (),
    ) -> tuple[int, dict[str, Any]]:
        """Send with retries; return a 2xx or 402 status and its JSON object. A POST carries
        its idempotency key; a GET changes nothing and needs none.

        Raises ProcessorError after ``max_retries`` resends that all failed
        transiently, for any other 4xx (with the processor's message, scrubbed
        of ``sensitive`` and anything PAN-like), or for a body that is not a
        JSON object. A refusal that says nothing about the charge (see
        _says_nothing) is ``processor_unavailable``: the outcome is unknown.
        """
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        if idempotency_key is not None:
            # Identical on every resend: that is what makes resending safe.
            headers["Idempotency-Key"] = idempotency_key
        failure = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                delay = self.backoff * 2 ** (attempt - 1)
                self._sleep(delay / 2 + random.uniform(0, delay / 2))  # noqa: S311 - jitter, not crypto
            try:
                response = self._session.request(method, url, json=payload, headers=headers, timeout=self.timeout)
            except _TRANSIENT_ERRORS as exc:
                # Keep only the class name: the exception holds the prepared
                # request, whose body may be a card number and CVC.
                failure = type(exc).__name__
                continue
            except requests.exceptions.RequestException as exc:
                failure = type(exc).__name__
                break
            status = response.status_code
            if status >= 500:
                failure = f"HTTP {status}"
                continue
            body = _json_object(response)
            if 200 <= status < 300 or status == 402:  # 402: a card error, an answer
                if body is None:
                    raise _invalid_response()
                return status, body
            if _says_nothing(status, body, resent=bool(failure)):
                raise ProcessorError(f"The card processor gave no clear answer ({failure or 'first send'}, "
                                     f"then HTTP {status}).", code="processor_unavailable")
            raise _refused(status, body, sensitive)
        # Raised outside the except blocks so the request exception (and the
        # card data in its request body) is not chained onto ours.
        raise ProcessorError(f"The card processor could not be reached ({failure}).")

    def _refund_result(self, status: int, body: dict[str, Any]) -> RefundResult:
        if status == 402:  # a refund is no card payment: a card error here is nonsense
            raise _invalid_response()
        refund_id = _required_str(body, "id")
        if not _STORED_ID.fullmatch(refund_id):
            raise _invalid_response()
        try:
            refund_status = RefundResultStatus(str(body.get("status")))
        except ValueError:  # "requires_action" and the like: not an outcome this boundary can express
            raise _invalid_response() from None
        if refund_status in (RefundResultStatus.FAILED, RefundResultStatus.CANCELED):
            reason = _code(body.get("failure_reason")) or ("unknown" if refund_status is RefundResultStatus.FAILED
                                                           else None)
            return RefundResult(status=refund_status, processor_id=refund_id, failure_reason=reason)
        return RefundResult(status=refund_status, processor_id=refund_id)

    def _intent_result(self, status: int, body: dict[str, Any]) -> ChargeResult:
        if status == 402:
            error = _card_error(body)
            intent = error.get("payment_intent")
            intent_id = _opt_str(intent.get("id")) if isinstance(intent, dict) else None
            # The decline is the answer; an id we cannot keep is dropped.
            return _failed(intent_id if intent_id and _STORED_ID.fullmatch(intent_id) else None, error)
        intent_id = _required_str(body, "id")
        if not _STORED_ID.fullmatch(intent_id):
            raise _invalid_response()
        intent_status = body.get("status")
        if intent_status == "succeeded":
            return ChargeResult(status=ChargeStatus.SUCCEEDED, processor_id=intent_id)
        if intent_status == "requires_action":
            next_action = body.get("next_action")
            redirect = next_action.get("redirect_to_url") if isinstance(next_action, dict) else None
            url = redirect.get("url") if isinstance(redirect, dict) else None
            if not isinstance(url, str) or not url or len(url) > _MAX_URL \
                    or _scheme(url) not in {"http", "https"} or _storable(url) != url:
                raise _invalid_response()
            return ChargeResult(status=ChargeStatus.REQUIRES_ACTION, processor_id=intent_id, action_url=url)
        if intent_status == "requires_payment_method":
            last_error = body.get("last_payment_error")
            return _failed(intent_id, last_error if isinstance(last_error, dict) else {})
        # "processing", "canceled", ...: not an outcome this boundary can express.
        raise _invalid_response()


def _failed(intent_id: str | None, error: Mapping[str, Any]) -> ChargeResult:
    failure_code = _code(error.get("code")) or "card_declined"
    decline_code = _code(error.get("decline_code"))
    return ChargeResult(
        status=ChargeStatus.FAILED,
        processor_id=intent_id,
        failure_code=failure_code,
        decline_code=decline_code,
        failure_message=_redact(_opt_str(error.get("message")) or "Your card was declined.", ())[:_MAX_MESSAGE],
        # Only a processor-side hiccup may go away by itself; a decline needs
        # the customer (new card, funds, authentication).
        retryable=failure_code == "processing_error" or decline_code == "try_again_later",
    )


def _card_error(body: Mapping[str, Any]) -> dict[str, Any]:
    error = body.get("error")
    if not isinstance(error, dict) or error.get("type") != "card_error":
        raise _invalid_response()
    return error


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is anything else."""
    try:
        body = response.json()
    except (ValueError, RecursionError):  # requests' JSONDecodeError, or nesting too deep to parse
        return None
    return body if isinstance(body, dict) else None


def _scheme(url: str) -> str | None:
    try:
        return urlsplit(url).scheme
    except ValueError:  # e.g. "http://[bad": not a URL we can send a customer to
        return None


def _says_nothing(status: int, body: Mapping[str, Any] | None, *, resent: bool) -> bool:
    """Whether a refusal leaves the charge's outcome unknown. A processor replays its first
    answer to a key, so most refusals are about the charge itself, even after a resend. Not
    these: 409 (the key's first request is still running), an idempotency error (the key
    met other parameters), and, after a send that may have got through, a rate limit or a
    refusal of our credentials (neither is about the charge)."""
    error = body.get("error") if body is not None else None
    kind = error.get("type") if isinstance(error, dict) else None
    return status == 409 or kind == "idempotency_error" or (resent and status in (401, 403, 429))


def _refused(status: int, body: Mapping[str, Any] | None, sensitive: Iterable[str]) -> ProcessorError:
    """The error for a 4xx other than 402 (or an unexpected 1xx/3xx)."""
    error = body.get("error") if body is not None else None
    message = _opt_str(error.get("message")) if isinstance(error, dict) else None
    if status in (401, 403):
        code = "processor_authentication_failed"  # our key is wrong or revoked
    elif status == 429:
        code = "processor_rate_limited"  # not processed: says nothing about an earlier send of this key
    elif 400 <= status < 500:
        code = "processor_invalid_request"
    else:
        code = "processor_invalid_response"
    detail = _redact(message, sensitive) if message else f"HTTP {status}"
    return ProcessorError(f"The card processor refused the request: {detail}", code=code)


def _required_str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise _invalid_response()
    return value


def _required_int(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid_response()
    return value


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _code(value: object) -> str | None:
    """A processor's error code, if it is one we can keep (else None)."""
    return value if isinstance(value, str) and _CODE.fullmatch(value) else None


def _redact(text: str, sensitive: Iterable[str]) -> str:
    """Remove anything that looks like a card number, and the given sensitive.

    A processor's message is shown to customers and logged; it must not echo
    the card back even if the processor does.
    """
    text = _PAN_LIKE.sub("[redacted]", _storable(text))
    for secret in sensitive:
        if secret:
            text = re.sub(rf"(?<![0-9]){re.escape(secret)}(?![0-9])", "[redacted]", text)
    return text


def _storable(text: str) -> str:
    """``text`` without what no database of ours stores: NUL, and half a surrogate pair
    (JSON can escape both). Unchecked, either failed the outcome's write: a 500, and the
    invoice held by a payment left "processing"."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _invalid_response() -> ProcessorError:
    return ProcessorError(
        "The card processor sent an answer that could not be understood.",
        code="processor_invalid_response",
    )
