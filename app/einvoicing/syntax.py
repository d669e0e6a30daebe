"""The e-invoice model (app/einvoicing/document.py) in each syntax SPEC §10 names, written by
Akretion's ``factur-x`` library (pinned exactly in pyproject.toml: its data layout changed
between minor versions). It builds UN/CEFACT CII and UBL 2.1 from one dictionary keyed by
EN 16931's business terms, so both syntaxes come from the same mapping below.

- ``facturx``: CII, Factur-X / ZUGFeRD profile EN 16931 (``urn:cen.eu:en16931:2017``).
- ``ubl``: UBL 2.1 Invoice, EN 16931.
- ``xrechnung_cii`` / ``xrechnung_ubl``: the same documents with XRechnung 3.0's specification
  identifier and business process (the German CIUS; BR-DE-* rules).

The library's own checks are off here: its schematron check calls a Saxon server over HTTP,
and the tests run the official rules and the XSD over every syntax instead.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from facturx import generate_cii_xml, generate_ubl_xml

from app.einvoicing.document import EInvoice, Party


class Format(StrEnum):
    FACTURX = "facturx"
    XRECHNUNG_CII = "xrechnung_cii"
    XRECHNUNG_UBL = "xrechnung_ubl"
    UBL = "ubl"

    @property
    def xrechnung(self) -> bool:
        return self in (Format.XRECHNUNG_CII, Format.XRECHNUNG_UBL)

    @property
    def ubl(self) -> bool:
        return self in (Format.UBL, Format.XRECHNUNG_UBL)


XRECHNUNG_ID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_BILLING = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
_NIL_DELIVERY = b'<ram:ApplicableHeaderTradeDelivery xsi:nil="true"/>'
_UBL_EN16931 = b"<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>"
_CII_EN16931 = (b"<ram:GuidelineSpecifiedDocumentContextParameter>\n      "
                b"<ram:ID>urn:cen.eu:en16931:2017</ram:ID>")


def _text(value: Decimal) -> str:
    return format(value, "f")


def _party(party: Party) -> dict[str, Any]:
    address = party.address
    data: dict[str, Any] = {
        "name": party.name, "country_code": address.country, "city": address.city, "postcode": address.postal_code,
        "addr_l1": address.line1, "addr_l2": address.line2, "country_subdivision": address.state,
        "vat_identifier": party.vat_id, "tax_identifier": party.tax_number, "legal_info": party.registration,
    }
    if party.electronic_address:
        data.update(einvoicing_addr=party.electronic_address, einvoicing_addr_schemeid="EM")
    if party.contact_name or party.phone:
        data["contacts"] = [{"name": party.contact_name, "phone": party.phone, "email": party.email}]
    return {key: value for key, value in data.items() if value not in (None, "")}


def data_dict(doc: EInvoice, fmt: Format) -> dict[str, Any]:
    """The model as factur-x's ``data_dict`` (EN 16931 business terms as keys; amounts as
    decimal strings in the currency's own digits)."""
    money = doc.amount
    data: dict[str, Any] = {
        "BT-1": doc.number, "BT-2": doc.issue_date, "BT-3": doc.type_code, "BT-5": doc.currency,
        "BG-1": [{"BT-22": note} for note in doc.notes],
        "BG-4": _party(doc.seller), "BG-7": _party(doc.buyer),
        "BT-20": doc.payment_terms,
        "BT-81": doc.payment_means.code, "BT-82": doc.payment_means.text, "BT-83": doc.payment_means.remittance,
        "BG-20": [{"amount": _text(money(a.amount)), "reason": a.reason, "reason_code": "95",
                   "vat_category_code": a.vat.category, "vat_rate": _text(a.vat.rate)} for a in doc.allowances],
        "BG-23": [{"BT-116": _text(money(s.basis)), "BT-117": _text(money(s.tax)), "BT-118": s.vat.category,
                   "BT-119": _text(s.vat.rate),
                   **({"BT-120": s.vat.exemption_reason} if s.vat.exemption_reason else {}),
                   **({"BT-121": s.vat.exemption_reason_code} if s.vat.exemption_reason_code else {})}
                  for s in doc.tax_summary],
        "BT-106": _text(money(doc.totals.line_net)), "BT-107": _text(money(doc.totals.allowances)),
        "BT-109": _text(money(doc.totals.without_tax)), "BT-110": _text(money(doc.totals.tax)),
        "BT-112": _text(money(doc.totals.with_tax)), "BT-113": _text(money(doc.totals.paid)),
        "BT-115": _text(money(doc.totals.due)),
        "BG-25": [_line(doc, line) for line in doc.lines],
    }
    if not doc.allowances:
        del data["BT-107"]
    if doc.buyer_reference:
        data["BT-10"] = doc.buyer_reference
    if doc.due_date is not None:
        data["BT-9"] = doc.due_date
    if doc.period is not None:
        data["BT-73"], data["BT-74"] = doc.period
    elif doc.supply_date is not None:
        data["BT-72"] = doc.supply_date
    means = doc.payment_means
    if means.iban:
        data["BT-84"] = means.iban
        data["BT-85"] = means.account_name
        if means.bic:
            data["BT-86"] = means.bic
    if doc.preceding:
        data["BG-3"] = [{"BT-25": ref.number, "BT-26": ref.issue_date} for ref in doc.preceding]
    if fmt.xrechnung:
        data["BT-23"] = PEPPOL_BILLING
    return data


