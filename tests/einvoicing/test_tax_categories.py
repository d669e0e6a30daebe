"""Tax categories (SPEC §10): reverse charge (AE), exempt (E) and a small business's § 19 UStG (E),
decided at finalization and frozen with the invoice; every XML still passes the official rules."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from tests.conftest import Api
from tests.einvoicing.rules import Rules
from tests.einvoicing.test_einvoice_api import LEITWEG, PROFILE, assert_valid_everywhere, get_xml

RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
FR_VAT = "FR40303265045"
REVERSE_NOTE = "Reverse charge – VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"


@pytest.fixture()
def seller(api: Api) -> Api:
    """A German seller (DE123456788) whose account charges 19 % in Germany and France."""
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    for country in ("DE", "FR"):
        api.ok("POST", "/v1/tax_rates", {"display_name": "USt", "percentage": 19, "country": country})
    return api


def customer(api: Api, tax_exempt: str, tax_ids: list[str], country: str = "FR") -> dict[str, Any]:
    return api.ok("POST", "/v1/customers", {  # type: ignore[no-any-return]
        "email": "ap@client.example", "name": "Client SARL", "tax_exempt": tax_exempt,
        "address": {"line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": country},
        "tax_ids": [{"type": "eu_vat", "value": value} for value in tax_ids],
        "einvoice": {"buyer_reference": LEITWEG},
    })


def draft(api: Api, cust: dict[str, Any]) -> dict[str, Any]:
    inv = api.ok("POST", "/v1/invoices", {"customer": cust["id"], "collection_method": "send_invoice",
                                          "days_until_due": 14})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Beratung", "unit_amount": 12_000,
                                                        "quantity": 8, "unit": "HUR"})
    return api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Lizenz", "unit_amount": 4_999})


def finalize(api: Api, inv: dict[str, Any]) -> Any:
    return api.post(f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})


def issued(api: Api, cust: dict[str, Any]) -> dict[str, Any]:
    response = finalize(api, draft(api, cust))
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def cii_tax(xml: bytes) -> list[tuple[str | None, str | None, str | None]]:
    """Per VAT breakdown (BG-23) of a CII document: category, exemption reason, reason code."""
    root = etree.fromstring(xml)
    header = next(root.iter(f"{RAM}ApplicableHeaderTradeSettlement"))
    return [(t.findtext(f"{RAM}CategoryCode"), t.findtext(f"{RAM}ExemptionReason"),
             t.findtext(f"{RAM}ExemptionReasonCode")) for t in header.findall(f"{RAM}ApplicableTradeTax")]


def cii_buyer_vat_id(xml: bytes) -> str | None:
    buyer = next(etree.fromstring(xml).iter(f"{RAM}BuyerTradeParty"))
    return buyer.findtext(f"{RAM}SpecifiedTaxRegistration/{RAM}ID")


def ubl_categories(xml: bytes) -> set[str | None]:
    """Every VAT category code a UBL document names (breakdown and lines)."""
    root = etree.fromstring(xml)
    return {c.findtext(f"{CBC}ID") for tag in ("TaxCategory", "ClassifiedTaxCategory")
            for c in root.iter(f"{CAC}{tag}")}


def notes(xml: bytes) -> str:
    root = etree.fromstring(xml)
    return " ".join(n.text or "" for n in [*root.iter(f"{RAM}Content"), *root.iter(f"{CBC}Note")])


def test_reverse_charge_to_another_member_state(seller: Api, rules: Rules) -> None:
    inv = issued(seller, customer(seller, "reverse", [FR_VAT]))
    assert (inv["subtotal"], inv["tax"], inv["total"]) == (100_999, 0, 100_999)
    assert [(t["tax_rate"], t["category"], t["amount"], t["taxable_amount"]) for t in inv["tax_amounts"]] == [
        (None, "AE", 0, 100_999)]
    documents = assert_valid_everywhere(seller, rules, inv)
    for fmt in ("facturx", "xrechnung_cii"):
        assert cii_tax(documents[fmt]) == [("AE", "Reverse charge", "VATEX-EU-AE")], fmt
        assert cii_buyer_vat_id(documents[fmt]) == FR_VAT, fmt
        assert "Steuerschuldnerschaft des Leistungsempfängers" in notes(documents[fmt])
        assert REVERSE_NOTE in notes(documents[fmt])
    for fmt in ("ubl", "xrechnung_ubl"):
        assert ubl_categories(documents[fmt]) == {"AE"}, fmt
        assert FR_VAT.encode() in documents[fmt] and REVERSE_NOTE in notes(documents[fmt])
    rules.skip_if_absent()


def test_reverse_charge_without_an_eu_vat_id_is_refused_and_nothing_changes(seller: Api) -> None:
    cust = customer(seller, "reverse", [])
    inv = draft(seller, cust)
    assert inv["tax"] == 0  # the draft already previews the reverse charge
    response = finalize(seller, inv)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "customer_tax_id_required",
                                                              "customer")
    assert "eu_vat" in error["message"] and "tax_ids" in error["message"]
    after = seller.ok("GET", f"/v1/invoices/{inv['id']}")
    assert (after["status"], after["number"], after["hosted_invoice_url"]) == ("draft", None, None)
    # No number was used up: the first invoice that does finalize gets the first one.
    seller.ok("POST", f"/v1/customers/{cust['id']}", {"tax_ids": [{"type": "eu_vat", "value": FR_VAT}]})
    assert seller.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})["number"].endswith("0001")


def test_reverse_charge_needs_a_vat_id_of_another_member_state_than_the_sellers(seller: Api,
                                                                                 rules: Rules) -> None:
    cust = customer(seller, "reverse", ["DE136695976"], country="DE")
    inv = draft(seller, cust)
    response = finalize(seller, inv)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "customer_tax_id_required"
    assert "DE136695976" in error["message"] and "another member state" in error["message"]
    assert seller.ok("GET", f"/v1/invoices/{inv['id']}")["status"] == "draft"
    # With an Austrian VAT id as well, that one is the buyer's VAT id of the reverse charge.
    seller.ok("POST", f"/v1/customers/{cust['id']}", {"tax_ids": [{"type": "eu_vat", "value": "DE136695976"},
                                                                  {"type": "eu_vat", "value": "ATU13585627"}]})
    final = seller.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})
    assert final["tax"] == 0
    documents = assert_valid_everywhere(seller, rules, final)
    assert cii_tax(documents["facturx"])[0][0] == "AE"
    assert cii_buyer_vat_id(documents["facturx"]) == "ATU13585627"
    rules.skip_if_absent()


def test_an_exempt_customer_is_exempt_from_vat(seller: Api, rules: Rules) -> None:
    inv = issued(seller, customer(seller, "exempt", [FR_VAT]))
    assert inv["tax"] == 0 and inv["total"] == inv["subtotal"]
    documents = assert_valid_everywhere(seller, rules, inv)
    assert cii_tax(documents["xrechnung_cii"]) == [("E", "VAT exempt", None)]
    assert ubl_categories(documents["ubl"]) == {"E"}
    assert "VAT exempt" in notes(documents["facturx"])
    rules.skip_if_absent()


def test_a_small_business_charges_no_vat_even_with_account_rates(seller: Api, rules: Rules) -> None:
    seller.ok("POST", "/v1/account/business_profile", {"small_business": True})
    cust = customer(seller, "none", [], country="DE")
    inv = draft(seller, cust)
    assert inv["tax"] == 0  # the draft too
    assert [(t["tax_rate"], t["category"], t["amount"], t["taxable_amount"]) for t in inv["tax_amounts"]] == [
        (None, "E", 0, inv["subtotal"])]
    final = seller.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})
    assert (final["tax"], final["total"]) == (0, 100_999)
    documents = assert_valid_everywhere(seller, rules, final)
    assert cii_tax(documents["facturx"]) == [("E", "Kleinunternehmer gemäß § 19 UStG", None)]
    assert "§ 19 UStG" in notes(documents["xrechnung_ubl"])
    rules.skip_if_absent()


def test_a_customer_without_exemption_still_pays_the_accounts_rate(seller: Api) -> None:
    inv = issued(seller, customer(seller, "none", [FR_VAT]))
    assert inv["tax"] == 19_190 and len(inv["tax_amounts"]) == 1
    assert cii_tax(get_xml(seller, inv["id"], "facturx").data) == [("S", None, None)]


def test_changing_the_customers_exemption_changes_no_issued_document(seller: Api) -> None:
    cust = customer(seller, "reverse", [FR_VAT])
    inv = issued(seller, cust)
    before = {fmt: get_xml(seller, inv["id"], fmt).data for fmt in ("facturx", "xrechnung_ubl")}
    seller.ok("POST", f"/v1/customers/{cust['id']}", {"tax_exempt": "none", "tax_ids": []})
    seller.ok("POST", "/v1/account/business_profile", {"small_business": True})
    assert {fmt: get_xml(seller, inv["id"], fmt).data for fmt in before} == before
    assert seller.ok("GET", f"/v1/invoices/{inv['id']}")["tax"] == 0
    # The customer's next invoice follows the change: standard again, 19 % of France.
    seller.ok("POST", "/v1/account/business_profile", {"small_business": False})
    assert issued(seller, cust)["tax"] == 19_190
