"""Statement import (SPEC §12): camt.053/camt.054 files become bank transactions once each;
a malformed file answers 400 naming the problem and imports nothing."""

from __future__ import annotations

from typing import Any

import pytest

from app.banking import camt
from tests.banking.helpers import entry, fixture, generated, import_file, statement
from tests.conftest import Api, Merchant


def transactions(api: Api, **query: Any) -> list[dict[str, Any]]:
    return api.ok("GET", "/v1/bank_transactions", query_string={"limit": 100, **query})["data"]  # type: ignore[no-any-return]


def test_a_camt053_statement_records_its_booked_credits(api: Api) -> None:
    response = import_file(api, fixture("camt053_v02.xml"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"object": "bank_statement_import", "message": "camt.053.001.02", "entries": 3,
                                   "created": 3, "duplicates": 0, "matched": 0, "unmatched": 3, "skipped": 2}
    listed = transactions(api)
    assert [(t["amount"], t["currency"], t["status"]) for t in listed] == [
        (9650, "eur", "unmatched"), (25000, "eur", "unmatched"), (11900, "eur", "unmatched")]
    first = api.ok("GET", f"/v1/bank_transactions/{listed[-1]['id']}")
    assert first["id"].startswith("btxn_") and first["livemode"] is False
    assert (first["debtor_name"], first["debtor_iban"], first["booked_at"]) == (
        "Käufer AG", "DE02120300000000202051", 1799107200)
    assert (first["creditor_reference"], first["entry_reference"], first["bank_account"]) == (
        "RF_STRUCTURED", "2027010512345001", "DE89370400440532013000")
    assert listed[1]["remittance_information"] == "Rechnung INVOICE_NUMBER vom 02.01.2027 Kundennr. 4711"
    assert first["invoice"] is None and first["payment"] is None


def test_a_camt054_notification_of_version_08(api: Api) -> None:
    summary = import_file(api, fixture("camt054_v08.xml")).get_json()
    assert (summary["message"], summary["created"]) == ("camt.054.001.08", 1)
    (btxn,) = transactions(api)
    assert (btxn["amount"], btxn["debtor_name"], btxn["entry_reference"]) == (5999, "Muster & Söhne OHG", "N-77-1")
    assert btxn["booked_at"] == 1799226843  # 10:14:03 in UTC+1


def test_importing_the_same_statement_twice_records_nothing_twice(api: Api) -> None:
    import_file(api, fixture("camt053_v02.xml"))
    again = import_file(api, fixture("camt053_v02.xml")).get_json()
    assert (again["entries"], again["created"], again["duplicates"]) == (3, 0, 3)
    assert len(transactions(api)) == 3


def test_an_overlapping_statement_records_only_the_new_entries(api: Api) -> None:
    assert import_file(api, generated(5)).get_json()["created"] == 5
    overlap = import_file(api, generated(5, start=2)).get_json()  # entries 2-6 after 0-4
    assert (overlap["created"], overlap["duplicates"]) == (2, 3)
    assert len(transactions(api)) == 7


def test_entries_without_a_reference_are_told_apart_by_date_amount_and_remittance(api: Api) -> None:
    same = entry("10.00", "Spende")
    first = import_file(api, statement([same, same, entry("10.00", "Spende", day="2027-01-06")])).get_json()
    assert first["created"] == 3  # two equal payments on one day are two payments
    again = import_file(api, statement([same, same, entry("11.00", "Spende")], statement_id="S-2")).get_json()
    assert (again["created"], again["duplicates"]) == (1, 2)


def test_each_mode_and_account_keeps_its_own_transactions(merchant: Merchant, other_merchant: Merchant) -> None:
    data = fixture("camt053_v02.xml")
    for api in (merchant.test, merchant.live, other_merchant.test):
        assert import_file(api, data).get_json()["created"] == 3
    test_id = transactions(merchant.test)[0]["id"]
    assert merchant.live.get(f"/v1/bank_transactions/{test_id}").status_code == 404
    assert other_merchant.test.get(f"/v1/bank_transactions/{test_id}").status_code == 404
    assert transactions(merchant.live)[0]["livemode"] is True


def test_debits_pending_entries_and_reversals_are_not_bank_transactions(api: Api) -> None:
    reversal = entry("5.00", "back", ref="X1").replace("<Sts>", "<RvslInd>true</RvslInd><Sts>")
    summary = import_file(api, statement([entry("5.00", "out", ref="X2", indicator="DBIT"), reversal])).get_json()
    assert (summary["entries"], summary["skipped"]) == (0, 2)


def test_listing_by_status_and_ignoring(api: Api) -> None:
    import_file(api, generated(3))
    first, second, third = transactions(api)
    ignored = api.ok("POST", f"/v1/bank_transactions/{second['id']}/ignore")
    assert ignored["status"] == "ignored"
    assert [t["id"] for t in transactions(api, status="unmatched")] == [first["id"], third["id"]]
    assert [t["id"] for t in transactions(api, status="ignored")] == [second["id"]]
    again = api.post(f"/v1/bank_transactions/{second['id']}/ignore")
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "bank_transaction_unexpected_status")
    page = api.ok("GET", "/v1/bank_transactions", query_string={"limit": 2})
    assert page["has_more"] is True and len(page["data"]) == 2
    rest = api.ok("GET", "/v1/bank_transactions", query_string={"starting_after": page["data"][-1]["id"]})
    assert [t["id"] for t in rest["data"]] == [third["id"]] and rest["has_more"] is False


