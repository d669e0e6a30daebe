"""A refused endpoint URL tells the merchant one sentence, never what our DNS says (SPEC §4):
the reason is in the server log."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conftest import Api, Merchant
from tests.webhooks.conftest import FakeDNS

LIVE_REFUSAL = "The URL must be a public https URL."
TEST_REFUSAL = "The URL must be a public http or https URL (test mode also accepts loopback addresses)."

# Each URL and what the server log says about it.
REFUSED_LIVE = [
    ("https://vm/hooks", "vm resolves to 127.0.0.1"),
    ("https://db.internal/hooks", "db.internal resolves to 10.0.0.7, a private address"),
    ("https://gone.internal/hooks", "gone.internal could not be resolved"),
    ("https://10.0.0.7/hooks", "10.0.0.7 is a private address"),
    ("https://169.254.169.254/latest/meta-data", "cloud metadata"),
    ("http://hooks.example.com/hooks", "must use https"),
    ("https://hooks.example.com/hooks#top", "fragment"),
]


@pytest.fixture()
def internal_dns(dns: FakeDNS) -> FakeDNS:
    dns.answer("vm", "127.0.0.1")
    dns.answer("db.internal", "10.0.0.7")
    dns.answer("hooks.example.com", "93.184.215.14")
    return dns


def refusal(response: Any) -> str:
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["param"], error["code"]) == ("url", "url_invalid")
    return str(error["message"])


@pytest.mark.parametrize(("url", "logged"), REFUSED_LIVE)
def test_every_live_refusal_says_the_same_and_logs_why(merchant: Merchant, internal_dns: FakeDNS,
                                                       caplog: pytest.LogCaptureFixture, url: str,
                                                       logged: str) -> None:
    with caplog.at_level(logging.WARNING, logger="app.webhooks.addresses"):
        message = refusal(merchant.live.post("/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]}))

    assert message == LIVE_REFUSAL
    assert logged in caplog.text


def test_an_update_to_an_internal_name_says_the_same(merchant: Merchant, internal_dns: FakeDNS,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    made = merchant.live.ok("POST", "/v1/webhook_endpoints", {"url": "https://hooks.example.com/hooks",
                                                              "enabled_events": ["*"]})
    with caplog.at_level(logging.WARNING, logger="app.webhooks.addresses"):
        message = refusal(merchant.live.post(f"/v1/webhook_endpoints/{made['id']}", {"url": "https://vm/hooks"}))

    assert message == LIVE_REFUSAL
    assert "vm resolves to 127.0.0.1" in caplog.text
    assert merchant.live.ok("GET", f"/v1/webhook_endpoints/{made['id']}")["url"] == "https://hooks.example.com/hooks"


def test_a_test_mode_refusal_says_nothing_of_the_address_either(api: Api, internal_dns: FakeDNS) -> None:
    for url in ("http://db.internal/hooks", "http://10.0.0.7/hooks", "ftp://hooks.example.com/"):
        assert refusal(api.post("/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})) == TEST_REFUSAL


def test_a_delivery_refused_at_send_time_lists_the_same_sentence(api: Api, internal_dns: FakeDNS, run_jobs: Any,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    made = api.ok("POST", "/v1/webhook_endpoints", {"url": "http://hooks.example.com/hooks",
                                                    "enabled_events": ["*"]})
    internal_dns.answer("hooks.example.com", "10.0.0.9")  # the name moved after it was saved
    api.ok("POST", "/v1/customers", {"email": "jenny@example.com"})

    with caplog.at_level(logging.WARNING, logger="app.webhooks.delivery"):
        run_jobs()

    [attempt] = api.ok("GET", f"/v1/webhook_endpoints/{made['id']}/deliveries")["data"]
    assert attempt["succeeded"] is False
    assert attempt["error"] == f"address_blocked: {TEST_REFUSAL}"
    assert "hooks.example.com resolves to 10.0.0.9, a private address" in caplog.text
