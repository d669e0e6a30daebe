"""The hosted page offers the customer's e-invoice as a ``Download e-invoice (XML)`` link
(SPEC §10) when the customer has a format and the e-invoice can be made, never a link to an
error; the link answers the XML under the page's own token rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.einvoicing.rules import Rules, xsd_errors
from tests.einvoicing.test_einvoice_api import LEITWEG, PROFILE
from tests.portal.conftest import Hosted, make_hosted

LABEL = "Download e-invoice (XML)"


def buyer(api: Api, fmt: str, **fields: Any) -> dict[str, Any]:
    return api.ok("POST", "/v1/customers", {  # type: ignore[no-any-return]
        "email": "ap@kaeufer.example", "name": "Käufer AG",
        "address": {"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "einvoice": {"buyer_reference": LEITWEG, "format": fmt}, **fields})


@pytest.fixture()
def seller(api: Api) -> Api:
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    return api


def hosted_for(client: Any, api: Api, customer: dict[str, Any]) -> Hosted:
    return Hosted(client, api, make_hosted(api, customer["id"]))


@pytest.mark.parametrize("fmt", ["facturx", "xrechnung_cii", "xrechnung_ubl", "ubl"])
def test_the_page_links_the_customers_format_and_the_xml_passes_the_rules(
        client: Any, seller: Api, rules: Rules, fmt: str) -> None:
    page = hosted_for(client, seller, buyer(seller, fmt))
    html = page.page().get_data(as_text=True)
    assert LABEL in html and f'href="{page.path}/einvoice"' in html
    response = page.page("/einvoice")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and page.invoice["number"] in disposition
    assert fmt.replace("_", "-").replace("facturx", "factur-x") in disposition
    assert xsd_errors(response.data) == []
    assert rules.errors(response.data, xrechnung=fmt.startswith("xrechnung")) == []
    rules.skip_if_absent()


def test_a_paid_invoice_keeps_the_link_on_its_receipt(client: Any, seller: Api) -> None:
    page = hosted_for(client, seller, buyer(seller, "ubl"))
    page.landed(page.pay())
    assert page.refreshed()["status"] == "paid"
    assert LABEL in page.page().get_data(as_text=True)
    assert page.page("/einvoice").status_code == 200


def test_the_german_page_says_it_in_german(client: Any, seller: Api) -> None:
    page = hosted_for(client, seller, buyer(seller, "facturx", preferred_locales=["de"]))
    assert "E-Rechnung herunterladen (XML)" in page.page().get_data(as_text=True)


def test_no_link_for_a_customer_without_a_format(client: Any, seller: Api) -> None:
    page = hosted_for(client, seller, buyer(seller, "none"))
    assert LABEL not in page.page().get_data(as_text=True)
    assert page.page("/einvoice").status_code == 404


def test_no_link_when_the_einvoice_cannot_be_made(client: Any, api: Api) -> None:
    """No business profile: the API answers business_profile_incomplete, the page offers nothing."""
    page = hosted_for(client, api, buyer(api, "facturx"))
    assert api.get(f"/v1/invoices/{page.invoice['id']}/einvoice").status_code == 409
    assert LABEL not in page.page().get_data(as_text=True)
    assert page.page("/einvoice").status_code == 404


def test_no_link_for_xrechnung_without_a_buyer_reference(client: Any, seller: Api) -> None:
    customer = seller.ok("POST", "/v1/customers", {
        "email": "ap@kaeufer.example", "name": "Käufer AG", "einvoice": {"format": "xrechnung_cii"},
        "address": {"line1": "Hauptstraße 2", "city": "Berlin", "postal_code": "10115", "country": "DE"}})
    page = hosted_for(client, seller, customer)
    assert LABEL not in page.page().get_data(as_text=True)
    assert page.page("/einvoice").status_code == 404


def test_a_bad_token_or_another_accounts_invoice_is_not_found(client: Any, seller: Api,
                                                               other_merchant: Any) -> None:
    page = hosted_for(client, seller, buyer(seller, "facturx"))
    assert page.page("/einvoice").status_code == 200
    tampered = page.path[:-3] + ("aaa" if not page.path.endswith("aaa") else "bbb")
    assert client.get(tampered + "/einvoice").status_code == 404
    other: Api = other_merchant.test
    theirs = make_hosted(other, buyer(other, "facturx")["id"])
    their_token = theirs["hosted_invoice_url"].rsplit("/", 1)[1]
    assert client.get(f"/i/{page.invoice['id']}/{their_token}/einvoice").status_code == 404
    assert client.get(f"/i/{theirs['id']}/{page.path.rsplit('/', 1)[1]}/einvoice").status_code == 404


def test_a_void_invoice_hands_out_no_xml(client: Any, seller: Api) -> None:
    page = hosted_for(client, seller, buyer(seller, "facturx"))
    seller.ok("POST", f"/v1/invoices/{page.invoice['id']}/void")
    assert page.page("/einvoice").status_code == 410