def test_an_event_for_each_new_transaction_and_each_unmatched_one(api: Api) -> None:
    import_file(api, generated(2))
    import_file(api, generated(2))  # duplicates: no events
    types = [e["type"] for e in api.ok("GET", "/v1/events", query_string={"limit": 100})["data"]]
    assert sorted(types) == ["bank_transaction.created"] * 2 + ["bank_transaction.unmatched"] * 2


@pytest.mark.parametrize(("body", "code", "says"), [
    (b"this is not xml", "statement_not_xml", "not well-formed XML"),
    (b"", "statement_not_xml", "empty"),
    (b"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"/>", "statement_unsupported",
     "pain.001.001.03"),
    (b"<Invoice/>", "statement_unsupported", "'Invoice'"),
    (generated(2).replace(b"<Sts>BOOK</Sts>", b"<Sts>BOOKED</Sts>", 1), "statement_invalid",
     "camt.053.001.02 schema"),
    (generated(2).replace(b"<CreDtTm>2027-01-05T18:00:00</CreDtTm></GrpHdr>", b"</GrpHdr>"), "statement_invalid",
     "CreDtTm"),
    (b"<!DOCTYPE d [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><d>&e;</d>", "statement_unsupported", "'d'"),
])
def test_a_malformed_file_answers_400_naming_the_problem_and_imports_nothing(
        api: Api, body: bytes, code: str, says: str) -> None:
    response = import_file(api, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code and says in error["message"], error
    assert transactions(api) == []


def test_a_file_whose_later_entry_is_invalid_imports_nothing(api: Api) -> None:
    good = [entry("1.00", f"ok {i}", ref=f"G{i}") for i in range(3)]
    bad = entry("1.005", "three decimals", ref="B1")  # the schema allows 5 decimals, EUR two
    response = import_file(api, statement([*good, bad]))
    assert response.status_code == 400 and "decimals" in response.get_json()["error"]["message"]
    assert transactions(api) == []


def test_a_body_over_10_mib_answers_400(api: Api) -> None:
    response = import_file(api, b" " * (camt.MAX_STATEMENT_BYTES + 1))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "body_too_large"
    assert transactions(api) == []


def test_a_statement_over_1_mib_is_read(api: Api) -> None:
    data = generated(3000)
    assert len(data) > 1024 * 1024
    assert import_file(api, data).get_json()["created"] == 3000


def test_the_body_must_be_sent_as_xml(api: Api) -> None:
    response = import_file(api, fixture("camt053_v02.xml"), **{"Content-Type": "application/json"})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


def test_an_import_replays_with_its_idempotency_key(api: Api) -> None:
    first = import_file(api, generated(2), **{"Idempotency-Key": "k1"})
    second = import_file(api, generated(2), **{"Idempotency-Key": "k1"})
    assert second.headers["Idempotent-Replayed"] == "true" and second.data == first.data
    assert first.get_json()["created"] == 2
