"""``GET /v1/invoices/{id}/einvoice`` (SPEC §10): every XML VINR writes passes its syntax's XSD
and the official rules with no error (EN 16931; XRechnung too for ``xrechnung_*``), and says
the invoice object's amounts exactly (BT-106 … BT-115)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from app.money import exponent
from tests.conftest import Api, Merchant, make_merchant
from tests.einvoicing.rules import CII_ROOT, Rules, xsd_errors

FORMATS = ("facturx", "xrechnung_cii", "xrechnung_ubl", "ubl")
PROFILE = {
    "legal_name": "Acme GmbH",
    "address": {"line1": "Marienplatz 1", "city": "München", "postal_code": "80331", "country": "DE"},
    "vat_id": "DE123456788", "registration": "Amtsgericht München HRB 12345", "email": "billing@acme.example",
    "phone": "+49 89 1234567", "bank_account": {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
}
JAN, FEB = 1_767_225_600, 1_769_904_000  # 2026-01-01 and 2026-02-01, unix seconds
LEITWEG = "04011000-12345-03"

RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
# BT -> (CII element in the header's monetary summation, UBL path from the root)
TOTALS = {
    "BT-106": ("LineTotalAmount", f"{CAC}LegalMonetaryTotal/{CBC}LineExtensionAmount"),
    "BT-107": ("AllowanceTotalAmount", f"{CAC}LegalMonetaryTotal/{CBC}AllowanceTotalAmount"),
    "BT-109": ("TaxBasisTotalAmount", f"{CAC}LegalMonetaryTotal/{CBC}TaxExclusiveAmount"),
    "BT-110": ("TaxTotalAmount", f"{CAC}TaxTotal/{CBC}TaxAmount"),
    "BT-112": ("GrandTotalAmount", f"{CAC}LegalMonetaryTotal/{CBC}TaxInclusiveAmount"),
    "BT-113": ("TotalPrepaidAmount", f"{CAC}LegalMonetaryTotal/{CBC}PrepaidAmount"),
    "BT-115": ("DuePayableAmount", f"{CAC}LegalMonetaryTotal/{CBC}PayableAmount"),
}


def amounts(xml: bytes) -> dict[str, Decimal]:
    """The document totals the XML states, by business term (absent ones left out)."""
    root = etree.fromstring(xml)
    header = next(root.iter(f"{RAM}SpecifiedTradeSettlementHeaderMonetarySummation"), None)
    found: dict[str, Decimal] = {}
    for bt, (cii, ubl) in TOTALS.items():
        node = header.find(f"{RAM}{cii}") if header is not None else root.find(ubl)
        if node is not None:
            found[bt] = Decimal(node.text)
    return found


def major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def get_xml(api: Api, invoice_id: str, fmt: str | None = None) -> Any:
    return api.get(f"/v1/invoices/{invoice_id}/einvoice" + (f"?format={fmt}" if fmt else ""))


def assert_valid_everywhere(api: Api, rules: Rules, inv: dict[str, Any]) -> dict[str, bytes]:
    """Every format of ``inv``: 200, XML passing its XSD and the official rules, with the
    invoice object's amounts exactly."""
    cur = inv["currency"]
    expected = {"BT-109": major(inv["total"] - inv["tax"], cur), "BT-110": major(inv["tax"], cur),
                "BT-112": major(inv["total"], cur), "BT-113": major(inv["amount_paid"], cur),
                "BT-115": major(inv["amount_remaining"], cur)}
    inclusive = any(t["inclusive"] for t in inv["tax_amounts"])
    if not inclusive:  # inclusive prices: BT-106/107 are the net parts of subtotal and discount
        expected["BT-106"] = major(inv["subtotal"], cur)
        if inv["discount"]:
            expected["BT-107"] = major(inv["discount"], cur)
    documents = {}
    for fmt in FORMATS:
        response = get_xml(api, inv["id"], fmt)
        assert response.status_code == 200, (fmt, response.get_json())
        assert response.mimetype == "application/xml"
        assert inv["number"] in response.headers["Content-Disposition"]
        xml = response.data
        assert xsd_errors(xml) == [], fmt
        assert rules.errors(xml, xrechnung=fmt.startswith("xrechnung")) == [], fmt
        stated = amounts(xml)
        assert {bt: stated.get(bt) for bt in expected} == expected, fmt
        documents[fmt] = xml
    return documents


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
        "einvoice": {"buyer_reference": LEITWEG, "format": "xrechnung_cii"},
    })


def issue(api: Api, customer: dict[str, Any], lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                          "days_until_due": 14, **fields})
    for line in lines:
        api.ok("POST", f"/v1/invoices/{inv['id']}/lines", line)
    return api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False})


