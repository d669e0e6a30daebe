from __future__ import annotations

from typing import Any

from app.accounts.service import Caller
from app.api import bp, objects
from app.api.routing import endpoint
from app.catalog import service
from app.catalog.models import Price, TaxRate
from app.catalog.schemas import CouponCreate, PriceCreate, TaxRateCreate, TaxRateUpdate
from app.extensions import db
from app.pagination import ListQuery, list_object
from app.tenancy import get_for


@endpoint(bp, "POST", "/prices", body=PriceCreate, response=objects.PriceObject, summary="Create a price")
def create_price(caller: Caller, body: PriceCreate) -> dict[str, Any]:
    return service.serialize_price(service.create_price(db.session, caller, body))


@endpoint(bp, "GET", "/prices/<price_id>", response=objects.PriceObject, summary="Retrieve a price")
def get_price(caller: Caller, price_id: str) -> dict[str, Any]:
    return service.serialize_price(get_for(db.session, caller, Price, price_id))


@endpoint(bp, "GET", "/prices", query=ListQuery, response=objects.PriceList, summary="List prices")
def list_prices(caller: Caller, query: ListQuery) -> dict[str, Any]:
    page = service.list_prices(db.session, caller, query)
    return list_object("/v1/prices", [service.serialize_price(p) for p in page.items], page.has_more)


@endpoint(bp, "POST", "/coupons", body=CouponCreate, response=objects.CouponObject, summary="Create a coupon")
def create_coupon(caller: Caller, body: CouponCreate) -> dict[str, Any]:
    return service.serialize_coupon(service.create_coupon(db.session, caller, body))


@endpoint(bp, "GET", "/coupons/<coupon_id>", response=objects.CouponObject, summary="Retrieve a coupon")
def get_coupon(caller: Caller, coupon_id: str) -> dict[str, Any]:
    return service.serialize_coupon(service.get_coupon(db.session, caller, coupon_id))


@endpoint(bp, "DELETE", "/coupons/<coupon_id>", response=objects.Deleted, summary="Delete a coupon")
def delete_coupon(caller: Caller, coupon_id: str) -> dict[str, Any]:
    return service.delete_coupon(db.session, caller, coupon_id)


@endpoint(bp, "GET", "/coupons", query=ListQuery, response=objects.CouponList, summary="List coupons")
def list_coupons(caller: Caller, query: ListQuery) -> dict[str, Any]:
    page = service.list_coupons(db.session, caller, query)
    return list_object("/v1/coupons", [service.serialize_coupon(c) for c in page.items], page.has_more)


@endpoint(bp, "POST", "/tax_rates", body=TaxRateCreate, response=objects.TaxRateObject, summary="Create a tax rate")
def create_tax_rate(caller: Caller, body: TaxRateCreate) -> dict[str, Any]:
    return service.serialize_tax_rate(service.create_tax_rate(db.session, caller, body))


@endpoint(bp, "GET", "/tax_rates/<rate_id>", response=objects.TaxRateObject, summary="Retrieve a tax rate")
def get_tax_rate(caller: Caller, rate_id: str) -> dict[str, Any]:
    return service.serialize_tax_rate(get_for(db.session, caller, TaxRate, rate_id))


@endpoint(bp, "POST", "/tax_rates/<rate_id>", body=TaxRateUpdate, response=objects.TaxRateObject,
          summary="Update a tax rate")
def update_tax_rate(caller: Caller, rate_id: str, body: TaxRateUpdate) -> dict[str, Any]:
    return service.serialize_tax_rate(service.update_tax_rate(db.session, caller, rate_id, body))


@endpoint(bp, "GET", "/tax_rates", query=ListQuery, response=objects.TaxRateList, summary="List tax rates")
def list_tax_rates(caller: Caller, query: ListQuery) -> dict[str, Any]:
    page = service.list_tax_rates(db.session, caller, query)
    return list_object("/v1/tax_rates", [service.serialize_tax_rate(r) for r in page.items], page.has_more)