def _line(doc: EInvoice, line: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "BT-126": line.id, "BT-129": str(line.quantity), "BT-130": line.unit,
        "BT-131": _text(doc.amount(line.net_amount)), "BT-146": _text(line.net_price),
        "BT-151": line.vat.category, "BT-152": _text(line.vat.rate), "BT-153": line.name,
    }
    if line.price_base_quantity != 1:
        data["BT-149"] = str(line.price_base_quantity)
    if line.period is not None:
        data["BT-134"], data["BT-135"] = line.period
    return data


@lru_cache(maxsize=1)
def writer_fingerprint() -> bytes:
    """What the XML depends on besides the model, read once per process: factur-x's version and
    this module, so a document kept with its XML (a Factur-X PDF) can be keyed on the model
    (``repr``, cheap) instead of the XML written anew (milliseconds)."""
    return hashlib.sha256(version("factur-x").encode() + b"\0" + Path(__file__).read_bytes()).digest()


def render(doc: EInvoice, fmt: Format) -> bytes:
    """The e-invoice ``doc`` in ``fmt``, as UTF-8 XML."""
    data = data_dict(doc, fmt)
    if fmt.ubl:
        xml = generate_ubl_xml(data, level="en16931", check_xsd=False, check_schematron=False)
    else:
        xml = generate_cii_xml(data, level="en16931", check_xsd=False, check_schematron=False)
    # Two corrections as exact markup (merchant text is escaped, so no text can hold a "<"): cheaper
    # than parsing the document again, and each asserted to happen once.
    # factur-x 7.8 marks CII's ApplicableHeaderTradeDelivery xsi:nil when it has no children (an
    # invoice period instead of a delivery date); the element is mandatory and may be empty, but
    # not nil (the XSD refuses it).
    if _NIL_DELIVERY in xml:
        xml = xml.replace(_NIL_DELIVERY, b"<ram:ApplicableHeaderTradeDelivery/>", 1)
    if fmt.xrechnung:
        # factur-x writes EN 16931's own specification identifier (BT-24); XRechnung is a CIUS
        # of it with an identifier of its own.
        marker = _UBL_EN16931 if fmt.ubl else _CII_EN16931
        assert xml.count(marker) == 1
        xml = xml.replace(marker, marker.replace(b"urn:cen.eu:en16931:2017", XRECHNUNG_ID.encode()))
    return bytes(xml)
