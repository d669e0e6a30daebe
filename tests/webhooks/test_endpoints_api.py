"""The webhook endpoints API: validation and the answers a merchant relies on (SPEC §4)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from app.webhooks import endpoints
from tests.conftest import Api, Merchant


def test_a_live_endpoint_must_be_https_and_public(merchant: Merchant) -> None:
    for url in ("http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.1.2.3/x", "https://[::1]/x"):
        response = merchant.live.post("/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})
        assert response.status_code == 400, url
        assert response.get_json()["error"]["param"] == "url"


def test_a_test_endpoint_may_be_local_http(api: Api) -> None:
    made = api.ok("POST", "/v1/webhook_endpoints", {"url": "http://127.0.0.1:8000/hooks", "enabled_events": ["*"]})
    assert made["url"] == "http://127.0.0.1:8000/hooks" and made["livemode"] is False
    assert api.post("/v1/webhook_endpoints", {"url": "http://169.254.169.254/latest",
                                              "enabled_events": ["*"]}).status_code == 400


@pytest.mark.parametrize("events", [[], ["invoice.exploded"], ["*", "invoice.paid"]])
def test_enabled_events_must_be_known_types(api: Api, events: list[str]) -> None:
    response = api.post("/v1/webhook_endpoints", {"url": "http://127.0.0.1:8000/", "enabled_events": events})
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "enabled_events"


def test_unknown_fields_and_foreign_ids_are_refused(merchant: Merchant, other_merchant: Merchant) -> None:
    made = merchant.test.ok("POST", "/v1/webhook_endpoints", {"url": "http://127.0.0.1:8000/", "enabled_events": ["*"]})
    assert merchant.test.post(f"/v1/webhook_endpoints/{made['id']}", {"colour": "red"}).status_code == 400
    assert other_merchant.test.get(f"/v1/webhook_endpoints/{made['id']}").status_code == 404
    assert merchant.live.get(f"/v1/webhook_endpoints/{made['id']}").status_code == 404
    assert merchant.test.post(f"/v1/webhook_endpoints/{made['id']}/roll_secret",
                              {"expires_in": 30 * 86400}).status_code == 400


def test_a_resend_to_a_disabled_endpoint_says_to_enable_it(api: Api) -> None:
    made = api.ok("POST", "/v1/webhook_endpoints", {"url": "http://127.0.0.1:8000/", "enabled_events": ["*"]})
    api.ok("POST", f"/v1/webhook_endpoints/{made['id']}", {"disabled": True})
    api.ok("POST", "/v1/customers", {"email": "a@example.com"})
    [event] = api.ok("GET", "/v1/events")["data"]
    for path, body in (("recover", {"since": 0}), ("resend", {"event": event["id"]})):
        response = api.post(f"/v1/webhook_endpoints/{made['id']}/{path}", body)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "webhook_endpoint_disabled"


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_broken_lock_cycle_is_a_409_to_retry(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    made = api.ok("POST", "/v1/webhook_endpoints", {"url": "http://127.0.0.1:8000/", "enabled_events": ["*"]})

    def deadlocked(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("UPDATE webhook_endpoints …", {}, _Deadlock("deadlock detected"))

    monkeypatch.setattr(endpoints, "get", deadlocked)
    response = api.post(f"/v1/webhook_endpoints/{made['id']}", {"description": "x"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "concurrent_modification"


def test_an_account_has_at_most_16_endpoints_per_mode(merchant: Merchant, other_merchant: Merchant) -> None:
    made = [merchant.test.ok("POST", "/v1/webhook_endpoints", {"url": f"http://127.0.0.1:8000/{i}",
                                                               "enabled_events": ["*"]})["id"] for i in range(16)]
    merchant.test.ok("POST", f"/v1/webhook_endpoints/{made[0]}", {"disabled": True})  # still counts
    refused = merchant.test.post("/v1/webhook_endpoints", {"url": "http://127.0.0.1:8000/17", "enabled_events": ["*"]})
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "webhook_endpoints_limit"
    assert "at most 16 webhook endpoints in test mode" in error["message"]
    assert len(merchant.test.ok("GET", "/v1/webhook_endpoints?limit=100")["data"]) == 16
    other_merchant.test.ok("POST", "/v1/webhook_endpoints", {"url": "http://127.0.0.1:8000/", "enabled_events": ["*"]})
    merchant.test.ok("DELETE", f"/v1/webhook_endpoints/{made[1]}")
    merchant.test.ok("POST", "/v1/webhook_endpoints", {"url": "http://127.0.0.1:8000/17", "enabled_events": ["*"]})
