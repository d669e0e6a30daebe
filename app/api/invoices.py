from __future__ import annotations

from typing import Any

from flask import current_app

from app.accounts.service import Caller
from app.api import bp, objects
from app.api.routing import endpoint
from app.emails import service as emails
from app.extensions import db
from app.invoices import drafts, items, lifecycle, queries
from app.invoices.models import Invoice
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
from app.invoices.serializers import serialize, serialize_item, serialize_line
from app.pagination import ListQuery, list_object
from app.payments import service as payments
from app.payments.flow import money_flow_of
from app.tenancy import get_for


@endpoint(bp, "POST", "/invoices", body=InvoiceCreate, response=objects.InvoiceObject, summary="Create a draft invoice")
def create_invoice(caller: Caller, body: InvoiceCreate) -> dict[str, Any]:
    return serialize(drafts.create_invoice(db.session, caller, body))


@endpoint(bp, "GET", "/invoices/<invoice_id>", query=InvoiceRetrieve, response=objects.InvoiceObject,
          summary="Retrieve an invoice")
def get_invoice(caller: Caller, invoice_id: str, query: InvoiceRetrieve) -> dict[str, Any]:
    invoice = get_for(db.session, caller, Invoice, invoice_id)
    if "customer" in query.expand:
        return serialize(invoice, customer=queries.customers_by_id(db.session, [invoice])[invoice.customer_id])
    return serialize(invoice)


@endpoint(bp, "GET", "/invoices", query=InvoiceList, response=objects.InvoiceList, summary="List invoices")
def list_invoices(caller: Caller, query: InvoiceList) -> dict[str, Any]:
    page = queries.list_invoices(db.session, caller, query)
    customers = queries.customers_by_id(db.session, page.items) if "customer" in query.expand else {}
    data = [serialize(inv, customer=customers.get(inv.customer_id)) for inv in page.items]
    return list_object("/v1/invoices", data, page.has_more)


@endpoint(bp, "POST", "/invoices/<invoice_id>", body=InvoiceUpdate, response=objects.InvoiceObject,
          summary="Update an invoice (drafts: any field; afterwards description and footer)")
def update_invoice(caller: Caller, invoice_id: str, body: InvoiceUpdate) -> dict[str, Any]:
    return serialize(drafts.update_invoice(db.session, caller, invoice_id, body))


@endpoint(bp, "DELETE", "/invoices/<invoice_id>", response=objects.Deleted, summary="Delete a draft invoice")
def delete_invoice(caller: Caller, invoice_id: str) -> dict[str, Any]:
    return drafts.delete_invoice(db.session, caller, invoice_id)


@endpoint(bp, "GET", "/invoices/<invoice_id>/lines", query=ListQuery, response=objects.LineList,
          summary="List an invoice's lines, in their order on the invoice")
def list_lines(caller: Caller, invoice_id: str, query: ListQuery) -> dict[str, Any]:
    page = queries.list_lines(db.session, caller, invoice_id, query)
    return list_object(f"/v1/invoices/{invoice_id}/lines", [serialize_line(line) for line in page.items],
                       page.has_more)


@endpoint(bp, "POST", "/invoices/<invoice_id>/lines", body=LineCreate, response=objects.InvoiceObject,
          summary="Add a line to a draft")
def add_line(caller: Caller, invoice_id: str, body: LineCreate) -> dict[str, Any]:
    return serialize(drafts.add_line(db.session, caller, invoice_id, body))


@endpoint(bp, "POST", "/invoices/<invoice_id>/lines/<line_id>", body=LineUpdate, response=objects.InvoiceObject,
          summary="Update a line of a draft")
def update_line(caller: Caller, invoice_id: str, line_id: str, body: LineUpdate) -> dict[str, Any]:
    return serialize(drafts.update_line(db.session, caller, invoice_id, line_id, body))


@endpoint(bp, "DELETE", "/invoices/<invoice_id>/lines/<line_id>", response=objects.InvoiceObject,
          summary="Delete a line of a draft")
def delete_line(caller: Caller, invoice_id: str, line_id: str) -> dict[str, Any]:
    return serialize(drafts.delete_line(db.session, caller, invoice_id, line_id))


@endpoint(bp, "POST", "/invoices/<invoice_id>/finalize", body=FinalizeParams, response=objects.InvoiceObject,
          summary="Finalize a draft (discounts, tax, lock, number, hosted link), then collect "
                  "charge_automatically invoices unless auto_advance is false")
def finalize_invoice(caller: Caller, invoice_id: str, body: FinalizeParams) -> dict[str, Any]:
    return serialize(payments.finalize_and_collect(db.session, money_flow_of(current_app), caller, invoice_id, body,
                                                   secret_key=current_app.config["SECRET_KEY"]))


@endpoint(bp, "POST", "/invoices/<invoice_id>/send", response=objects.InvoiceObject,
          summary="Send the hosted link to the customer")
def send_invoice(caller: Caller, invoice_id: str) -> dict[str, Any]:
    return serialize(emails.send_invoice(db.session, caller, invoice_id))


@endpoint(bp, "POST", "/invoices/<invoice_id>/void", response=objects.InvoiceObject, summary="Void an invoice")
def void_invoice(caller: Caller, invoice_id: str) -> dict[str, Any]:
    return serialize(lifecycle.void(db.session, caller, invoice_id))


@endpoint(bp, "POST", "/invoices/<invoice_id>/mark_uncollectible", response=objects.InvoiceObject,
          summary="Mark an open invoice uncollectible")
def mark_uncollectible(caller: Caller, invoice_id: str) -> dict[str, Any]:
    return serialize(lifecycle.mark_uncollectible(db.session, caller, invoice_id))


@endpoint(bp, "POST", "/invoiceitems", body=InvoiceItemCreate, response=objects.InvoiceItemObject,
          summary="Create a pending invoice item")
def create_item(caller: Caller, body: InvoiceItemCreate) -> dict[str, Any]:
    return serialize_item(items.create_item(db.session, caller, body))


@endpoint(bp, "GET", "/invoiceitems/<item_id>", response=objects.InvoiceItemObject, summary="Retrieve an invoice item")
def get_item(caller: Caller, item_id: str) -> dict[str, Any]:
    return serialize_item(items.get_item(db.session, caller, item_id))


@endpoint(bp, "DELETE", "/invoiceitems/<item_id>", response=objects.Deleted, summary="Delete a pending invoice item")
def delete_item(caller: Caller, item_id: str) -> dict[str, Any]:
    return items.delete_item(db.session, caller, item_id)


@endpoint(bp, "GET", "/invoiceitems", query=InvoiceItemList, response=objects.InvoiceItemList,
          summary="List invoice items")
def list_items(caller: Caller, query: InvoiceItemList) -> dict[str, Any]:
    page = items.list_items(db.session, caller, query)
    return list_object("/v1/invoiceitems", [serialize_item(i) for i in page.items], page.has_more)
