from __future__ import annotations

from typing import Any

import pytest


def test_no_key_is_401_with_error_object(client: Any, merchant: Any) -> None:
    response = client.get("/v1/customers")
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["type"] == "authentication_error"
    assert "X-Api-Key" in error["message"]


@pytest.mark.parametrize("key", ["sk_test_nope", "pk_test_123", "garbage"])
def test_wrong_key_is_401(client: Any, merchant: Any, key: str) -> None:
    response = client.get("/v1/customers", headers={"X-Api-Key": key})
    assert response.status_code == 401
    assert response.get_json()["error"]["type"] == "authentication_error"


def test_bearer_header_is_accepted(client: Any, merchant: Any) -> None:
    response = client.get("/v1/customers", headers={"Authorization": f"Bearer {merchant.test_key}"})
    assert response.status_code == 200


def test_key_decides_mode_and_modes_never_see_each_other(merchant: Any) -> None:
    test_cust = merchant.test.ok("POST", "/v1/customers", {"name": "T"})
    live_cust = merchant.live.ok("POST", "/v1/customers", {"name": "L"})
    assert test_cust["livemode"] is False and live_cust["livemode"] is True
    assert merchant.live.get(f"/v1/customers/{test_cust['id']}").status_code == 404
    assert merchant.test.get(f"/v1/customers/{live_cust['id']}").status_code == 404
    assert [c["id"] for c in merchant.test.ok("GET", "/v1/customers")["data"]] == [test_cust["id"]]


def test_foreign_ids_answer_exactly_like_unknown_ids(merchant: Any, other_merchant: Any) -> None:
    cust = merchant.test.ok("POST", "/v1/customers", {"name": "Mine"})
    inv = merchant.test.ok("POST", "/v1/invoices", {"customer": cust["id"]})
    foreign = other_merchant.test.get(f"/v1/invoices/{inv['id']}")
    unknown = other_merchant.test.get("/v1/invoices/inv_doesnotexist")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.get_json()["error"]["code"] == unknown.get_json()["error"]["code"] == "resource_missing"
    # Nor can the other merchant use it as a reference or act on it.
    assert other_merchant.test.post("/v1/invoices", {"customer": cust["id"]}).status_code == 404
    assert other_merchant.test.post(f"/v1/invoices/{inv['id']}/finalize").status_code == 404
    assert merchant.test.ok("GET", f"/v1/invoices/{inv['id']}")["status"] == "draft"
