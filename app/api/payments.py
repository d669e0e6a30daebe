from __future__ import annotations

from typing import Any

from flask import current_app

from app.accounts.service import Caller
from app.api import bp, objects
from app.api.routing import endpoint
from app.extensions import db
from app.invoices.serializers import serialize as serialize_invoice
from app.pagination import list_object
from app.payments import methods, service
from app.payments.flow import money_flow_of
from app.payments.models import Payment
from app.payments.schemas import PaymentList, PaymentMethodCreate, PaymentMethodList, PayParams
from app.payments.serializers import serialize_payment, serialize_payment_method
from app.tenancy import get_for


@endpoint(bp, "POST", "/customers/<customer_id>/payment_methods", body=PaymentMethodCreate,
          response=objects.PaymentMethodObject, summary="Save a card for a customer (test mode only)")
def create_payment_method(caller: Caller, customer_id: str, body: PaymentMethodCreate) -> dict[str, Any]:
    added = methods.add_payment_method(db.session, money_flow_of(current_app), caller, customer_id, body)
    return serialize_payment_method(added)


@endpoint(bp, "GET", "/customers/<customer_id>/payment_methods", query=PaymentMethodList,
          response=objects.PaymentMethodList, summary="List a customer's saved cards")
def list_payment_methods(caller: Caller, customer_id: str, query: PaymentMethodList) -> dict[str, Any]:
    page = methods.list_payment_methods(db.session, caller, customer_id, query)
    return list_object(f"/v1/customers/{customer_id}/payment_methods",
                       [serialize_payment_method(pm) for pm in page.items], page.has_more)


@endpoint(bp, "POST", "/invoices/<invoice_id>/pay", body=PayParams, response=objects.InvoiceObject,
          summary="Charge the given or default payment method off-session, or record paid_out_of_band")
def pay_invoice(caller: Caller, invoice_id: str, body: PayParams) -> dict[str, Any]:
    return serialize_invoice(service.pay(db.session, money_flow_of(current_app), caller, invoice_id, body))


@endpoint(bp, "GET", "/payments/<payment_id>", response=objects.PaymentObject, summary="Retrieve a payment")
def get_payment(caller: Caller, payment_id: str) -> dict[str, Any]:
    return serialize_payment(get_for(db.session, caller, Payment, payment_id))


@endpoint(bp, "GET", "/payments", query=PaymentList, response=objects.PaymentList, summary="List payments")
def list_payments(caller: Caller, query: PaymentList) -> dict[str, Any]:
    page = service.list_payments(db.session, caller, query)
    return list_object("/v1/payments", [serialize_payment(p) for p in page.items], page.has_more)