def _rate(api: Api, percentage: float, inclusive: bool = False) -> str:
    return api.ok("POST", "/v1/tax_rates", {"display_name": f"USt {percentage}", "percentage": percentage,
                                            "inclusive": inclusive})["id"]


def one_rate(api: Api, buyer: dict[str, Any]) -> dict[str, Any]:
    return issue(api, buyer, [{"description": "Beratung", "unit_amount": 12_000, "quantity": 8, "unit": "HUR"},
                              {"description": "Reisekosten", "unit_amount": 4_999}],
                 default_tax_rates=[_rate(api, 19)])


def inclusive_with_coupon(api: Api, buyer: dict[str, Any]) -> dict[str, Any]:
    api.ok("POST", "/v1/coupons", {"id": "TREUE", "name": "Treuerabatt", "percent_off": 7.5})
    return issue(api, buyer, [{"description": f"Artikel {i}", "unit_amount": 1_999 + 37 * i, "quantity": i + 1}
                              for i in range(7)],
                 default_tax_rates=[_rate(api, 19, inclusive=True)], discounts=[{"coupon": "TREUE"}])


def coupons(api: Api, buyer: dict[str, Any]) -> dict[str, Any]:
    api.ok("POST", "/v1/coupons", {"id": "ZEHN", "name": "Zehn Prozent", "percent_off": 10})
    api.ok("POST", "/v1/coupons", {"id": "FUENF", "amount_off": 500, "currency": "eur"})
    return issue(api, buyer, [{"description": "Lizenz", "unit_amount": 9_990, "quantity": 3},
                              {"description": "Support", "unit_amount": 1_234, "quantity": 7, "unit": "HUR"}],
                 default_tax_rates=[_rate(api, 7)], discounts=[{"coupon": "ZEHN"}, {"coupon": "FUENF"}])


def yen(api: Api, buyer: dict[str, Any]) -> dict[str, Any]:
    return issue(api, buyer, [{"description": "コンサルティング", "unit_amount": 15_000, "quantity": 3, "unit": "HUR"},
                              {"description": "交通費", "unit_amount": 2_400}],
                 currency="jpy", default_tax_rates=[_rate(api, 10)])


def dollars(api: Api, buyer: dict[str, Any]) -> dict[str, Any]:
    return issue(api, buyer, [{"description": "Hosting", "unit_amount": 12_345, "quantity": 2, "unit": "MON"}],
                 currency="usd", default_tax_rates=[_rate(api, 8.875)])


def service_period(api: Api, buyer: dict[str, Any]) -> dict[str, Any]:
    return issue(api, buyer, [{"description": "Wartung Januar", "unit_amount": 50_000, "unit": "MON",
                               "service_period": {"start": JAN, "end": FEB - 86400}},
                              {"description": "Einrichtung", "unit_amount": 10_000}],
                 service_period={"start": JAN, "end": FEB - 86400}, default_tax_rates=[_rate(api, 19)])


def long_text(api: Api, buyer: dict[str, Any]) -> dict[str, Any]:
    text = "Ünïcödé & <markup> \"quoted\" — 日本語 — Ελληνικά — 🧾 " * 80
    return issue(api, buyer, [{"description": text[:5000], "unit_amount": 777},
                              {"description": "Straße & Söhne <GmbH>", "unit_amount": 1}],
                 description=text[:5000], footer="Vielen Dank für Ihren Auftrag! " * 50,
                 default_tax_rates=[_rate(api, 19)])


def many_lines(api: Api, buyer: dict[str, Any]) -> dict[str, Any]:
    return issue(api, buyer, [{"description": f"Position {i}", "unit_amount": 100 + 13 * i, "quantity": 1 + i % 4,
                               "unit": ("C62", "HUR", "DAY", "KGM")[i % 4]} for i in range(250)],
                 default_tax_rates=[_rate(api, 19)])


def no_tax(api: Api, buyer: dict[str, Any]) -> dict[str, Any]:
    return issue(api, buyer, [{"description": "Übersetzung", "unit_amount": 4_500, "quantity": 2}],
                 default_tax_rates=[])


SCENARIOS: dict[str, Callable[[Api, dict[str, Any]], dict[str, Any]]] = {
    "one_rate": one_rate, "inclusive_with_coupon": inclusive_with_coupon, "coupons": coupons, "yen": yen,
    "dollars": dollars, "service_period": service_period, "long_text": long_text, "250_lines": many_lines,
    "no_tax": no_tax,
}


