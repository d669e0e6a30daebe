"""``/v1/account/settings`` (SPEC §5): the collection schedule, per account and mode."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Api, Merchant

DEFAULTS = {"object": "account_settings", "livemode": False, "auto_advance_delay": 3600,
            "dunning_retry_days": [3, 5, 7], "reminder_days_before_due": [3], "reminder_days_after_due": [1, 7],
            "attach_pdf": True}


def test_an_account_starts_with_the_documented_defaults(api: Api) -> None:
    assert api.ok("GET", "/v1/account/settings") == DEFAULTS


def test_an_update_changes_only_the_fields_given_and_is_kept(api: Api) -> None:
    updated = api.ok("POST", "/v1/account/settings", {"dunning_retry_days": [1, 2], "reminder_days_after_due": [14, 2]})
    assert updated == {**DEFAULTS, "dunning_retry_days": [1, 2], "reminder_days_after_due": [2, 14]}
    assert api.ok("GET", "/v1/account/settings") == updated
    assert api.ok("POST", "/v1/account/settings", {"auto_advance_delay": 60})["dunning_retry_days"] == [1, 2]


def test_an_empty_dunning_schedule_is_kept_and_means_no_retries(api: Api) -> None:
    updated = api.ok("POST", "/v1/account/settings", {"dunning_retry_days": []})
    assert updated == {**DEFAULTS, "dunning_retry_days": []}
    assert api.ok("GET", "/v1/account/settings") == updated
    assert api.ok("POST", "/v1/account/settings", {"auto_advance_delay": 60})["dunning_retry_days"] == []


def test_each_mode_has_its_own_schedule(merchant: Merchant) -> None:
    merchant.test.ok("POST", "/v1/account/settings", {"auto_advance_delay": 0})
    assert merchant.live.ok("GET", "/v1/account/settings")["auto_advance_delay"] == 3600
    assert merchant.live.ok("GET", "/v1/account/settings")["livemode"] is True


def test_another_account_is_not_affected(api: Api, other_merchant: Merchant) -> None:
    api.ok("POST", "/v1/account/settings", {"reminder_days_before_due": []})
    assert other_merchant.test.ok("GET", "/v1/account/settings")["reminder_days_before_due"] == [3]


@pytest.mark.parametrize(("body", "param"), [
    ({"auto_advance_delay": -1}, "auto_advance_delay"),
    ({"auto_advance_delay": 31 * 86400}, "auto_advance_delay"),
    ({"auto_advance_delay": "3600"}, "auto_advance_delay"),
    ({"dunning_retry_days": [0]}, "dunning_retry_days"),
    ({"dunning_retry_days": [1] * 9}, "dunning_retry_days"),
    ({"dunning_retry_days": [61]}, "dunning_retry_days"),
    ({"reminder_days_before_due": [3, 3]}, "reminder_days_before_due"),
    ({"reminder_days_after_due": [0]}, "reminder_days_after_due"),
    ({"reminder_days_after_due": ["1"]}, "reminder_days_after_due"),
    ({"dunning": [3]}, "dunning"),
    ({"dunning_retry_days": None}, "dunning_retry_days"),
    ({"auto_advance_delay": None}, "auto_advance_delay"),
])
def test_a_bad_value_is_refused_by_name_and_changes_nothing(api: Api, body: dict[str, object], param: str) -> None:
    response = api.post("/v1/account/settings", {"reminder_days_before_due": [5], **body})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["type"] == "invalid_request_error" and re.split(r"[.[]", error["param"])[0] == param
    assert api.ok("GET", "/v1/account/settings") == DEFAULTS


def test_attach_pdf_is_a_boolean_kept_per_mode(merchant: Merchant) -> None:
    assert merchant.test.ok("POST", "/v1/account/settings", {"attach_pdf": False})["attach_pdf"] is False
    assert merchant.test.ok("POST", "/v1/account/settings", {"auto_advance_delay": 60})["attach_pdf"] is False
    assert merchant.live.ok("GET", "/v1/account/settings")["attach_pdf"] is True
    for bad in ("false", 0, None):
        response = merchant.test.post("/v1/account/settings", {"attach_pdf": bad})
        assert response.status_code == 400 and response.get_json()["error"]["param"] == "attach_pdf", bad
    assert merchant.test.ok("GET", "/v1/account/settings")["attach_pdf"] is False
