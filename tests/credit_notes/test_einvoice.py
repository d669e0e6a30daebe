"""``GET /v1/credit_notes/{id}/einvoice`` (SPEC §11, §10): every format passes its XSD and the
official rules (EN 16931; XRechnung too for ``xrechnung_*``) exactly as an invoice's XML does,
is a credit note (type code 381; UBL's CreditNote document), names its invoice as the preceding
invoice reference (BT-25 with its date BT-26), and states the credit note's amounts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from lxml import etree

from tests.conftest import Api
from tests.einvoicing.rules import CII_ROOT, UBL_CREDIT_NOTE_ROOT, Rules, xsd_errors
from tests.einvoicing.test_einvoice_api import LEITWEG, PROFILE, _rate, amounts, major
from tests.einvoicing.test_einvoice_api import issue as issue_invoice

FORMATS = ("facturx", "xrechnung_cii", "xrechnung_ubl", "ubl")
RSM = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}"
RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
UDT = "{urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100}"
QDT = "{urn:un:unece:uncefact:data:standard:QualifiedDataType:100}"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"


@pytest.fixture()
def seller(api: Api) -> Api:
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    return api


@pytest.fixture()
def buyer(seller: Api) -> dict[str, Any]:
    return seller.ok("POST", "/v1/customers", {
        "email": "ap@kaeufer.example", "name": "Käufer AG",
        "address": {"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "tax_ids": [{"type": "eu_vat", "value": "DE136695976"}],
        "einvoice": {"buyer_reference": LEITWEG, "format": "xrechnung_ubl"},
    })


def by_quantity(api: Api, buyer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    inv = issue_invoice(api, buyer, [{"description": "Beratung", "unit_amount": 12_000, "quantity": 8, "unit": "HUR"},
                                     {"description": "Reisekosten", "unit_amount": 4_999}],
                        default_tax_rates=[_rate(api, 19)])
    return inv, api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "reason": "order_change",
                                                    "memo": "Zwei Stunden weniger", "lines": [
        {"type": "invoice_line_item", "invoice_line_item": inv["lines"]["data"][0]["id"], "quantity": 2}]})


def two_rates_by_amount(api: Api, buyer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    r19, r7 = _rate(api, 19), _rate(api, 7)
    inv = issue_invoice(api, buyer, [{"description": "Beratung", "unit_amount": 10_000, "tax_rates": [r19]},
                                     {"description": "Buch", "unit_amount": 3_333, "quantity": 3, "tax_rates": [r7]}])
    return inv, api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 9_999})


def inclusive_with_coupon(api: Api, buyer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    api.ok("POST", "/v1/coupons", {"id": "TREUE", "name": "Treuerabatt", "percent_off": 7.5})
    inv = issue_invoice(api, buyer, [{"description": f"Artikel {i}", "unit_amount": 1_999 + 37 * i, "quantity": i + 1}
                                     for i in range(4)],
                        default_tax_rates=[_rate(api, 19, inclusive=True)], discounts=[{"coupon": "TREUE"}])
    lines = [{"type": "invoice_line_item", "invoice_line_item": line["id"], "quantity": 1}
             for line in inv["lines"]["data"][1:]]
    return inv, api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "lines": lines})


def paid_with_custom_lines(api: Api, buyer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    r19 = _rate(api, 19)
    inv = issue_invoice(api, buyer, [{"description": "Lizenz", "unit_amount": 9_990, "quantity": 3}],
                        default_tax_rates=[r19], service_period={"start": 1_767_225_600, "end": 1_769_817_600})
    inv = api.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True})
    cn = api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "credit_amount": 5_950, "lines": [
        {"type": "custom_line_item", "description": "Kulanz", "unit_amount": 2_500, "quantity": 2, "unit": "HUR",
         "tax_rates": [r19]}]})
    return inv, cn


def no_tax(api: Api, buyer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    inv = issue_invoice(api, buyer, [{"description": "Übersetzung", "unit_amount": 4_500, "quantity": 2}],
                        default_tax_rates=[])
    return inv, api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 4_500})


def dollars(api: Api, buyer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    inv = issue_invoice(api, buyer, [{"description": "Hosting", "unit_amount": 12_345, "quantity": 2, "unit": "MON"}],
                        currency="usd", default_tax_rates=[_rate(api, 8.875)])
    return inv, api.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 1_001})


SCENARIOS: dict[str, Callable[[Api, dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]] = {
    "by_quantity": by_quantity, "two_rates_by_amount": two_rates_by_amount,
    "inclusive_with_coupon": inclusive_with_coupon, "paid_with_custom_lines": paid_with_custom_lines,
    "no_tax": no_tax, "dollars": dollars,
}


def _reference(xml: bytes) -> tuple[str, str, str | None]:
    """(type code, BT-25, BT-26 as written) of a CII or UBL document."""
    root = etree.fromstring(xml)
    if root.tag == CII_ROOT:
        ref = next(root.iter(f"{RAM}InvoiceReferencedDocument"))
        code = root.find(f"{RSM}ExchangedDocument/{RAM}TypeCode")
        assert code is not None
        return (code.text or "", ref.findtext(f"{RAM}IssuerAssignedID") or "",
                ref.findtext(f"{RAM}FormattedIssueDateTime/{QDT}DateTimeString"))
    assert root.tag == UBL_CREDIT_NOTE_ROOT, root.tag
    ref = root.find(f"{CAC}BillingReference/{CAC}InvoiceDocumentReference")
    assert ref is not None
    return (root.findtext(f"{CBC}CreditNoteTypeCode") or "", ref.findtext(f"{CBC}ID") or "",
            ref.findtext(f"{CBC}IssueDate"))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_format_passes_the_official_rules_as_a_credit_note_of_its_invoice(
        seller: Api, buyer: dict[str, Any], rules: Rules, scenario: str) -> None:
    inv, cn = SCENARIOS[scenario](seller, buyer)
    cur = cn["currency"]
    expected = {"BT-109": major(cn["total"] - cn["tax"], cur), "BT-110": major(cn["tax"], cur),
                "BT-112": major(cn["total"], cur), "BT-115": major(cn["total"], cur)}
    issued = datetime.fromtimestamp(inv["status_transitions"]["finalized_at"], UTC).date()
    for fmt in FORMATS:
        response = seller.get(f"/v1/credit_notes/{cn['id']}/einvoice?format={fmt}")
        assert response.status_code == 200, (fmt, response.get_json())
        assert response.mimetype == "application/xml" and cn["number"] in response.headers["Content-Disposition"]
        xml = response.data
        assert xsd_errors(xml) == [], fmt
        assert rules.errors(xml, xrechnung=fmt.startswith("xrechnung")) == [], fmt
        stated = amounts(xml)
        assert {bt: stated.get(bt) for bt in expected} == expected, fmt
        code, number, date = _reference(xml)
        assert (code, number) == ("381", inv["number"]), fmt
        assert date in (issued.strftime("%Y%m%d"), issued.isoformat()), fmt
    rules.skip_if_absent()


def test_the_default_format_is_the_customers_and_refusals_are_the_invoices(seller: Api,
                                                                           buyer: dict[str, Any]) -> None:
    _, cn = by_quantity(seller, buyer)
    response = seller.get(f"/v1/credit_notes/{cn['id']}/einvoice")
    assert response.status_code == 200 and etree.fromstring(response.data).tag == UBL_CREDIT_NOTE_ROOT
    assert "xrechnung-ubl" in response.headers["Content-Disposition"]
    plain = seller.ok("POST", "/v1/customers", {"name": "Ohne Leitweg", "email": "x@example.com",
                                                "address": {"country": "DE", "city": "Köln", "postal_code": "50667",
                                                            "line1": "Domplatz 1"}})
    inv = issue_invoice(seller, plain, [{"description": "X", "unit_amount": 1_000}], default_tax_rates=[])
    other = seller.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 100})
    refused = seller.get(f"/v1/credit_notes/{other['id']}/einvoice?format=xrechnung_cii")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "buyer_reference_required"
    assert seller.get(f"/v1/credit_notes/{other['id']}/einvoice").status_code == 200  # facturx
    assert seller.get("/v1/credit_notes/cn_unknown/einvoice").status_code == 404


def test_an_invoice_that_took_credit_still_passes_with_it_as_its_paid_amount(seller: Api, buyer: dict[str, Any],
                                                                            rules: Rules) -> None:
    """A balance applied at finalization and a pre-payment credit note lower what is due: the
    invoice's XML says so as its paid amount (BT-113 = total - amount_remaining, BR-CO-16)."""
    first = issue_invoice(seller, buyer, [{"description": "Alt", "unit_amount": 10_000}], default_tax_rates=[])
    first = seller.ok("POST", f"/v1/invoices/{first['id']}/pay", {"paid_out_of_band": True})
    seller.ok("POST", "/v1/credit_notes", {"invoice": first["id"], "amount": 2_500, "credit_amount": 2_500})
    inv = issue_invoice(seller, buyer, [{"description": "Neu", "unit_amount": 10_000, "quantity": 2}],
                        default_tax_rates=[_rate(seller, 19)])
    assert (inv["starting_balance"], inv["ending_balance"]) == (-2_500, 0)
    seller.ok("POST", "/v1/credit_notes", {"invoice": inv["id"], "amount": 1_000})
    inv = seller.ok("GET", f"/v1/invoices/{inv['id']}")
    assert inv["amount_remaining"] == inv["total"] - 2_500 - 1_000
    for fmt in FORMATS:
        xml = seller.get(f"/v1/invoices/{inv['id']}/einvoice?format={fmt}").data
        assert xsd_errors(xml) == [] and rules.errors(xml, xrechnung=fmt.startswith("xrechnung")) == [], fmt
        stated = amounts(xml)
        assert stated["BT-112"] == major(inv["total"], "eur")
        assert stated["BT-113"] == major(3_500, "eur") and stated["BT-115"] == major(inv["amount_remaining"], "eur")
    rules.skip_if_absent()