@pytest.mark.parametrize("bank", [True, False], ids=["bank_account", "no_bank_account"])
@pytest.mark.parametrize("scenario", [  # 250 lines through the official rules take seconds a format
    pytest.param(name, marks=pytest.mark.slow) if name == "250_lines" else name for name in SCENARIOS])
def test_every_format_passes_the_official_rules_with_the_invoice_amounts(
        seller: Api, buyer: dict[str, Any], rules: Rules, scenario: str, bank: bool) -> None:
    if not bank:
        seller.ok("POST", "/v1/account/business_profile", {"bank_account": None})
    inv = SCENARIOS[scenario](seller, buyer)
    documents = assert_valid_everywhere(seller, rules, inv)
    cii = documents["facturx"].decode()
    if bank:
        assert "<ram:TypeCode>58</ram:TypeCode>" in cii or inv["currency"] != "eur"
        assert "DE89370400440532013000" in cii
    else:
        assert "<ram:TypeCode>68</ram:TypeCode>" in cii and "IBANID" not in cii
    rules.skip_if_absent()


def test_a_small_business_invoice_is_exempt_and_says_why(seller: Api, buyer: dict[str, Any], rules: Rules) -> None:
    seller.ok("POST", "/v1/account/business_profile", {"small_business": True})
    inv = no_tax(seller, buyer)
    documents = assert_valid_everywhere(seller, rules, inv)
    assert "<ram:CategoryCode>E</ram:CategoryCode>" in documents["facturx"].decode()
    assert "§ 19 UStG" in documents["xrechnung_ubl"].decode()
    rules.skip_if_absent()


def test_a_paid_invoice_says_what_was_paid_and_that_nothing_is_due(seller: Api, buyer: dict[str, Any],
                                                                    rules: Rules) -> None:
    seller.ok("POST", f"/v1/customers/{buyer['id']}/payment_methods", {
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}, "set_default": True})
    inv = one_rate(seller, buyer)
    paid = seller.ok("POST", f"/v1/invoices/{inv['id']}/pay")
    assert paid["status"] == "paid" and paid["amount_paid"] == paid["total"] > 0
    documents = assert_valid_everywhere(seller, rules, paid)
    assert amounts(documents["ubl"])["BT-115"] == 0
    assert amounts(documents["facturx"])["BT-113"] == Decimal(paid["total"]) / 100
    rules.skip_if_absent()


def test_a_partly_paid_invoice_quotes_its_rf_reference_and_what_remains(seller: Api, buyer: dict[str, Any],
                                                                         rules: Rules) -> None:
    inv = one_rate(seller, buyer)
    part = seller.ok("POST", f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True, "amount": 1_000})
    assert part["status"] == "open" and part["amount_paid"] == 1_000
    documents = assert_valid_everywhere(seller, rules, part)  # BT-113 and BT-115 as the invoice says
    reference = part["payment_reference"]
    assert reference.startswith("RF")
    cii = etree.fromstring(documents["facturx"])
    assert [node.text for node in cii.iter(f"{RAM}PaymentReference")] == [reference]  # BT-83
    ubl = etree.fromstring(documents["ubl"])
    assert [node.text for node in ubl.iter("{*}PaymentID")] == [reference]
    rules.skip_if_absent()


def test_the_supply_date_is_the_finalization_date_without_a_period(seller: Api, buyer: dict[str, Any]) -> None:
    inv = one_rate(seller, buyer)
    ubl = etree.fromstring(get_xml(seller, inv["id"], "ubl").data)
    day = ubl.findtext(f"{CAC}Delivery/{CBC}ActualDeliveryDate")
    assert day == ubl.findtext(f"{CBC}IssueDate") and day is not None
    with_period = service_period(seller, buyer)
    ubl = etree.fromstring(get_xml(seller, with_period["id"], "ubl").data)
    assert ubl.find(f"{CAC}Delivery") is None
    assert (ubl.findtext(f"{CAC}InvoicePeriod/{CBC}StartDate"), ubl.findtext(f"{CAC}InvoicePeriod/{CBC}EndDate")) \
        == ("2026-01-01", "2026-01-31")


def test_the_default_format_is_the_customers_else_facturx(seller: Api, buyer: dict[str, Any]) -> None:
    inv = one_rate(seller, buyer)
    response = get_xml(seller, inv["id"])
    assert "xrechnung-cii" in response.headers["Content-Disposition"]
    assert b"urn:xeinkauf.de:kosit:xrechnung_3.0" in response.data
    seller.ok("POST", f"/v1/customers/{buyer['id']}", {"einvoice": {"format": "none"}})
    response = get_xml(seller, inv["id"])
    assert response.status_code == 200 and "factur-x" in response.headers["Content-Disposition"]
    assert etree.fromstring(response.data).tag == CII_ROOT and b"xrechnung" not in response.data
    disposition = get_xml(seller, inv["id"], "ubl").headers["Content-Disposition"]
    assert disposition == f"attachment; filename=invoice-{inv['number']}-ubl.xml"


