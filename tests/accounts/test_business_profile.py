"""The business profile (SPEC §10): the seller on every invoice, checked by check digits,
complete or saying what it misses, shared by both modes, and an event when it changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import create_app
from app.accounts.service import authenticate
from app.extensions import db
from tests.conftest import Api, Merchant

PATH = "/v1/account/business_profile"

FULL = {
    "legal_name": "Acme GmbH",
    "address": {"line1": "Marienplatz 1", "city": "München", "postal_code": "80331", "country": "de"},
    "vat_id": "de 123 456 788",
    "tax_number": "143/123/12345",
    "registration": "Amtsgericht München HRB 12345",
    "email": "billing@acme.example",
    "phone": "+49 89 123456",
    "website": "https://acme.example",
    "bank_account": {"account_holder": "Acme GmbH", "iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx"},
}
ALL_MISSING = ["legal_name", "address[line1]", "address[city]", "address[postal_code]", "address[country]",
               "email", "vat_id_or_tax_number"]


def events_of(api: Api, type_: str = "account.business_profile.updated") -> list[dict[str, Any]]:
    return api.ok("GET", "/v1/events", query_string={"type": type_})["data"]  # type: ignore[no-any-return]


def test_a_new_account_has_an_empty_incomplete_profile(api: Api) -> None:
    profile = api.ok("GET", PATH)
    assert profile["object"] == "business_profile" and profile["livemode"] is False
    assert profile["complete"] is False and profile["missing"] == ALL_MISSING
    assert profile["legal_name"] is None and profile["bank_account"] is None and profile["small_business"] is False


def test_setting_every_field_makes_it_complete_and_both_modes_see_it(merchant: Merchant) -> None:
    profile = merchant.test.ok("POST", PATH, FULL)
    assert profile["complete"] is True and profile["missing"] == []
    # Stored compact, as the documents print them.
    assert profile["vat_id"] == "DE123456788"
    assert profile["bank_account"] == {"account_holder": "Acme GmbH", "iban": "DE89370400440532013000",
                                       "bic": "COBADEFFXXX"}
    assert profile["address"]["country"] == "DE" and profile["address"]["line2"] is None
    assert profile["contact_name"] == "Acme GmbH"  # the legal name until one is set (BT-41)
    live = merchant.live.ok("GET", PATH)
    assert live["livemode"] is True
    assert {k: v for k, v in live.items() if k != "livemode"} == {k: v for k, v in profile.items() if k != "livemode"}


@pytest.mark.parametrize(("body", "param"), [
    ({"vat_id": "DE123456789"}, "vat_id"),  # one digit off: the check digit fails
    ({"vat_id": "XX123456789"}, "vat_id"),
    ({"vat_id": "GB123456789"}, "vat_id"),
    ({"bank_account": {"iban": "DE89370400440532013001"}}, "bank_account[iban]"),
    ({"bank_account": {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBA1EFF"}}, "bank_account[bic]"),
    ({"bank_account": {"bic": "COBADEFFXXX"}}, "bank_account[iban]"),
    ({"email": "not-an-email"}, "email"),
    ({"address": {"country": "Germany"}}, "address[country]"),
    ({"website": "ftp://acme.example"}, "website"),
    ({"phone": "call me"}, "phone"),
    ({"legal_name": ""}, "legal_name"),
    ({"legal_name": "Acme\nGmbH"}, "legal_name"),
    ({"small_business": None}, "small_business"),
    ({"small_business": "yes"}, "small_business"),
    ({"vat": "DE123456788"}, "vat"),
])
def test_a_wrong_value_is_a_400_naming_the_field_and_nothing_is_written(api: Api, body: dict[str, Any],
                                                                        param: str) -> None:
    response = api.post(PATH, {"legal_name": "Half GmbH", **body})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert api.ok("GET", PATH)["legal_name"] is None  # not half-written
    assert events_of(api) == []


def test_a_wrong_vat_id_says_the_check_digits_do_not_match(api: Api) -> None:
    error = api.post(PATH, {"vat_id": "DE123456789"}).get_json()["error"]
    assert "check digits" in error["message"] and "DE123456789" in error["message"]


@pytest.mark.parametrize("vat_id", ["ATU13585627", "FR40303265045", "EL094259216", "XI123456782",
                                    "GB980780684", "CHE-107.787.577 MWST", "NO 995 525 828 MVA"])
def test_vat_ids_of_other_countries_pass_by_their_own_check_digits(api: Api, vat_id: str) -> None:
    saved = api.ok("POST", PATH, {"vat_id": vat_id})["vat_id"]
    assert saved == "".join(ch for ch in vat_id.upper() if ch.isalnum())


def test_missing_names_what_is_left_and_a_tax_number_alone_is_enough(api: Api) -> None:
    partial = api.ok("POST", PATH, {"legal_name": "Acme GmbH", "address": {"city": "Berlin"}})
    assert partial["missing"] == ["address[line1]", "address[postal_code]", "address[country]", "email",
                                  "vat_id_or_tax_number"]
    body = {**FULL}
    del body["vat_id"]
    assert api.ok("POST", PATH, body)["complete"] is True
    cleared = api.ok("POST", PATH, {"tax_number": None, "email": None})
    assert cleared["complete"] is False and cleared["missing"] == ["email", "vat_id_or_tax_number"]
    assert cleared["legal_name"] == "Acme GmbH"  # what was not sent is kept


def test_fields_merge_and_objects_are_replaced_whole(api: Api) -> None:
    api.ok("POST", PATH, FULL)
    after = api.ok("POST", PATH, {"contact_name": "Erika Mustermann", "small_business": True,
                                  "bank_account": {"iban": "GB33BUKB20201555555555"}})
    assert after["contact_name"] == "Erika Mustermann" and after["small_business"] is True
    assert after["bank_account"] == {"account_holder": None, "iban": "GB33BUKB20201555555555", "bic": None}
    assert after["vat_id"] == "DE123456788" and after["registration"] == FULL["registration"]
    assert api.ok("POST", PATH, {"bank_account": None})["bank_account"] is None


def test_a_change_is_an_event_in_both_modes_and_no_change_is_none(merchant: Merchant) -> None:
    merchant.test.ok("POST", PATH, {"legal_name": "Acme GmbH"})
    [test_event] = events_of(merchant.test)
    [live_event] = events_of(merchant.live)
    assert test_event["data"]["legal_name"] == "Acme GmbH" and test_event["data"]["livemode"] is False
    assert live_event["livemode"] is True and live_event["data"]["livemode"] is True
    merchant.test.ok("POST", PATH, {"legal_name": "Acme GmbH"})  # the same again: nothing changed
    merchant.test.ok("POST", PATH, {})
    assert len(events_of(merchant.test)) == 1


def test_webhook_endpoints_can_subscribe_to_the_event(api: Api) -> None:
    endpoint = api.ok("POST", "/v1/webhook_endpoints", {"url": "http://127.0.0.1:8000/hooks",
                                                        "enabled_events": ["account.business_profile.updated"]})
    assert endpoint["enabled_events"] == ["account.business_profile.updated"]


def test_one_account_never_sees_or_changes_another_accounts_profile(merchant: Merchant,
                                                                    other_merchant: Merchant) -> None:
    merchant.test.ok("POST", PATH, FULL)
    other = other_merchant.test.ok("GET", PATH)
    assert other["legal_name"] is None and other["complete"] is False
    other_merchant.live.ok("POST", PATH, {"legal_name": "Globex Ltd"})
    assert merchant.live.ok("GET", PATH)["legal_name"] == "Acme GmbH"
    assert events_of(other_merchant.test)[0]["data"]["legal_name"] == "Globex Ltd"
    assert len(events_of(merchant.test)) == 1


def test_an_idempotent_retry_replays_the_answer_and_changes_nothing_twice(api: Api) -> None:
    first = api.post(PATH, FULL, headers={"Idempotency-Key": "profile-1"})
    api.ok("POST", PATH, {"legal_name": "Renamed GmbH"})
    again = api.post(PATH, FULL, headers={"Idempotency-Key": "profile-1"})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.data == first.data
    assert api.ok("GET", PATH)["legal_name"] == "Renamed GmbH"  # the replay did not write again
    assert len(events_of(api)) == 2
    other_body = api.post(PATH, {"legal_name": "Other"}, headers={"Idempotency-Key": "profile-1"})
    assert other_body.status_code == 400 and other_body.get_json()["error"]["type"] == "idempotency_error"


def test_create_merchant_takes_the_legal_fields(tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SECRET_KEY": "s" * 32})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=[
        "create-merchant", "--name", "Acme", "--json", "--legal-name", "Acme GmbH",
        "--address-line1", "Marienplatz 1", "--city", "München", "--postal-code", "80331", "--country", "DE",
        "--vat-id", "DE123456788", "--email", "billing@acme.example", "--iban", "DE89370400440532013000",
        "--small-business"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    client = app.test_client()
    profile = client.get(PATH, headers={"X-Api-Key": out["live_secret_key"]}).get_json()
    assert profile["complete"] is True and profile["small_business"] is True
    assert profile["bank_account"]["iban"] == "DE89370400440532013000"
    bad = runner.invoke(args=["create-merchant", "--name", "Bad", "--iban", "DE89370400440532013001"])
    assert bad.exit_code != 0 and "--iban" in bad.output and "IBAN" in bad.output
    with app.app_context():  # a refused flag creates no account either
        assert db.session.execute(sa.text("SELECT count(*) FROM accounts")).scalar() == 1
        authenticate(db.session, out["test_secret_key"])
    no_flags = runner.invoke(args=["create-merchant", "--name", "Plain", "--json"])
    assert no_flags.exit_code == 0, no_flags.output
    plain = client.get(PATH, headers={"X-Api-Key": json.loads(no_flags.output)["test_secret_key"]}).get_json()
    assert plain["legal_name"] is None and plain["small_business"] is False
