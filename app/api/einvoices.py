"""``GET /v1/invoices/{id}/einvoice`` (SPEC §10): the invoice's EN 16931 XML."""

from __future__ import annotations

from app.accounts.service import Caller
from app.api import bp
from app.api.routing import Download, endpoint
from app.einvoicing import service
from app.einvoicing.schemas import EInvoiceQuery
from app.einvoicing.syntax import Format
from app.extensions import db


@endpoint(bp, "GET", "/invoices/<invoice_id>/einvoice", query=EInvoiceQuery, produces="application/xml",
          summary="Download a finalized invoice's e-invoice (EN 16931 XML): Factur-X CII, XRechnung CII or UBL, "
                  "or UBL; by default the customer's einvoice.format, else facturx")
def get_einvoice(caller: Caller, invoice_id: str, query: EInvoiceQuery) -> Download:
    rendered = service.einvoice(db.session, caller, invoice_id, Format(query.format) if query.format else None)
    return Download(rendered.content, "application/xml", rendered.filename)
