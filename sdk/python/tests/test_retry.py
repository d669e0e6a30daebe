"""The retry policy, alone and as the clients apply it (httpx.MockTransport, no server)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

import vinr
from vinr import _retry
from vinr._retry import RetryPolicy, parse_retry_after


def error(status: int, type_: str, code: str, **extra: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"type": type_, "code": code, "message": f"{code}!"}},
                          headers=extra)


INVOICE = {"id": "inv_1", "object": "invoice", "status": "draft"}


@pytest.fixture()
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between tries, recorded instead of waited."""
    waits: list[float] = []
    monkeypatch.setattr(_retry, "sleep", waits.append)

    async def async_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(_retry, "async_sleep", async_sleep)
    return waits


class Script:
    """Answers one request after another from a list; records what was sent."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def keys(self) -> list[str | None]:
        return [request.headers.get("Idempotency-Key") for request in self.requests]


@pytest.fixture()
def client() -> Iterator[Callable[..., vinr.Vinr]]:
    made: list[vinr.Vinr] = []

    def make(script: Script, max_retries: int = 2) -> vinr.Vinr:
        made.append(vinr.Vinr("sk_test_x", base_url="http://vinr.test", max_retries=max_retries,
                              http_client=httpx.Client(transport=httpx.MockTransport(script))))
        return made[-1]

    yield make
    for each in made:
        each._http.close()


# --------------------------------------------------------------------------- the policy alone

@pytest.mark.parametrize(("method", "status", "code", "retried"), [
    ("POST", 500, None, True),
    ("POST", 503, "processor_not_configured", False),  # live mode without a processor: nothing ran
    ("POST", 503, "service_unavailable", True),
    ("GET", 502, None, True),
    ("POST", 429, "rate_limited", True),
    ("GET", 429, None, True),
    ("POST", 409, "idempotency_key_in_use", True),
    ("POST", 409, "invalid_state", False),  # the invoice's status: retrying changes nothing
    ("POST", 400, "parameter_invalid", False),
    ("POST", 402, "card_declined", False),
    ("GET", 404, "resource_missing", False),
    ("GET", 401, "invalid_api_key", False),
    ("DELETE", 500, None, False),  # no Idempotency-Key protects a DELETE
    ("DELETE", 429, None, False),
])
def test_which_answers_are_retried(method: str, status: int, code: str | None, retried: bool) -> None:
    assert RetryPolicy().retries_response(method, status, code) is retried


@pytest.mark.parametrize(("method", "error", "retried"), [
    ("POST", httpx.RemoteProtocolError("Server disconnected"), True),
    ("POST", httpx.ReadTimeout("slow"), True),
    ("GET", httpx.ReadError("reset"), True),
    ("DELETE", httpx.ConnectError("refused"), True),  # never reached the server
    ("DELETE", httpx.ReadTimeout("slow"), False),  # may have been deleted already
    ("POST", httpx.UnsupportedProtocol("ftp://"), False),
])
def test_which_connection_failures_are_retried(method: str, error: Exception, retried: bool) -> None:
    assert RetryPolicy().retries_exception(method, error) is retried


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=0.5, max_delay=8.0)
    lowest = [policy.delay(n, rand=lambda: 0.0) for n in range(6)]
    highest = [policy.delay(n, rand=lambda: 1.0) for n in range(6)]
    assert highest == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert lowest == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]  # jitter takes off at most half


def test_retry_after_is_waited_at_least_and_a_long_one_is_not_waited_out() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.delay(0, retry_after=7, rand=lambda: 1.0) == 7
    assert policy.delay(0, retry_after=3600) is None


def test_no_delay_once_the_retries_are_spent() -> None:
    assert RetryPolicy(max_retries=2).delay(2) is None
    assert RetryPolicy(max_retries=0).delay(0) is None
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("12") == 12
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490) == 0  # already past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# --------------------------------------------------------------------------- as the client applies it

def test_a_post_is_retried_after_5xx_with_the_same_generated_key(client, slept: list[float]) -> None:
    script = Script(error(503, "api_error", "service_unavailable"), httpx.RemoteProtocolError("gone"),
                    httpx.Response(200, json=INVOICE))
    invoice = client(script).invoices.create(customer="cust_1")
    assert invoice.id == "inv_1"
    assert len(script.requests) == 3 and len(slept) == 2
    assert script.keys[0] and script.keys[0].startswith("vinr-python-")
    assert len(set(script.keys)) == 1, "every retry must carry the first try's Idempotency-Key"
    assert {request.content for request in script.requests} == {b'{"customer":"cust_1"}'}


def test_each_call_gets_its_own_key_and_a_given_key_is_used(client, slept: list[float]) -> None:
    script = Script(*(httpx.Response(200, json=INVOICE) for _ in range(3)))
    api = client(script)
    api.invoices.finalize("inv_1")
    api.invoices.finalize("inv_1")
    api.invoices.finalize("inv_1", idempotency_key="order-42-finalize")
    assert script.keys[0] != script.keys[1]
    assert script.keys[2] == "order-42-finalize"


def test_429_waits_for_retry_after(client, slept: list[float]) -> None:
    script = Script(error(429, "rate_limit_error", "rate_limited", **{"Retry-After": "3"}),
                    httpx.Response(200, json=INVOICE))
    client(script).invoices.retrieve("inv_1")
    assert slept == [3.0]


def test_a_rate_limit_that_outlasts_the_retries_is_raised_with_retry_after(client, slept: list[float]) -> None:
    script = Script(*(error(429, "rate_limit_error", "rate_limited", **{"Retry-After": "1"}) for _ in range(3)))
    with pytest.raises(vinr.RateLimitError) as raised:
        client(script).invoices.retrieve("inv_1")
    assert raised.value.retry_after == 1 and raised.value.http_status == 429
    assert len(script.requests) == 3


def test_409_in_flight_waits_for_retry_after(client, slept: list[float]) -> None:
    script = Script(error(409, "idempotency_error", "idempotency_key_in_use", **{"Retry-After": "2"}),
                    httpx.Response(200, json=INVOICE))
    assert client(script).invoices.pay("inv_1").id == "inv_1"
    assert slept == [2.0] and script.keys[0] == script.keys[1]


def test_409_in_flight_is_retried_and_409_for_a_status_is_not(client, slept: list[float]) -> None:
    script = Script(error(409, "idempotency_error", "idempotency_key_in_use"), httpx.Response(200, json=INVOICE),
                    error(409, "invalid_request_error", "invalid_state"))
    api = client(script)
    assert api.invoices.pay("inv_1").id == "inv_1"
    with pytest.raises(vinr.InvalidRequestError) as raised:
        api.invoices.void("inv_1")
    assert raised.value.code == "invalid_state" and raised.value.http_status == 409
    assert len(script.requests) == 3


@pytest.mark.parametrize("answer", [
    error(400, "invalid_request_error", "parameter_invalid"),
    error(402, "card_error", "incorrect_number"),
    error(401, "authentication_error", "invalid_api_key"),
    error(404, "invalid_request_error", "resource_missing"),
])
def test_client_errors_are_raised_at_once(client, slept: list[float], answer: httpx.Response) -> None:
    script = Script(answer)
    with pytest.raises(vinr.VinrError):
        client(script).customers.create(email="jenny@example.com")
    assert len(script.requests) == 1 and slept == []


def test_a_delete_is_not_retried_after_an_answer(client, slept: list[float]) -> None:
    script = Script(error(500, "api_error", "internal"))
    with pytest.raises(vinr.APIError):
        client(script).customers.delete("cust_1")
    assert len(script.requests) == 1
    assert "Idempotency-Key" not in script.requests[0].headers


def test_no_answer_after_the_last_try_is_an_api_connection_error(client, slept: list[float]) -> None:
    script = Script(*(httpx.ConnectError("refused") for _ in range(3)))
    with pytest.raises(vinr.APIConnectionError) as raised:
        client(script).customers.list()
    assert len(script.requests) == 3 and len(slept) == 2
    assert "3 attempt(s)" in str(raised.value)


def test_max_retries_zero_tries_once(client, slept: list[float]) -> None:
    script = Script(error(503, "api_error", "service_unavailable"))
    with pytest.raises(vinr.APIError):
        client(script, max_retries=0).customers.list()
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_the_async_client_retries_the_same_way(slept: list[float]) -> None:
    script = Script(error(503, "api_error", "service_unavailable"), httpx.ReadTimeout("slow"),
                    httpx.Response(200, json=INVOICE))
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as http:
        api = vinr.AsyncVinr("sk_test_x", base_url="http://vinr.test", http_client=http)
        invoice = await api.invoices.create(customer="cust_1")
    assert invoice.id == "inv_1" and len(slept) == 2 and len(set(script.keys)) == 1


def test_an_error_answer_that_is_not_json_is_still_an_error_by_status(client, slept: list[float]) -> None:
    script = Script(httpx.Response(404, text="<html>not here</html>"))
    with pytest.raises(vinr.InvalidRequestError) as raised:
        client(script).customers.retrieve("cust_1")
    assert raised.value.http_status == 404 and raised.value.code is None


def test_the_request_is_the_apis_form(client, slept: list[float]) -> None:
    script = Script(httpx.Response(200, json={"object": "list", "data": [], "has_more": False, "url": "/v1/invoices"}))
    client(script).invoices.list(status="open", created={"gte": 10, "lte": 20}, expand=["customer"], limit=5)
    request = script.requests[0]
    assert request.headers["X-Api-Key"] == "sk_test_x"
    assert request.headers["User-Agent"].startswith("vinr-python/")
    assert sorted(request.url.params.multi_items()) == [
        ("created[gte]", "10"), ("created[lte]", "20"), ("expand[]", "customer"), ("limit", "5"), ("status", "open")]


def test_an_empty_id_is_refused_before_any_request(client, slept: list[float]) -> None:
    script = Script()
    with pytest.raises(ValueError):
        client(script).customers.retrieve("")
    assert script.requests == []


def test_results_and_other_mappings_and_sequences_are_sent_back_as_json(client, slept: list[float]) -> None:
    customer = vinr.Customer({"id": "cust_1", "object": "customer", "metadata": {"crm_id": "4711"},
                              "address": {"city": "Berlin", "country": "DE"}})
    lines: vinr.ListObject[vinr.LineItem] = vinr.ListObject(
        {"object": "list", "data": [{"id": "il_1", "object": "line_item"}], "has_more": False})
    script = Script(*(httpx.Response(200, json={"id": "cust_2", "object": "customer"}) for _ in range(2)))
    api = client(script)
    api.customers.create(address=customer.address, metadata=customer.metadata)
    api.customers.update("cust_2", preferred_locales=("de", "en"),
                         metadata={"lines": lines, "ids": range(2)})
    assert [json.loads(request.content) for request in script.requests] == [
        {"address": {"city": "Berlin", "country": "DE"}, "metadata": {"crm_id": "4711"}},
        {"preferred_locales": ["de", "en"],
         "metadata": {"lines": {"object": "list", "data": [{"id": "il_1", "object": "line_item"}],
                                "has_more": False}, "ids": [0, 1]}},
    ]


def test_a_value_json_cannot_write_is_refused_by_its_type(client, slept: list[float]) -> None:
    script = Script()
    with pytest.raises(TypeError, match="bytes cannot be sent as JSON"):
        client(script).customers.create(name=b"Jenny")
    assert script.requests == []


def test_an_errors_headers_are_read_by_name_in_any_case(client, slept: list[float]) -> None:
    script = Script(error(429, "rate_limit_error", "rate_limited", **{"Retry-After": "3600", "Request-Id": "req_1"}))
    with pytest.raises(vinr.RateLimitError) as raised:
        client(script).customers.list()
    headers = raised.value.headers
    assert headers["Retry-After"] == headers["retry-after"] == "3600"
    assert headers.get("Request-Id") == headers.get("REQUEST-ID") == "req_1" == raised.value.request_id
    assert vinr.VinrError("x", headers={"Retry-After": "1"}).headers["retry-after"] == "1"
    assert dict(vinr.VinrError("x").headers) == {}


def test_503_processor_not_configured_is_raised_at_once(client, slept: list[float]) -> None:
    script = Script(error(503, "api_error", "processor_not_configured"))
    with pytest.raises(vinr.APIError) as raised:
        client(script).invoices.pay("inv_1")
    assert raised.value.code == "processor_not_configured"
    assert len(script.requests) == 1 and slept == []


def test_409_in_flight_after_every_retry_says_the_earlier_request_is_still_running(client, slept: list[float]) -> None:
    script = Script(*(error(409, "idempotency_error", "idempotency_key_in_use") for _ in range(3)))
    with pytest.raises(vinr.IdempotencyError) as raised:
        client(script).invoices.pay("inv_1", idempotency_key="order-42-pay")
    assert len(script.requests) == 3 and len(slept) == 2
    assert raised.value.code == "idempotency_key_in_use" and raised.value.http_status == 409
    assert raised.value.message.startswith("the earlier request with this Idempotency-Key is still running")


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
@pytest.mark.anyio
async def test_the_async_client_waits_between_retries_under_asyncio_and_trio(anyio_backend: str) -> None:
    script = Script(error(503, "api_error", "service_unavailable"), httpx.Response(200, json=INVOICE))
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as http:
        api = vinr.AsyncVinr("sk_test_x", base_url="http://vinr.test", http_client=http)
        api.retry_policy = RetryPolicy(initial_delay=0.001, max_delay=0.001)
        assert (await api.invoices.retrieve("inv_1")).id == "inv_1"
    assert len(script.requests) == 2


def test_a_given_http_client_keeps_its_own_timeout_unless_timeout_is_passed() -> None:
    def timeouts(**kwargs: float) -> dict[str, float]:
        script = Script(httpx.Response(200, json=INVOICE))
        with httpx.Client(timeout=5.0, transport=httpx.MockTransport(script)) as http:
            vinr.Vinr("sk_test_x", base_url="http://vinr.test", http_client=http, **kwargs).invoices.retrieve("inv_1")
        timeout: dict[str, float] = script.requests[0].extensions["timeout"]
        return timeout

    assert timeouts() == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
    assert timeouts(timeout=7.0) == {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0}
    with vinr.Vinr("sk_test_x", base_url="http://vinr.test") as own:
        assert own._http.timeout == httpx.Timeout(60.0)
