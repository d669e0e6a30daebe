# Generated from vinr/_async/client.py by tools/make_sync.py: edit that file and run the tool again,
# do not edit this one.
from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from vinr import _http, _retry
from vinr._sync.pagination import Page
from vinr._sync.resources import (
    Account,
    BankStatements,
    BankTransactions,
    Coupons,
    CreditNotes,
    Customers,
    Events,
    InvoiceItems,
    Invoices,
    OpenAPI,
    Payments,
    Prices,
    Refunds,
    TaxRates,
    TestHelpers,
    WebhookEndpoints,
)
from vinr.errors import APIConnectionError
from vinr.webhooks import Webhooks


class Vinr:
    """A client of the VINR API for one secret key (``sk_test_…`` or ``sk_live_…``).

    ``secret_key`` defaults to ``$VINR_API_KEY`` and ``base_url`` to ``$VINR_BASE_URL``
    (else ``http://127.0.0.1:5000``, what ``./scripts/run`` serves). ``timeout`` is
    in seconds per attempt (default 60); ``max_retries`` is how many times a failed
    request that is safe to repeat is sent again (see :mod:`vinr._retry`).
    ``http_client`` lets you bring your own configured ``httpx`` client (proxies,
    certificates, its own timeout, which ``timeout`` overrides only when given); the
    SDK then leaves closing it to you.

    Use it as a context manager, or call ``close()``, to release its connections.
    """

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._secret_key = _http.resolve_key(secret_key)
        self.base_url = _http.resolve_base_url(base_url)
        self.retry_policy = _retry.RetryPolicy(max_retries=max_retries)
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(
            timeout=_http.DEFAULT_TIMEOUT if timeout is None else timeout)
        # Per request only when given: a caller's http_client keeps its own timeout otherwise.
        self._timeout = httpx.USE_CLIENT_DEFAULT if timeout is None else timeout
        self.customers = Customers(self)
        self.credit_notes = CreditNotes(self)
        self.prices = Prices(self)
        self.coupons = Coupons(self)
        self.tax_rates = TaxRates(self)
        self.invoice_items = InvoiceItems(self)
        self.invoices = Invoices(self)
        self.payments = Payments(self)
        self.refunds = Refunds(self)
        self.bank_statements = BankStatements(self)
        self.bank_transactions = BankTransactions(self)
        self.events = Events(self)
        self.webhook_endpoints = WebhookEndpoints(self)
        self.account = Account(self)
        self.test_helpers = TestHelpers(self)
        self.openapi = OpenAPI(self)
        self.webhooks = Webhooks()

    def __repr__(self) -> str:
        mode = "live" if self._secret_key.startswith("sk_live_") else "test"
        return f"<{type(self).__name__} {mode} mode at {self.base_url}>"  # never the key

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Vinr:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.close()

    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                       idempotency_key: str | None = None, document: bool = False, xml: bytes | None = None) -> Any:
        """Send one API call, retrying it as :mod:`vinr._retry` allows; the decoded JSON answer
        (``document``: the answer's bytes, for the endpoints that answer a file). ``xml``: the
        body to send as application/xml instead of ``params`` as JSON (a bank statement).

        Raises the :mod:`vinr.errors` class of the API's error type, or
        ``APIConnectionError`` when no answer came after the last try.
        """
        # Built once: every retry sends the same bytes with the same Idempotency-Key.
        headers = _http.headers(self._secret_key, method, idempotency_key)
        if xml is not None:
            headers["Content-Type"] = "application/xml"
        request = self._http.build_request(
            method, self.base_url + path,
            params=_http.query(params) if method != "POST" else None,
            content=xml if xml is not None else _http.body(method, params),
            headers=headers,
            timeout=self._timeout,
        )
        policy = self.retry_policy
        retries = 0
        while True:
            try:
                response = self._http.send(request)
            except httpx.TransportError as error:
                delay = policy.delay(retries) if policy.retries_exception(method, error) else None
                if delay is None:
                    raise APIConnectionError(
                        f"no answer from {self.base_url} to {method} {path} after {retries + 1} "
                        f"attempt(s): {type(error).__name__}: {error}") from error
            else:
                status = response.status_code
                code = None if response.is_success else _http.error_code(response)
                delay = None
                if policy.retries_response(method, status, code):
                    delay = policy.delay(retries, _retry.parse_retry_after(response.headers.get("Retry-After")))
                if delay is None:
                    return _http.content(response) if document else _http.decode(response)
            retries += 1
            _retry.sleep(delay)

    def _list(self, path: str, params: Mapping[str, Any]) -> Page[Any]:
        return Page(self._request("GET", path, params=params), client=self, path=path, params=params)
