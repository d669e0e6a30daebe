"""Matching and applying bank transactions (SPEC §12): by the invoice's RF reference, else by
an open invoice's number, in the same currency; the rest applied or ignored by the merchant."""

from __future__ import annotations

from typing import Any

from tests.banking.helpers import entry, fixture, import_file, open_invoice, statement
from tests.conftest import Api


def btxns(api: Api, **query: Any) -> list[dict[str, Any]]:
    return api.ok("GET", "/v1/bank_transactions", query_string={"limit": 100, **query})["data"]  # type: ignore[no-any-return]


def test_the_hand_written_statement_pays_by_rf_reference_and_by_number(api: Api, customer: dict[str, Any]) -> None:
    by_reference = open_invoice(api, customer["id"], 11900)
    by_number = open_invoice(api, customer["id"], 40000)
    assert by_reference["payment_reference"].startswith("RF")
    data = fixture("camt053_v02.xml", RF_STRUCTURED=by_reference["payment_reference"],
                   INVOICE_NUMBER=by_number["number"])
    summary = import_file(api, data).get_json()
    assert (summary["created"], summary["matched"], summary["unmatched"]) == (3, 2, 1)
    paid = api.ok("GET", f"/v1/invoices/{by_reference['id']}")
    assert (paid["status"], paid["amount_paid"]) == ("paid", 11900)
    part = api.ok("GET", f"/v1/invoices/{by_number['id']}")
    assert (part["status"], part["amount_paid"], part["amount_remaining"]) == ("open", 25000, 15000)
    matched = {t["invoice"]: t for t in btxns(api, status="matched")}
    assert set(matched) == {by_reference["id"], by_number["id"]}
    payment = api.ok("GET", f"/v1/payments/{matched[by_reference['id']]['payment']}")
    assert (payment["payment_method_type"], payment["amount"], payment["status"]) == ("bank_transfer", 11900,
                                                                                    "completed")
    assert payment["bank_transfer"]["bank_transaction"] == matched[by_reference["id"]]["id"]
    (unmatched,) = btxns(api, status="unmatched")
    assert unmatched["amount"] == 9650
    types = [e["type"] for e in api.ok("GET", "/v1/events", query_string={"limit": 100})["data"]]
    assert types.count("bank_transaction.created") == 3 and types.count("bank_transaction.unmatched") == 1
    assert types.count("invoice.paid") == 1


def test_importing_it_again_pays_nothing_twice(api: Api, customer: dict[str, Any]) -> None:
    inv = open_invoice(api, customer["id"], 30000)
    data = statement([entry("100.00", f"Teilzahlung {inv['number']}", ref="P1")])
    assert import_file(api, data).get_json()["matched"] == 1
    again = import_file(api, data).get_json()
    assert (again["duplicates"], again["matched"]) == (1, 0)
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["amount_paid"] == 10000
    assert len(api.ok("GET", "/v1/payments", query_string={"invoice": inv["id"]})["data"]) == 1


def test_an_rf_reference_written_in_the_remittance_text_in_blocks(api: Api, customer: dict[str, Any]) -> None:
    inv = open_invoice(api, customer["id"], 5000)
    spaced = " ".join(inv["payment_reference"][i:i + 4] for i in range(0, len(inv["payment_reference"]), 4))
    summary = import_file(api, statement([entry("50.00", f"Zahlung {spaced} Danke", ref="Q1")])).get_json()
    assert summary["matched"] == 1
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["status"] == "paid"


def test_a_number_written_without_its_hyphen_or_in_lower_case(api: Api, customer: dict[str, Any]) -> None:
    first, second = open_invoice(api, customer["id"], 1000), open_invoice(api, customer["id"], 2000)
    text_1, text_2 = first["number"].replace("-", "").lower(), second["number"].replace("-", " ")
    summary = import_file(api, statement([entry("10.00", f"re {text_1}", ref="N1"),
                                          entry("20.00", f"RE {text_2}.", ref="N2")])).get_json()
    assert summary["matched"] == 2


def test_another_currency_stays_unmatched(api: Api, customer: dict[str, Any]) -> None:
    inv = open_invoice(api, customer["id"], 5000, currency="usd")
    summary = import_file(api, statement([
        entry("50.00", f"Invoice {inv['number']} {inv['payment_reference']}", ref="C1")])).get_json()
    assert (summary["matched"], summary["unmatched"]) == (0, 1)
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["amount_paid"] == 0


def test_a_void_invoice_or_one_naming_two_invoices_stays_unmatched(api: Api, customer: dict[str, Any]) -> None:
    void = open_invoice(api, customer["id"], 1000)
    api.ok("POST", f"/v1/invoices/{void['id']}/void")
    a, b = open_invoice(api, customer["id"], 1000), open_invoice(api, customer["id"], 1000)
    summary = import_file(api, statement([entry("10.00", f"for {void['number']}", ref="V1"),
                                          entry("20.00", f"for {a['number']} and {b['number']}", ref="V2"),
                                          entry("10.00", f"credit note {a['number']}-CN-01", ref="V3")])).get_json()
    assert (summary["matched"], summary["unmatched"]) == (0, 3)


def test_the_merchant_applies_an_unmatched_transaction(api: Api, customer: dict[str, Any]) -> None:
    inv = open_invoice(api, customer["id"], 7000)
    usd = open_invoice(api, customer["id"], 7000, currency="usd")
    import_file(api, statement([entry("70.00", "Danke fuer alles", ref="A1")]))
    (btxn,) = btxns(api)
    wrong = api.post(f"/v1/bank_transactions/{btxn['id']}/apply", {"invoice": usd["id"]})
    assert (wrong.status_code, wrong.get_json()["error"]["code"]) == (400, "currency_mismatch")
    unknown = api.post(f"/v1/bank_transactions/{btxn['id']}/apply", {"invoice": "inv_nope"})
    assert (unknown.status_code, unknown.get_json()["error"]["param"]) == (404, "invoice")
    applied = api.ok("POST", f"/v1/bank_transactions/{btxn['id']}/apply", {"invoice": inv["id"]})
    assert (applied["status"], applied["invoice"]) == ("matched", inv["id"]) and applied["payment"]
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["status"] == "paid"
    twice = api.post(f"/v1/bank_transactions/{btxn['id']}/apply", {"invoice": inv["id"]})
    assert (twice.status_code, twice.get_json()["error"]["code"]) == (409, "bank_transaction_unexpected_status")
    ignore = api.post(f"/v1/bank_transactions/{btxn['id']}/ignore")
    assert ignore.status_code == 409


def test_an_ignored_transaction_can_still_be_applied(api: Api, customer: dict[str, Any]) -> None:
    inv = open_invoice(api, customer["id"], 7000)
    import_file(api, statement([entry("70.00", "unbekannt", ref="I1")]))
    (btxn,) = btxns(api)
    api.ok("POST", f"/v1/bank_transactions/{btxn['id']}/ignore")
    assert api.ok("POST", f"/v1/bank_transactions/{btxn['id']}/apply", {"invoice": inv["id"]})["status"] == "matched"


def test_a_draft_takes_no_transaction(api: Api, customer: dict[str, Any]) -> None:
    draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    import_file(api, statement([entry("70.00", "x", ref="D1")]))
    (btxn,) = btxns(api)
    response = api.post(f"/v1/bank_transactions/{btxn['id']}/apply", {"invoice": draft["id"]})
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "invoice_unexpected_status")
    assert btxns(api)[0]["status"] == "unmatched"
