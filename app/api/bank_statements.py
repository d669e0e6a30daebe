"""Bank statements and their transactions (SPEC §12 "Statement import")."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from app.accounts.service import Caller
from app.api import bp, objects
from app.api.routing import endpoint
from app.banking import service
from app.banking.camt import MAX_STATEMENT_BYTES
from app.banking.schemas import BankTransactionApply, BankTransactionList
from app.banking.serializers import serialize
from app.extensions import db
from app.pagination import list_object


@endpoint(bp, "POST", "/bank_statements", consumes="application/xml", max_body=MAX_STATEMENT_BYTES,
          response=objects.BankStatementImport,
          summary="Import a camt.053 statement or camt.054 notification (ISO 20022 XML, at most 10 MiB): each "
                  "booked credit entry becomes a bank transaction once, applied to the invoice it names")
def import_bank_statement(caller: Caller, body: bytes) -> dict[str, Any]:
    return {"object": "bank_statement_import", **asdict(service.import_statement(db.session, caller, body))}


@endpoint(bp, "GET", "/bank_transactions", query=BankTransactionList, response=objects.BankTransactionList,
          summary="List bank transactions, newest first; filter status")
def list_bank_transactions(caller: Caller, query: BankTransactionList) -> dict[str, Any]:
    page = service.list_bank_transactions(db.session, caller, query)
    return list_object("/v1/bank_transactions", [serialize(b) for b in page.items], page.has_more)


@endpoint(bp, "GET", "/bank_transactions/<bank_transaction_id>", response=objects.BankTransactionObject,
          summary="Retrieve a bank transaction")
def get_bank_transaction(caller: Caller, bank_transaction_id: str) -> dict[str, Any]:
    return serialize(service.get(db.session, caller, bank_transaction_id))


@endpoint(bp, "POST", "/bank_transactions/<bank_transaction_id>/apply", body=BankTransactionApply,
          response=objects.BankTransactionObject,
          summary="Apply an unmatched or ignored bank transaction to a finalized invoice in its currency, as a "
                  "bank_transfer payment")
def apply_bank_transaction(caller: Caller, bank_transaction_id: str, body: BankTransactionApply) -> dict[str, Any]:
    return serialize(service.apply(db.session, caller, bank_transaction_id, body))


@endpoint(bp, "POST", "/bank_transactions/<bank_transaction_id>/ignore", response=objects.BankTransactionObject,
          summary="Ignore an unmatched bank transaction: it pays no invoice")
def ignore_bank_transaction(caller: Caller, bank_transaction_id: str) -> dict[str, Any]:
    return serialize(service.ignore(db.session, caller, bank_transaction_id))