def test_an_issued_invoice_keeps_its_seller_and_buyer(seller: Api, buyer: dict[str, Any]) -> None:
    inv = one_rate(seller, buyer)
    before = get_xml(seller, inv["id"], "facturx").data
    seller.ok("POST", "/v1/account/business_profile", {"legal_name": "Acme Neu GmbH", "bank_account": None})
    seller.ok("POST", f"/v1/customers/{buyer['id']}", {"name": "Other Name", "tax_ids": []})
    assert get_xml(seller, inv["id"], "facturx").data == before


def error_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 409, (response.status_code, response.data[:300])
    return response.get_json()["error"]  # type: ignore[no-any-return]


def test_a_draft_has_no_einvoice(seller: Api, buyer: dict[str, Any]) -> None:
    inv = seller.ok("POST", "/v1/invoices", {"customer": buyer["id"]})
    assert error_of(get_xml(seller, inv["id"]))["code"] == "invoice_unexpected_status"


def test_an_incomplete_profile_is_named(api: Api, customer: dict[str, Any]) -> None:
    api.ok("POST", "/v1/account/business_profile", {"legal_name": "Acme GmbH", "email": "billing@acme.example"})
    inv = issue(api, customer, [{"unit_amount": 1000}], buyer_reference=LEITWEG)
    error = error_of(get_xml(api, inv["id"], "ubl"))
    assert error["code"] == "business_profile_incomplete"
    for name in ("address[line1]", "address[city]", "vat_id_or_tax_number"):
        assert name in error["message"]
    assert "phone" not in error["message"]  # only XRechnung needs the seller's telephone
    assert "phone" in error_of(get_xml(api, inv["id"], "xrechnung_ubl"))["message"]


def test_xrechnung_needs_a_phone_and_a_buyer_reference(api: Api, customer: dict[str, Any]) -> None:
    api.ok("POST", "/v1/account/business_profile", {**PROFILE, "phone": None})
    inv = issue(api, customer, [{"unit_amount": 1000}])
    assert inv["buyer_reference"] is None
    error = error_of(get_xml(api, inv["id"], "xrechnung_cii"))
    assert error["code"] == "business_profile_incomplete" and "phone" in error["message"]
    api.ok("POST", "/v1/account/business_profile", {"phone": "+49 89 1234567"})
    inv = issue(api, customer, [{"unit_amount": 1000}])
    for fmt in ("xrechnung_cii", "xrechnung_ubl"):
        assert error_of(get_xml(api, inv["id"], fmt))["code"] == "buyer_reference_required"
    assert get_xml(api, inv["id"], "facturx").status_code == 200


def test_a_buyer_without_an_address_is_named(seller: Api) -> None:
    nameless = seller.ok("POST", "/v1/customers", {"email": "x@example.com"})
    inv = issue(seller, nameless, [{"unit_amount": 1000}])
    error = error_of(get_xml(seller, inv["id"], "facturx"))
    assert error["code"] == "customer_details_incomplete"
    assert "name" in error["message"] and "address[country]" in error["message"]


def test_a_currency_with_three_decimals_has_no_einvoice(seller: Api, buyer: dict[str, Any]) -> None:
    inv = issue(seller, buyer, [{"unit_amount": 12_345}], currency="kwd")
    error = error_of(get_xml(seller, inv["id"], "ubl"))
    assert error["code"] == "einvoice_unsupported" and "KWD" in error["message"]


def test_an_invoice_without_lines_has_no_einvoice(seller: Api, buyer: dict[str, Any]) -> None:
    inv = issue(seller, buyer, [])
    assert error_of(get_xml(seller, inv["id"], "facturx"))["code"] == "einvoice_unsupported"


def test_unknown_format_and_foreign_invoices(seller: Api, buyer: dict[str, Any], client: Any,
                                             db_session: Any) -> None:
    inv = one_rate(seller, buyer)
    response = get_xml(seller, inv["id"], "pdf")
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "format"
    other: Merchant = make_merchant(client, db_session, name="Globex Ltd", prefix="GLOBEX")
    assert get_xml(other.test, inv["id"]).status_code == 404
    assert get_xml(Api(client, "sk_test_nope", "x"), inv["id"]).status_code == 401
