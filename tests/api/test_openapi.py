"""The OpenAPI document is valid, and what the API really answers matches it
(the response models in app/api/objects.py forbid unknown fields)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from app.api import objects as o
from app.api.branding import BrandingObject
from app.api.business_profile import BusinessProfileObject


def test_the_document_is_valid_openapi_3_1(client: Any) -> None:
    doc = client.get("/v1/openapi.json").get_json()
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
    assert len(doc["paths"]) >= 25


def test_real_responses_match_the_documented_shapes(api: Any, customer: dict[str, Any]) -> None:
    o.CustomerObject.model_validate(customer)
    BusinessProfileObject.model_validate(api.ok("GET", "/v1/account/business_profile"))
    BusinessProfileObject.model_validate(api.ok("POST", "/v1/account/business_profile", {
        "legal_name": "Acme GmbH", "vat_id": "DE123456788", "bank_account": {"iban": "DE89370400440532013000"},
        "address": {"country": "DE"}}))
    o.CustomerObject.model_validate(api.ok("POST", f"/v1/customers/{customer['id']}", {
        "tax_ids": [{"type": "eu_vat", "value": "ATU13585627"}], "einvoice": {"format": "xrechnung_cii"}}))
    o.InvoiceItemObject.model_validate(api.ok("POST", "/v1/invoiceitems", {
        "customer": customer["id"], "amount": 300, "unit": "HUR", "service_period": {"start": 0, "end": 3600}}))
    api.ok("POST", "/v1/tax_rates", {"display_name": "USt", "percentage": 19, "country": "DE"})
    o.CouponObject.model_validate(api.ok("POST", "/v1/coupons", {"id": "TEN", "percent_off": 10}))
    o.PriceObject.model_validate(api.ok("POST", "/v1/prices", {"unit_amount": 500, "currency": "eur"}))
    o.InvoiceItemObject.model_validate(api.ok("POST", "/v1/invoiceitems", {"customer": customer["id"], "amount": 300}))
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "discounts": [{"coupon": "TEN"}]})
    inv = api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"unit_amount": 1000, "quantity": 2})
    o.InvoiceObject.model_validate(inv)
    pm = api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
                {"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
                 "set_default": True})
    o.PaymentMethodObject.model_validate(pm)
    paid = api.ok("POST", f"/v1/invoices/{inv['id']}/finalize")
    o.InvoiceObject.model_validate(paid)
    assert paid["status"] == "paid" and paid["tax_amounts"] and paid["discounts"]
    o.PaymentObject.model_validate(api.ok("GET", f"/v1/payments/{paid['payment']}"))
    o.InvoiceObject.model_validate(api.ok("GET", f"/v1/invoices/{inv['id']}", query_string={"expand[]": "customer"}))
    o.InvoiceList.model_validate(api.ok("GET", "/v1/invoices", query_string={"expand[]": "customer"}))
    o.LineList.model_validate(api.ok("GET", f"/v1/invoices/{inv['id']}/lines"))
    o.EventList.model_validate(api.ok("GET", "/v1/events"))
    o.PaymentList.model_validate(api.ok("GET", "/v1/payments"))
    for path, model in (("/v1/customers", o.CustomerList), ("/v1/prices", o.PriceList),
                        ("/v1/coupons", o.CouponList), ("/v1/tax_rates", o.TaxRateList),
                        ("/v1/invoiceitems", o.InvoiceItemList),
                        (f"/v1/customers/{customer['id']}/payment_methods", o.PaymentMethodList)):
        model.model_validate(api.ok("GET", path))
    BrandingObject.model_validate(api.ok("POST", "/v1/account/branding", {"theme": "classic"}))
    o.Deleted.model_validate(api.ok("DELETE", "/v1/coupons/TEN"))
    o.Error.model_validate(api.get("/v1/invoices/inv_nope").get_json())
    o.Error.model_validate(api.post(f"/v1/customers/{customer['id']}/payment_methods",
                                    {"card": {"number": "4000000000000001", "exp_month": 1, "exp_year": 2040,
                                              "cvc": "123"}}).get_json())


def _documented(doc: dict[str, Any], schema: str, body: dict[str, Any]) -> bool:
    root = {"$ref": f"#/components/schemas/{schema}", "components": doc["components"]}
    return Draft202012Validator(root).is_valid(body)


@pytest.mark.parametrize(("path", "schema", "body", "accepted"), [
    ("/v1/customers", "CustomerCreate", {"address": {"country": "de"}, "metadata": {"k": "v"}}, True),
    ("/v1/customers", "CustomerCreate", {"address": {"country": "DEU"}}, False),
    ("/v1/customers", "CustomerCreate", {"metadata": {"": "v"}}, False),
    ("/v1/customers", "CustomerCreate", {"metadata": {"k" * 41: "v"}}, False),
    ("/v1/customers", "CustomerCreate", {"metadata": {"k": "v" * 501}}, False),
    ("/v1/customers", "CustomerCreate", {"metadata": {f"k{i}": "v" for i in range(51)}}, False),
    ("/v1/prices", "PriceCreate", {"unit_amount": 500, "currency": "EUR"}, True),
    ("/v1/prices", "PriceCreate", {"unit_amount": 500, "currency": "euro"}, False),
    ("/v1/prices", "PriceCreate", {"unit_amount": 500, "currency": "e1r"}, False),
    ("/v1/coupons", "CouponCreate", {"percent_off": 100}, True),
    ("/v1/coupons", "CouponCreate", {"percent_off": 0}, False),
    ("/v1/coupons", "CouponCreate", {"percent_off": 100.01}, False),
    ("/v1/tax_rates", "TaxRateCreate", {"display_name": "VAT", "percentage": 7.25}, True),
    ("/v1/tax_rates", "TaxRateCreate", {"display_name": "VAT", "percentage": -19}, False),
    ("/v1/account/branding", "BrandingUpdate", {"accent_color": "#1A73E8"}, True),
    ("/v1/account/branding", "BrandingUpdate", {"accent_color": "red"}, False),
    ("/v1/account/business_profile", "BusinessProfileUpdate", {"legal_name": "Acme GmbH", "small_business": True},
     True),
    ("/v1/account/business_profile", "BusinessProfileUpdate", {"bank_account": {"bic": "COBADEFFXXX"}}, False),
    ("/v1/account/business_profile", "BusinessProfileUpdate", {"registration": "x" * 201}, False),
    ("/v1/customers", "CustomerCreate", {"tax_ids": [{"type": "eu_vat", "value": "DE123456788"}]}, True),
    ("/v1/customers", "CustomerCreate", {"tax_ids": [{"type": "us_ein", "value": "12-3456789"}]}, False),
    ("/v1/customers", "CustomerCreate", {"einvoice": {"format": "pdf"}}, False),
])
def test_the_document_states_the_constraints_the_api_checks(client: Any, api: Any, path: str, schema: str,
                                                            body: dict[str, Any], accepted: bool) -> None:
    """A client that follows the document is not refused, and what the API refuses for the
    shape of a value the document refuses too (a generated SDK can check before sending)."""
    doc = client.get("/v1/openapi.json").get_json()
    response = api.post(path, body)
    assert response.status_code == (200 if accepted else 400), response.get_json()
    assert _documented(doc, schema, body) is accepted


def test_a_body_with_required_fields_is_documented_as_required(client: Any, api: Any,
                                                               customer: dict[str, Any]) -> None:
    doc = client.get("/v1/openapi.json").get_json()
    for path, required in (("/v1/invoices", True), ("/v1/customers", False), ("/v1/invoiceitems", True)):
        assert doc["paths"][path]["post"]["requestBody"]["required"] is required, path
        assert (api.post(path).status_code == 400) is required, path


def test_the_errors_only_some_operations_answer_name_real_operations() -> None:
    from app.api.openapi import ERRORS_OF
    from app.api.routing import ENDPOINTS

    assert ERRORS_OF.keys() <= {ep.name for ep in ENDPOINTS}
