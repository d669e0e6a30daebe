"""``/v1/credit_notes`` (SPEC §11): what is credited, at which rates, how it splits, what it
changes on the invoice, numbering, void, update, list, preview."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tests.conftest import Api, Merchant
from tests.credit_notes.helpers import card_paid, credit, issue, paid, rate, two_rates


def line(inv: dict[str, Any], index: int, **fields: Any) -> dict[str, Any]:
    return {"type": "invoice_line_item", "invoice_line_item": inv["lines"]["data"][index]["id"], **fields}


def error(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]  # type: ignore[no-any-return]


def test_a_line_credited_by_quantity_credits_its_tax_at_the_invoice_rate(api: Api, customer: dict[str, Any]) -> None:
    inv = two_rates(api, customer)
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "lines": [line(inv, 0, quantity=1)],
                                             "reason": "order_change", "memo": "One hour less"})
    assert cn["object"] == "credit_note" and cn["id"].startswith("cn_") and cn["status"] == "issued"
    assert cn["number"] == f"{inv['number']}-CN-01"
    assert (cn["subtotal"], cn["tax"], cn["total"]) == (10_000, 1_900, 11_900)
    r19 = inv["lines"]["data"][0]["tax_rates"][0]
    assert cn["tax_amounts"] == [{"tax_rate": r19, "amount": 1_900, "inclusive": False, "taxable_amount": 10_000,
                                  "category": "S"}]
    assert cn["lines"][0]["quantity"] == 1 and cn["lines"][0]["unit"] == "HUR"
    assert (cn["pre_payment_amount"], cn["post_payment_amount"]) == (11_900, 0)
    assert cn["reason"] == "order_change" and cn["memo"] == "One hour less"
    assert cn["pdf"] == f"{inv['hosted_invoice_url']}/credit_notes/{cn['id']}/pdf"
    after = api.ok("GET", f"/v1/invoices/{inv['id']}")
    assert after["status"] == "open"
    assert after["amount_due"] == inv["total"] - 11_900 and after["amount_remaining"] == after["amount_due"]
    assert after["pre_payment_credit_notes_amount"] == 11_900 and after["post_payment_credit_notes_amount"] == 0
    assert after["total"] == inv["total"]  # an issued invoice is never edited


def test_two_rates_keep_their_split_and_the_last_units_take_what_is_left(api: Api, customer: dict[str, Any]) -> None:
    inv = two_rates(api, customer)
    first = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "lines": [line(inv, 1, quantity=1)]})
    assert first["lines"][0]["amount"] == 3_333 and first["tax"] == 233  # 33.33 x 7 % = 2.3331
    rest = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "lines": [line(inv, 0), line(inv, 1)]})
    assert [ln["amount"] for ln in rest["lines"]] == [20_000, 6_666]
    assert {t["tax_rate"]: t["amount"] for t in rest["tax_amounts"]} == {
        inv["lines"]["data"][0]["tax_rates"][0]: 3_800, inv["lines"]["data"][1]["tax_rates"][0]: 467}
    assert first["total"] + rest["total"] == inv["total"]
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["status"] == "paid"  # brought to 0


def test_a_line_credited_by_amount_and_never_beyond_what_is_left_of_it(api: Api, customer: dict[str, Any]) -> None:
    inv = two_rates(api, customer)
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "lines": [line(inv, 0, amount=5_000)]})
    assert (cn["subtotal"], cn["tax"], cn["total"]) == (5_000, 950, 5_950)
    assert error(credit(api, inv, lines=[line(inv, 0, amount=15_001)]))["param"] == "lines[0][amount]"
    assert error(credit(api, inv, lines=[line(inv, 0, quantity=2)]))["code"] == "credit_note_exceeds_line"
    assert error(credit(api, inv, lines=[line(inv, 0, quantity=1, amount=1)]))["param"] == "lines[0][amount]"
    assert error(credit(api, inv, lines=[{"type": "invoice_line_item", "invoice_line_item": "il_nope"}]))[
        "param"] == "lines[0][invoice_line_item]"


def test_an_amount_of_the_whole_invoice_is_split_over_its_rates_exactly(api: Api, customer: dict[str, Any]) -> None:
    inv = two_rates(api, customer)
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 10_000})
    assert cn["total"] == 10_000 and cn["subtotal"] + cn["tax"] == 10_000
    by_rate = {t["tax_rate"]: t for t in cn["tax_amounts"]}
    r19, r7 = (inv["lines"]["data"][i]["tax_rates"][0] for i in (0, 1))
    # Shares of the invoice's 238.00 (19 %) and 106.99 (7 %).
    assert by_rate[r19]["taxable_amount"] + by_rate[r19]["amount"] == 6_899
    assert by_rate[r7]["taxable_amount"] + by_rate[r7]["amount"] == 3_101
    for key, pct in ((r19, 19), (r7, 7)):
        assert abs(by_rate[key]["amount"] - by_rate[key]["taxable_amount"] * pct / 100) < 1
    assert error(credit(api, inv, amount=inv["total"]))["code"] == "credit_note_exceeds_invoice"
    assert error(credit(api, inv, amount=1, lines=[line(inv, 0)]))["param"] == "lines"


def test_custom_lines_pay_only_the_invoice_rates(api: Api, customer: dict[str, Any]) -> None:
    inv = two_rates(api, customer)
    r19 = inv["lines"]["data"][0]["tax_rates"][0]
    other = rate(api, 19, name="Other")
    bad = credit(api, inv, lines=[{"type": "custom_line_item", "description": "Goodwill", "unit_amount": 1_000,
                                   "tax_rates": [other]}])
    assert error(bad)["param"] == "lines[0][tax_rates]"
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "lines": [
        {"type": "custom_line_item", "description": "Goodwill", "unit_amount": 1_000, "quantity": 2,
         "tax_rates": [r19]}]})
    assert (cn["subtotal"], cn["tax"], cn["total"]) == (2_000, 380, 2_380)
    untaxed = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "lines": [
        {"type": "custom_line_item", "description": "No tax", "unit_amount": 500}]})
    assert untaxed["tax"] == 0 and untaxed["tax_amounts"][0]["tax_rate"] is None


def test_inclusive_rates_are_credited_inclusive(api: Api, customer: dict[str, Any]) -> None:
    incl = rate(api, 19, inclusive=True)
    inv = issue(api, customer, [{"description": "Brutto", "unit_amount": 11_900, "quantity": 2}],
                default_tax_rates=[incl])
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "lines": [line(inv, 0, quantity=1)]})
    assert (cn["subtotal"], cn["tax"], cn["total"]) == (11_900, 1_900, 11_900)
    assert cn["tax_amounts"][0]["inclusive"] is True and cn["tax_amounts"][0]["taxable_amount"] == 10_000


def test_only_open_paid_and_uncollectible_invoices_take_credit_notes(api: Api, customer: dict[str, Any]) -> None:
    draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    assert error(credit(api, draft, amount=1), 409)["code"] == "invoice_unexpected_status"
    inv = two_rates(api, customer)
    api.ok("POST", f"/v1/invoices/{inv['id']}/void")
    assert "'void'" in error(credit(api, inv, amount=1), 409)["message"]
    inv = two_rates(api, customer)
    api.ok("POST", f"/v1/invoices/{inv['id']}/mark_uncollectible")
    api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 100})
    assert error(credit(api, {"id": "inv_unknown"}, amount=1), 404)["param"] == "invoice"


def test_another_accounts_invoice_and_credit_note_are_not_found(merchant: Merchant, other_merchant: Merchant,
                                                                customer: dict[str, Any]) -> None:
    inv = two_rates(merchant.test, customer)
    cn = merchant.test.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 100})
    assert error(credit(other_merchant.test, inv, amount=1), 404)["param"] == "invoice"
    assert other_merchant.test.get(f"/v1/credit_notes/{cn['id']}").status_code == 404
    assert merchant.live.get(f"/v1/credit_notes/{cn['id']}").status_code == 404
    assert other_merchant.test.post(f"/v1/credit_notes/{cn['id']}/void").status_code == 404


def test_a_paid_invoice_must_split_the_post_payment_part_exactly(api: Api, customer: dict[str, Any]) -> None:
    inv = paid(api, two_rates(api, customer))
    missing = error(credit(api, inv, amount=1_000))
    assert missing["code"] == "credit_note_amounts_mismatch" and missing["param"] == "refund_amount"
    assert "1000" in missing["message"]
    short = error(credit(api, inv, amount=1_000, out_of_band_amount=400, credit_amount=500))
    assert short["param"] == "out_of_band_amount"
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 1_000, "out_of_band_amount": 1_000})
    assert (cn["pre_payment_amount"], cn["post_payment_amount"], cn["out_of_band_amount"]) == (0, 1_000, 1_000)
    after = api.ok("GET", f"/v1/invoices/{inv['id']}")
    assert after["status"] == "paid" and after["post_payment_credit_notes_amount"] == 1_000
    assert after["amount_due"] == inv["amount_due"]
    # Nothing left to pay: amounts for the post-payment part are refused on an open invoice's pre-payment part.
    open_inv = two_rates(api, customer)
    assert error(credit(api, open_inv, amount=1_000, credit_amount=1_000))["param"] == "credit_amount"


def test_a_refund_is_checked_against_what_the_card_paid(api: Api, customer: dict[str, Any]) -> None:
    inv = paid(api, two_rates(api, customer))  # out of band: nothing paid by card
    assert error(credit(api, inv, amount=1_000, refund_amount=1_000))["code"] == "refund_exceeds_payment"
    by_card = card_paid(api, customer, two_rates(api, customer))
    assert by_card["status"] == "paid"
    over = credit(api, by_card, amount=by_card["total"], refund_amount=by_card["total"] + 1,
                  out_of_band_amount=0)
    assert error(over)["param"] in ("refund_amount", "amount")
    assert api.ok("GET", "/v1/credit_notes", query_string={"invoice": by_card["id"]})["data"] == []


def test_a_credit_note_refunds_its_refund_amount_of_the_card_payment(api: Api, customer: dict[str, Any]) -> None:
    inv = card_paid(api, customer, two_rates(api, customer))
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 1_000, "refund_amount": 600,
                                             "out_of_band_amount": 400, "reason": "product_unsatisfactory"})
    refund = api.ok("GET", f"/v1/refunds/{cn['refund']}")
    assert (refund["amount"], refund["status"], refund["credit_note"]) == (600, "succeeded", cn["id"])
    assert refund["payment"] == inv["payment"] and refund["reason"] == "requested_by_customer"
    assert api.ok("GET", f"/v1/payments/{inv['payment']}")["amount_refunded"] == 600
    # What a credit note may refund is what is left of the payment, refunds made directly included.
    api.ok("POST", "/v1/refunds", {"payment": inv["payment"], "amount": inv["total"] - 600 - 100})
    over = error(credit(api, inv, amount=200, refund_amount=200))
    assert (over["code"], over["param"]) == ("refund_exceeds_payment", "refund_amount")
    api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 100, "refund_amount": 100})
    assert api.ok("GET", f"/v1/payments/{inv['payment']}")["amount_refunded"] == inv["total"]
    types = [e["type"] for e in api.ok("GET", "/v1/events", query_string={"limit": 100})["data"]]
    assert types.count("credit_note.created") == 2 and types.count("refund.created") == 3


def test_a_credit_note_stands_when_its_refund_fails(api: Api, customer: dict[str, Any]) -> None:
    pm = api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
                {"card": {"number": "4000000000005126", "exp_month": 12, "exp_year": 2040, "cvc": "123"}})
    inv = api.ok("POST", f"/v1/invoices/{two_rates(api, customer)['id']}/pay", {"payment_method": pm["id"]})
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 1_000, "refund_amount": 1_000})
    refund = api.ok("GET", f"/v1/refunds/{cn['refund']}")
    assert (refund["status"], refund["failure_reason"]) == ("failed", "expired_or_canceled_card")
    assert api.ok("GET", f"/v1/credit_notes/{cn['id']}")["status"] == "issued"
    assert api.ok("GET", f"/v1/payments/{inv['payment']}")["amount_refunded"] == 0
    assert api.post(f"/v1/credit_notes/{cn['id']}/void").status_code == 409  # it asked for a refund


def test_credit_goes_to_the_balance_and_the_next_invoice_takes_it(api: Api, customer: dict[str, Any]) -> None:
    inv = paid(api, two_rates(api, customer))
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 5_000, "credit_amount": 5_000})
    assert cn["credit_amount"] == 5_000
    cust = api.ok("GET", f"/v1/customers/{customer['id']}")
    assert (cust["balance"], cust["currency"]) == (-5_000, "eur")
    small = issue(api, customer, [{"description": "Klein", "unit_amount": 3_000}], default_tax_rates=[])
    assert (small["starting_balance"], small["ending_balance"]) == (-5_000, -2_000)
    assert small["total"] == 3_000 and small["amount_due"] == 0 and small["status"] == "paid"
    big = issue(api, customer, [{"description": "Groß", "unit_amount": 10_000}], default_tax_rates=[])
    assert (big["starting_balance"], big["ending_balance"], big["amount_due"]) == (-2_000, 0, 8_000)
    assert big["status"] == "open" and big["amount_remaining"] == 8_000
    assert api.ok("GET", f"/v1/customers/{customer['id']}")["balance"] == 0
    after = issue(api, customer, [{"description": "Danach", "unit_amount": 100}], default_tax_rates=[])
    assert (after["starting_balance"], after["ending_balance"], after["amount_due"]) == (0, 0, 100)
    types = [e["type"] for e in api.ok("GET", "/v1/events", query_string={"type": "customer.updated"})["data"]]
    assert len(types) >= 3  # the credit, and each invoice that took some of it


def test_a_balance_in_one_currency_takes_no_other(api: Api, customer: dict[str, Any]) -> None:
    inv = paid(api, two_rates(api, customer))
    api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 500, "credit_amount": 500})
    usd = issue(api, customer, [{"description": "Dollars", "unit_amount": 1_000}], currency="usd",
                default_tax_rates=[])
    assert (usd["starting_balance"], usd["amount_due"]) == (0, 1_000)
    paid_usd = paid(api, usd)
    refused = error(credit(api, paid_usd, amount=100, credit_amount=100))
    assert refused["code"] == "balance_currency_mismatch" and refused["param"] == "credit_amount"


def test_numbers_are_sequential_per_invoice_and_a_void_keeps_its_number(api: Api, customer: dict[str, Any]) -> None:
    inv = two_rates(api, customer)
    other = two_rates(api, customer)
    first = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 100})
    second = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 100})
    api.ok("POST", f"/v1/credit_notes/{second['id']}/void")
    third = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 100})
    elsewhere = api.ok("POST", "/v1/credit_notes", {"invoice": other["id"], "amount": 100})
    n = inv["number"]
    assert [first["number"], second["number"], third["number"]] == [f"{n}-CN-01", f"{n}-CN-02", f"{n}-CN-03"]
    assert elsewhere["number"] == f"{other['number']}-CN-01"


def test_void_gives_back_what_it_took_only_while_the_invoice_is_open(api: Api, customer: dict[str, Any]) -> None:
    inv = two_rates(api, customer)
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 1_000})
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["amount_due"] == inv["total"] - 1_000
    voided = api.ok("POST", f"/v1/credit_notes/{cn['id']}/void")
    assert voided["status"] == "void" and voided["voided_at"] is not None
    after = api.ok("GET", f"/v1/invoices/{inv['id']}")
    assert after["amount_due"] == inv["total"] and after["pre_payment_credit_notes_amount"] == 0
    assert error(api.post(f"/v1/credit_notes/{cn['id']}/void"), 409)["code"] == "credit_note_unexpected_status"
    # The whole total is creditable again, as the void credit note no longer counts.
    full = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": inv["total"]})
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["status"] == "paid"
    refused = error(api.post(f"/v1/credit_notes/{full['id']}/void"), 409)
    assert refused["code"] == "invoice_unexpected_status" and "'paid'" in refused["message"]


def test_update_changes_memo_and_metadata_only(api: Api, customer: dict[str, Any]) -> None:
    inv = two_rates(api, customer)
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 100, "metadata": {"a": "1"}})
    updated = api.ok("POST", f"/v1/credit_notes/{cn['id']}", {"memo": "Kulanz", "metadata": {"b": "2", "a": ""}})
    assert updated["memo"] == "Kulanz" and updated["metadata"] == {"b": "2"} and updated["total"] == 100
    assert error(api.post(f"/v1/credit_notes/{cn['id']}", {"total": 1}))["param"] == "total"
    types = [e["type"] for e in api.ok("GET", "/v1/events")["data"]]
    assert {"credit_note.created", "credit_note.updated"} <= set(types)
    api.ok("POST", f"/v1/credit_notes/{cn['id']}/void")
    assert api.ok("GET", "/v1/events", query_string={"type": "credit_note.voided"})["data"][0]["data"]["id"] == cn["id"]


def test_list_by_invoice_and_customer_newest_first_a_page_at_a_time(api: Api, customer: dict[str, Any]) -> None:
    inv, other = two_rates(api, customer), two_rates(api, customer)
    made = [api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 100})["id"] for _ in range(3)]
    api.ok("POST", "/v1/credit_notes", {"invoice": other["id"], "amount": 100})
    page = api.ok("GET", "/v1/credit_notes", query_string={"invoice": inv["id"], "limit": 2})
    assert page["object"] == "list" and page["url"] == "/v1/credit_notes" and page["has_more"] is True
    assert [cn["id"] for cn in page["data"]] == made[::-1][:2]
    rest = api.ok("GET", "/v1/credit_notes", query_string={"invoice": inv["id"], "starting_after": made[1]})
    assert [cn["id"] for cn in rest["data"]] == [made[0]] and rest["has_more"] is False
    assert len(api.ok("GET", "/v1/credit_notes", query_string={"customer": customer["id"]})["data"]) == 4
    assert api.ok("GET", f"/v1/credit_notes/{made[0]}")["id"] == made[0]


def test_preview_answers_what_create_would_issue_and_writes_nothing(api: Api, customer: dict[str, Any]) -> None:
    inv = two_rates(api, customer)
    query = urlencode({"invoice": inv["id"], "lines[0][type]": "invoice_line_item",
                       "lines[0][invoice_line_item]": inv["lines"]["data"][0]["id"], "lines[0][quantity]": "1",
                       "reason": "duplicate"})
    preview = api.ok("GET", f"/v1/credit_notes/preview?{query}")
    assert (preview["total"], preview["number"], preview["pdf"]) == (11_900, f"{inv['number']}-CN-01", None)
    assert api.ok("GET", "/v1/credit_notes", query_string={"invoice": inv["id"]})["data"] == []
    assert api.ok("GET", f"/v1/invoices/{inv['id']}")["amount_due"] == inv["total"]
    created = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "reason": "duplicate",
                                                  "lines": [line(inv, 0, quantity=1)]})
    keep = ("number", "subtotal", "tax", "total", "tax_amounts", "pre_payment_amount", "post_payment_amount")
    assert {k: preview[k] for k in keep} == {k: created[k] for k in keep}
    too_much = api.get(f"/v1/credit_notes/preview?invoice={inv['id']}&amount={inv['total']}")
    assert error(too_much)["code"] == "credit_note_exceeds_invoice"
    assert error(api.get(f"/v1/credit_notes/preview?invoice={inv['id']}&amount=x"))["param"] == "amount"


def test_an_idempotency_key_issues_one_credit_note(api: Api, customer: dict[str, Any]) -> None:
    inv = two_rates(api, customer)
    body = {"invoice": inv["id"], "amount": 500}
    first = api.post("/v1/credit_notes", body, headers={"Idempotency-Key": "cn-1"})
    again = api.post("/v1/credit_notes", body, headers={"Idempotency-Key": "cn-1"})
    assert first.status_code == again.status_code == 200 and first.data == again.data
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(api.ok("GET", "/v1/credit_notes", query_string={"invoice": inv["id"]})["data"]) == 1
    assert api.post("/v1/credit_notes", {**body, "amount": 501},
                    headers={"Idempotency-Key": "cn-1"}).get_json()["error"]["type"] == "idempotency_error"
