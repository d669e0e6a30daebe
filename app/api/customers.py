from __future__ import annotations

from typing import Any

from app.accounts.service import Caller
from app.api import bp, objects
from app.api.routing import endpoint
from app.customers import service
from app.customers.schemas import CustomerCreate, CustomerList, CustomerUpdate
from app.extensions import db
from app.pagination import list_object


@endpoint(bp, "POST", "/customers", body=CustomerCreate, response=objects.CustomerObject, summary="Create a customer")
def create_customer(caller: Caller, body: CustomerCreate) -> dict[str, Any]:
    return service.serialize(service.create_customer(db.session, caller, body))


@endpoint(bp, "GET", "/customers/<customer_id>", response=objects.CustomerObject, summary="Retrieve a customer")
def get_customer(caller: Caller, customer_id: str) -> dict[str, Any]:
    return service.serialize(service.get_customer(db.session, caller, customer_id))


@endpoint(bp, "POST", "/customers/<customer_id>", body=CustomerUpdate, response=objects.CustomerObject,
          summary="Update a customer")
def update_customer(caller: Caller, customer_id: str, body: CustomerUpdate) -> dict[str, Any]:
    return service.serialize(service.update_customer(db.session, caller, customer_id, body))


@endpoint(bp, "DELETE", "/customers/<customer_id>", response=objects.Deleted, summary="Delete a customer")
def delete_customer(caller: Caller, customer_id: str) -> dict[str, Any]:
    return service.delete_customer(db.session, caller, customer_id)


@endpoint(bp, "GET", "/customers", query=CustomerList, response=objects.CustomerList, summary="List customers")
def list_customers(caller: Caller, query: CustomerList) -> dict[str, Any]:
    page = service.list_customers(db.session, caller, query)
    return list_object("/v1/customers", [service.serialize(c) for c in page.items], page.has_more)
