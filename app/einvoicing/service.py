"""``GET /v1/invoices/{id}/einvoice`` (SPEC §10): a finalized invoice's EN 16931 e-invoice.

What a document prints comes from the invoice alone (its frozen seller and buyer, its lines
and amounts); the customer's current ``einvoice.format`` only picks the default syntax.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.service import Caller
from app.business_profile.service import missing
from app.catalog.models import Coupon, TaxRate
from app.einvoicing.document import EInvoice, Unrepresentable, build
from app.einvoicing.syntax import Format, render
from app.errors import Conflict
from app.invoices.models import Invoice, InvoiceStatus
from app.tenancy import get_for


@dataclass(frozen=True, slots=True)
class Rendered:
    format: Format
    filename: str
    content: bytes


def _gaps(invoice: Invoice, fmt: Format) -> tuple[list[str], list[str]]:
    """What the frozen seller and buyer lack for ``fmt``: (profile fields, customer fields)."""
    legal = invoice.account_legal or {}
    seller = missing(legal)
    if fmt.xrechnung and not legal.get("phone"):
        seller.append("phone")  # XRechnung BR-DE-6: the seller contact's telephone
    address = invoice.customer_address or {}
    buyer = [] if invoice.customer_name else ["name"]
    needed = ("country", "city", "postal_code") if fmt.xrechnung else ("country",)  # BR-11; BR-DE-8, BR-DE-9
    buyer += [f"address[{part}]" for part in needed if not address.get(part)]
    return seller, buyer


def _names(items: Iterable[str]) -> str:
    return ", ".join(items)


def document(session: Session, invoice: Invoice, rates: Mapping[str, int] | None = None) -> EInvoice:
    """The e-invoice model of a finalized invoice (app/einvoicing/document.py), with its tax
    rates' percentages (``rates``, rate id to ten-thousandths of a percent, where the caller
    has them already; else as the invoice was issued with them, or, for one computed before
    those were kept, from the catalog) and its coupons' names read from the catalog.

    Raises Conflict ``einvoice_unsupported`` for what EN 16931 cannot express."""
    if rates is None and invoice.tax_rate_details is not None:
        rates = {rate_id: int(d["percentage_e4"]) for rate_id, d in invoice.tax_rate_details.items()}
    if rates is None:
        rate_ids = {entry["tax_rate"] for line in invoice.lines for entry in line.tax_amounts}
        rates = {rid: pct for rid, pct in session.execute(
            sa.select(TaxRate.id, TaxRate.percentage_e4).where(TaxRate.account_id == invoice.account_id,
                                                               TaxRate.id.in_(rate_ids)))} if rate_ids else {}
    coupon_ids = {entry["coupon"] for entry in invoice.discount_amounts}
    names = {cid: name for cid, name in session.execute(sa.select(Coupon.id, Coupon.name).where(
        Coupon.account_id == invoice.account_id, Coupon.livemode == invoice.livemode,
        Coupon.id.in_(coupon_ids))) if name} if coupon_ids else {}
    try:
        return build(invoice, rates, names)
    except Unrepresentable as error:
        raise Conflict(str(error), code="einvoice_unsupported") from None


def einvoice(session: Session, caller: Caller, invoice_id: str, fmt: Format | None) -> Rendered:
    """The e-invoice of the caller's invoice in ``fmt`` (default: the customer's
    ``einvoice.format``, else Factur-X).

    Raises NotFound; Conflict ``invoice_unexpected_status`` for a draft, and what ``make``
    raises."""
    invoice = get_for(session, caller, Invoice, invoice_id, param="invoice")
    if invoice.status is InvoiceStatus.DRAFT:
        raise Conflict("A draft invoice has no e-invoice yet: finalize it first.", code="invoice_unexpected_status")
    return make(session, invoice, fmt or customer_format(invoice) or Format.FACTURX)


def customer_format(invoice: Invoice) -> Format | None:
    """The XML format the invoice's customer receives (``einvoice.format``), None for ``none``."""
    preferred = invoice.customer.einvoice_format
    return Format(preferred) if preferred in Format.__members__.values() else None


