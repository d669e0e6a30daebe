"""Refunds (SPEC §11): give back (part of) a completed payment, and read refunds back."""

from __future__ import annotations

from typing import Any

from flask import current_app

from app.accounts.service import Caller
from app.api import bp, objects
from app.api.routing import endpoint
from app.extensions import db
from app.pagination import list_object
from app.payments import refunds
from app.payments.flow import money_flow_of
from app.payments.models import Refund
from app.payments.schemas import RefundCreate, RefundList
from app.payments.serializers import serialize_refund
from app.tenancy import get_for


@endpoint(bp, "POST", "/refunds", body=RefundCreate, response=objects.RefundObject,
          summary="Refund a completed payment, in full (the default) or in part")
def create_refund(caller: Caller, body: RefundCreate) -> dict[str, Any]:
    return serialize_refund(refunds.create_refund(db.session, money_flow_of(current_app), caller, body))


@endpoint(bp, "GET", "/refunds/<refund_id>", response=objects.RefundObject, summary="Retrieve a refund")
def get_refund(caller: Caller, refund_id: str) -> dict[str, Any]:
    return serialize_refund(get_for(db.session, caller, Refund, refund_id))


@endpoint(bp, "GET", "/refunds", query=RefundList, response=objects.RefundList, summary="List refunds")
def list_refunds(caller: Caller, query: RefundList) -> dict[str, Any]:
    page = refunds.list_refunds(db.session, caller, query)
    return list_object("/v1/refunds", [serialize_refund(r) for r in page.items], page.has_more)
