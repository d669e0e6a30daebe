"""``/v1/credit_notes`` (SPEC §11)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from pydantic import ValidationError

from app.accounts.service import Caller
from app.api import bp, objects
from app.api.routing import Download, endpoint
from app.credit_notes import einvoice, service
from app.credit_notes.schemas import CreditNoteCreate, CreditNoteList, CreditNotePreview, CreditNoteUpdate
from app.credit_notes.serializers import serialize
from app.einvoicing.schemas import EInvoiceQuery
from app.einvoicing.syntax import Format
from app.extensions import db
from app.pagination import list_object
from app.payments.flow import money_flow_of
from app.validation import validation_error


@endpoint(bp, "POST", "/credit_notes", body=CreditNoteCreate, response=objects.CreditNoteObject,
          summary="Issue a credit note for an open, paid or uncollectible invoice")
def create_credit_note(caller: Caller, body: CreditNoteCreate) -> dict[str, Any]:
    return serialize(service.create(db.session, money_flow_of(current_app), caller, body))


@endpoint(bp, "GET", "/credit_notes/preview", query=CreditNotePreview, response=objects.CreditNoteObject,
          summary="The credit note these parameters would issue (the same as for create, in the query string: "
                  "lines[0][type]=…); nothing is written")
def preview_credit_note(caller: Caller, query: CreditNotePreview) -> dict[str, Any]:
    # The query's text values, checked as a create body would be (lax: "2" is 2 here).
    params = parse_lax(query.model_dump(exclude_unset=True))
    note = service.preview(db.session, caller, params)
    return serialize(note, preview=True)


def parse_lax(data: dict[str, Any]) -> CreditNoteCreate:
    try:
        return CreditNoteCreate.model_validate(data, strict=False)
    except ValidationError as exc:
        raise validation_error(exc) from None


@endpoint(bp, "GET", "/credit_notes/<credit_note_id>", response=objects.CreditNoteObject,
          summary="Retrieve a credit note")
def get_credit_note(caller: Caller, credit_note_id: str) -> dict[str, Any]:
    return serialize(service.get(db.session, caller, credit_note_id))


@endpoint(bp, "GET", "/credit_notes", query=CreditNoteList, response=objects.CreditNoteList,
          summary="List credit notes, newest first; filters invoice and customer")
def list_credit_notes(caller: Caller, query: CreditNoteList) -> dict[str, Any]:
    page = service.list_credit_notes(db.session, caller, query)
    return list_object("/v1/credit_notes", [serialize(note) for note in page.items], page.has_more)


@endpoint(bp, "POST", "/credit_notes/<credit_note_id>", body=CreditNoteUpdate, response=objects.CreditNoteObject,
          summary="Update a credit note's memo and metadata")
def update_credit_note(caller: Caller, credit_note_id: str, body: CreditNoteUpdate) -> dict[str, Any]:
    return serialize(service.update(db.session, caller, credit_note_id, body))


@endpoint(bp, "POST", "/credit_notes/<credit_note_id>/void", response=objects.CreditNoteObject,
          summary="Void a credit note while its invoice is open and nothing was refunded")
def void_credit_note(caller: Caller, credit_note_id: str) -> dict[str, Any]:
    return serialize(service.void(db.session, caller, credit_note_id))


@endpoint(bp, "GET", "/credit_notes/<credit_note_id>/einvoice", query=EInvoiceQuery, produces="application/xml",
          summary="Download a credit note's e-invoice (EN 16931 XML, type code 381, the invoice as preceding "
                  "invoice reference): facturx, xrechnung_cii, xrechnung_ubl or ubl; by default the customer's "
                  "einvoice.format, else facturx")
def get_credit_note_einvoice(caller: Caller, credit_note_id: str, query: EInvoiceQuery) -> Download:
    rendered = einvoice.einvoice(db.session, caller, credit_note_id, Format(query.format) if query.format else None)
    return Download(rendered.content, "application/xml", rendered.filename)
