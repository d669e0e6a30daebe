from __future__ import annotations

from typing import Any

from app.accounts.service import Caller
from app.api import bp
from app.api import objects as o
from app.api.routing import endpoint
from app.extensions import db
from app.invoices import service
from app.invoices.schemas import (
    FinalizeParams,
    InvoiceCreate,
    InvoiceItemCreate,
    InvoiceItemList,
    InvoiceList,
    InvoiceRetrieve,
    InvoiceUpdate,
    LineCreate,
    LineUpdate,
)
from app.pagination import list_object
from app.payments import service as payments

ser = service.serialize


@endpoint(bp, "POST", "/invoices", body=InvoiceCreate, response=o.InvoiceObject, summary="Create a draft invoice")
def create_invoice(caller: Caller, body: InvoiceCreate) -> dict[str, Any]:
    return ser(service.create_invoice(db.session, caller, body))


@endpoint(bp, "GET", "/invoices/<invoice_id>", query=InvoiceRetrieve, response=o.InvoiceObject,
          summary="Retrieve an invoice")
def get_invoice(caller: Caller, invoice_id: str, query: InvoiceRetrieve) -> dict[str, Any]:
    invoice = service.get_invoice(db.session, caller, invoice_id)
    if "customer" in query.expand:
        return ser(invoice, customer=service.customers_by_id(db.session, [invoice])[invoice.customer_id])
    return ser(invoice)


@endpoint(bp, "GET", "/invoices", query=InvoiceList, response=o.InvoiceList, summary="List invoices")
def list_invoices(caller: Caller, query: InvoiceList) -> dict[str, Any]:
    page = service.list_invoices(db.session, caller, query)
    customers = service.customers_by_id(db.session, page.items) if "customer" in query.expand else {}
    data = [ser(inv, customer=customers.get(inv.customer_id)) for inv in page.items]
    return list_object("/v1/invoices", data, page.has_more)


@endpoint(bp, "POST", "/invoices/<invoice_id>", body=InvoiceUpdate, response=o.InvoiceObject,
          summary="Update an invoice (drafts: any field; afterwards description and footer)")
def update_invoice(caller: Caller, invoice_id: str, body: InvoiceUpdate) -> dict[str, Any]:
    return ser(service.update_invoice(db.session, caller, invoice_id, body))


@endpoint(bp, "DELETE", "/invoices/<invoice_id>", response=o.Deleted, summary="Delete a draft invoice")
def delete_invoice(caller: Caller, invoice_id: str) -> dict[str, Any]:
    return service.delete_invoice(db.session, caller, invoice_id)


@endpoint(bp, "GET", "/invoices/<invoice_id>/lines", response=o.LineList, summary="List an invoice's lines")
def list_lines(caller: Caller, invoice_id: str) -> dict[str, Any]:
    lines: dict[str, Any] = ser(service.get_invoice(db.session, caller, invoice_id))["lines"]
    return lines


@endpoint(bp, "POST", "/invoices/<invoice_id>/lines", body=LineCreate, response=o.InvoiceObject,
          summary="Add a line to a draft")
def add_line(caller: Caller, invoice_id: str, body: LineCreate) -> dict[str, Any]:
    return ser(service.add_line(db.session, caller, invoice_id, body))


@endpoint(bp, "POST", "/invoices/<invoice_id>/lines/<line_id>", body=LineUpdate, response=o.InvoiceObject,
          summary="Update a line of a draft")
def update_line(caller: Caller, invoice_id: str, line_id: str, body: LineUpdate) -> dict[str, Any]:
    return ser(service.update_line(db.session, caller, invoice_id, line_id, body))


@endpoint(bp, "DELETE", "/invoices/<invoice_id>/lines/<line_id>", response=o.InvoiceObject,
          summary="Delete a line of a draft")
def delete_line(caller: Caller, invoice_id: str, line_id: str) -> dict[str, Any]:
    return ser(service.delete_line(db.session, caller, invoice_id, line_id))


@endpoint(bp, "POST", "/invoices/<invoice_id>/finalize", body=FinalizeParams, response=o.InvoiceObject,
          summary="Finalize a draft (discounts, tax, lock, number, hosted link), then collect "
                  "charge_automatically invoices unless auto_advance is false")
def finalize_invoice(caller: Caller, invoice_id: str, body: FinalizeParams) -> dict[str, Any]:
    return ser(payments.finalize_and_collect(db.session, caller, invoice_id, body))


@endpoint(bp, "POST", "/invoices/<invoice_id>/send", response=o.InvoiceObject,
          summary="Send the hosted link to the customer")
def send_invoice(caller: Caller, invoice_id: str) -> dict[str, Any]:
    return ser(service.send(db.session, caller, invoice_id))


@endpoint(bp, "POST", "/invoices/<invoice_id>/void", response=o.InvoiceObject, summary="Void an invoice")
def void_invoice(caller: Caller, invoice_id: str) -> dict[str, Any]:
    return ser(service.void(db.session, caller, invoice_id))


@endpoint(bp, "POST", "/invoices/<invoice_id>/mark_uncollectible", response=o.InvoiceObject,
          summary="Mark an open invoice uncollectible")
def mark_uncollectible(caller: Caller, invoice_id: str) -> dict[str, Any]:
    return ser(service.mark_uncollectible(db.session, caller, invoice_id))


@endpoint(bp, "POST", "/invoiceitems", body=InvoiceItemCreate, response=o.InvoiceItemObject,
          summary="Create a pending invoice item")
def create_item(caller: Caller, body: InvoiceItemCreate) -> dict[str, Any]:
    return service.serialize_item(service.create_item(db.session, caller, body))


@endpoint(bp, "GET", "/invoiceitems/<item_id>", response=o.InvoiceItemObject, summary="Retrieve an invoice item")
def get_item(caller: Caller, item_id: str) -> dict[str, Any]:
    return service.serialize_item(service.get_item(db.session, caller, item_id))


@endpoint(bp, "DELETE", "/invoiceitems/<item_id>", response=o.Deleted, summary="Delete a pending invoice item")
def delete_item(caller: Caller, item_id: str) -> dict[str, Any]:
    return service.delete_item(db.session, caller, item_id)


@endpoint(bp, "GET", "/invoiceitems", query=InvoiceItemList, response=o.InvoiceItemList,
          summary="List invoice items")
def list_items(caller: Caller, query: InvoiceItemList) -> dict[str, Any]:
    page = service.list_items(db.session, caller, query)
    return list_object("/v1/invoiceitems", [service.serialize_item(i) for i in page.items], page.has_more)