def make(session: Session, invoice: Invoice, fmt: Format) -> Rendered:
    """The e-invoice of a finalized ``invoice`` in ``fmt``. Raises what ``model`` raises."""
    return Rendered(fmt, filename(invoice, fmt), render(model(session, invoice, fmt), fmt))


def model(session: Session, invoice: Invoice, fmt: Format) -> EInvoice:
    """The e-invoice model of a finalized ``invoice`` for ``fmt``: the one rule for what can
    be made, behind the API, the hosted page's link, the emails' attachment and the PDF's
    embedded XML.

    Raises Conflict ``business_profile_incomplete`` (the profile it was finalized with lacks
    what the format needs), ``customer_details_incomplete``, ``buyer_reference_required``
    (XRechnung) and ``einvoice_unsupported``."""
    refused = refusal(invoice, fmt)
    if refused is not None:
        raise refused
    return document(session, invoice)


def refusal(invoice: Invoice, fmt: Format) -> Conflict | None:
    """Why ``model`` refuses ``fmt`` for ``invoice`` before building anything (what the frozen
    seller and buyer lack), or None."""
    seller, buyer = _gaps(invoice, fmt)
    if seller:
        return Conflict(f"This invoice was finalized with a business profile that lacks what {fmt.value} needs: "
                        f"{_names(seller)}. Complete /v1/account/business_profile; invoices finalized from then on "
                        "have an e-invoice.", code="business_profile_incomplete")
    if buyer:
        return Conflict(f"This invoice's customer lacks what {fmt.value} needs: {_names(buyer)}. Complete the "
                        "customer; invoices finalized from then on have an e-invoice.",
                        code="customer_details_incomplete")
    if fmt.xrechnung and not invoice.buyer_reference:
        return Conflict("XRechnung needs a buyer reference (BT-10, the Leitweg-ID): this invoice was finalized "
                        "without one. Set the customer's einvoice.buyer_reference or the invoice's buyer_reference "
                        "before finalizing.", code="buyer_reference_required")
    return None


def offered(invoice: Invoice, doc: EInvoice | None) -> Format | None:
    """The format of the e-invoice the customer receives with ``invoice`` (its hosted page's
    link, its emails' attachment): the customer's, or None when the customer has none, the
    invoice is a draft, or it cannot be made (``model`` refuses it). ``doc`` is the invoice's
    model as ``document`` built it, None where it refused."""
    fmt = customer_format(invoice)
    if fmt is None or doc is None or invoice.status is InvoiceStatus.DRAFT or refusal(invoice, fmt) is not None:
        return None
    return fmt


def embedded(invoice: Invoice, doc: EInvoice | None) -> EInvoice | None:
    """The model of the Factur-X XML the PDF of ``invoice`` embeds (SPEC §10: when the profile
    it was finalized with is complete and the document can be made), or None: a plain PDF.
    ``doc`` as for ``offered``. The XML is ``render(model, Format.FACTURX)``."""
    if doc is None or invoice.status is InvoiceStatus.DRAFT or refusal(invoice, Format.FACTURX) is not None:
        return None
    return doc


def for_customer(session: Session, invoice: Invoice) -> Rendered | None:
    """The e-invoice ``offered`` names, rendered; None when there is none."""
    fmt = customer_format(invoice)
    if fmt is None or invoice.status is InvoiceStatus.DRAFT:
        return None
    try:
        return make(session, invoice, fmt)
    except Conflict:
        return None


def filename(invoice: Invoice, fmt: Format) -> str:
    suffix = {Format.FACTURX: "factur-x", Format.UBL: "ubl", Format.XRECHNUNG_CII: "xrechnung-cii",
              Format.XRECHNUNG_UBL: "xrechnung-ubl"}[fmt]
    return f"invoice-{invoice.number or invoice.id}-{suffix}.xml"
