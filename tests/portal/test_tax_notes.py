"""The hosted page and the PDF say why an invoice charges no VAT (SPEC §10 "Tax categories"):
the reverse charge note with the buyer's VAT id, the exemption note, in the reader's language,
as the invoice was finalized, whatever the customer becomes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.portal.conftest import Hosted
from tests.portal.test_legal_pdf import ENGLISH, GERMAN, PROFILE, text_of

FR_VAT = "FR40303265045"


@pytest.fixture()
def client_sarl(api: Api) -> dict[str, Any]:
    api.ok("POST", "/v1/account/business_profile", PROFILE)
    api.ok("POST", "/v1/tax_rates", {"display_name": "TVA", "percentage": 20, "country": "FR"})
    return api.ok("POST", "/v1/customers", {  # type: ignore[no-any-return]
        "email": "ap@client.example", "name": "Client SARL", "tax_exempt": "reverse", "preferred_locales": [],
        "address": {"line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"},
        "tax_ids": [{"type": "eu_vat", "value": FR_VAT}],
    })


def issue(client: Any, api: Api, cust: dict[str, Any]) -> Hosted:
    inv = api.ok("POST", "/v1/invoices", {"customer": cust["id"], "collection_method": "send_invoice",
                                          "days_until_due": 14})
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Beratung", "unit_amount": 12_000,
                                                        "quantity": 8, "unit": "HUR"})
    return Hosted(client, api, api.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False}))


def test_a_reverse_charge_invoice_says_so_in_english_and_german(client: Any, api: Api,
                                                                client_sarl: dict[str, Any]) -> None:
    hosted = issue(client, api, client_sarl)
    english, german = text_of(hosted, ENGLISH), text_of(hosted, GERMAN)
    assert "reverse charge – vat to be accounted for by the recipient (art. 196 directive 2006/112/ec)" in english
    assert "0 % (reverse charge) €960.00 €0.00" in english
    assert "billed to client sarl" in english and f"vat id: {FR_VAT}".lower() in english
    assert "steuerschuldnerschaft des leistungsempfängers" in german
    assert f"ust-idnr.: {FR_VAT}".lower() in german
    assert "directive" not in german and "steuerschuldnerschaft" not in english
    page = hosted.page(headers=GERMAN).get_data(as_text=True)
    assert "Steuerschuldnerschaft des Leistungsempfängers" in page


def test_changing_the_customer_after_finalization_changes_neither_pdf(client: Any, api: Api,
                                                                      client_sarl: dict[str, Any]) -> None:
    hosted = issue(client, api, client_sarl)
    before = {"en": text_of(hosted, ENGLISH), "de": text_of(hosted, GERMAN)}
    api.ok("POST", f"/v1/customers/{client_sarl['id']}", {"tax_exempt": "exempt", "tax_ids": []})
    assert {"en": text_of(hosted, ENGLISH), "de": text_of(hosted, GERMAN)} == before
    assert "vat exempt" not in before["en"]


def test_an_exempt_invoice_says_it_is_exempt(client: Any, api: Api, client_sarl: dict[str, Any]) -> None:
    api.ok("POST", f"/v1/customers/{client_sarl['id']}", {"tax_exempt": "exempt"})
    hosted = issue(client, api, client_sarl)
    assert hosted.invoice["tax"] == 0
    assert "vat exempt: no vat is charged." in text_of(hosted, ENGLISH)
    assert "steuerfreie leistung" in text_of(hosted, GERMAN)
    assert "reverse charge" not in text_of(hosted, ENGLISH)


def test_a_standard_invoice_has_no_tax_note(client: Any, api: Api, client_sarl: dict[str, Any]) -> None:
    api.ok("POST", f"/v1/customers/{client_sarl['id']}", {"tax_exempt": "none"})
    hosted = issue(client, api, client_sarl)
    english = text_of(hosted, ENGLISH)
    assert hosted.invoice["tax"] == 19_200 and "20 % €960.00 €192.00" in english
    for note in ("reverse charge", "vat exempt", "§ 19"):
        assert note not in english
