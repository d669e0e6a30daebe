"""Prices, coupons and tax rates (SPEC §3)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.accounts.service import Caller
from app.catalog.models import Coupon, Price, TaxRate
from app.catalog.schemas import CouponCreate, PriceCreate, TaxRateCreate, TaxRateUpdate
from app.errors import InvalidRequest
from app.ids import new_id
from app.pagination import ListQuery, Page, paginate
from app.tenancy import get_for, lookup, scoped


def _percent(value: int, scale: int) -> int | float:
    """Stored fixed-point percentage back to the JSON number the merchant sent."""
    number = Decimal(value) / scale
    return int(number) if number == number.to_integral_value() else float(number)


def serialize_price(price: Price) -> dict[str, Any]:
    return {"id": price.id, "object": "price", "livemode": price.livemode, "created": price.created,
            "unit_amount": price.unit_amount, "currency": price.currency, "nickname": price.nickname,
            "active": price.active, "metadata": dict(price.metadata_)}


def serialize_coupon(coupon: Coupon) -> dict[str, Any]:
    return {"id": coupon.id, "object": "coupon", "livemode": coupon.livemode, "created": coupon.created,
            "name": coupon.name,
            "percent_off": _percent(coupon.percent_off_e2, 100) if coupon.percent_off_e2 is not None else None,
            "amount_off": coupon.amount_off, "currency": coupon.currency, "duration": coupon.duration,
            "valid": not coupon.deleted, "metadata": dict(coupon.metadata_)}


def serialize_tax_rate(rate: TaxRate) -> dict[str, Any]:
    return {"id": rate.id, "object": "tax_rate", "livemode": rate.livemode, "created": rate.created,
            "display_name": rate.display_name, "percentage": _percent(rate.percentage_e4, 10_000),
            "inclusive": rate.inclusive, "country": rate.country, "state": rate.state,
            "active": rate.active, "metadata": dict(rate.metadata_)}


# Prices


def create_price(session: Session, caller: Caller, params: PriceCreate) -> Price:
    price = Price(id=new_id("price"), account_id=caller.account.id, livemode=caller.livemode,
                  created=clock.now(), unit_amount=params.unit_amount, currency=params.currency,
                  nickname=params.nickname, metadata_=params.metadata)
    session.add(price)
    session.flush()
    return price


def list_prices(session: Session, caller: Caller, query: ListQuery) -> Page[Price]:
    return paginate(session, scoped(sa.select(Price), caller, Price), Price, caller, limit=query.limit,
                    starting_after=query.starting_after, ending_before=query.ending_before)


# Coupons


def create_coupon(session: Session, caller: Caller, params: CouponCreate) -> Coupon:
    if (params.percent_off is None) == (params.amount_off is None):
        raise InvalidRequest("Give exactly one of percent_off or amount_off.", param="percent_off")
    if params.amount_off is not None and params.currency is None:
        raise InvalidRequest("amount_off needs a currency.", param="currency")
    if params.percent_off is not None and params.currency is not None:
        raise InvalidRequest("currency goes only with amount_off.", param="currency")
    coupon_id = params.id or new_id("co")
    # Ids stay taken after deletion: discounts already applied keep naming them.
    existing = session.scalar(scoped(sa.select(Coupon), caller, Coupon).where(Coupon.id == coupon_id))
    if existing is not None:
        raise InvalidRequest(f"Coupon already exists: '{coupon_id}'", param="id", code="resource_already_exists")
    coupon = Coupon(id=coupon_id, account_id=caller.account.id, livemode=caller.livemode,
                    created=clock.now(), name=params.name, percent_off_e2=params.percent_off_e2(),
                    amount_off=params.amount_off, currency=params.currency, duration=params.duration,
                    metadata_=params.metadata)
    session.add(coupon)
    session.flush()
    return coupon


_LIVE_COUPON = lookup(Coupon, Coupon.deleted.is_(False))


def get_coupon(session: Session, caller: Caller, coupon_id: str, *, param: str = "id") -> Coupon:
    """The caller's coupon, unless deleted (its id stays taken), or NotFound naming ``param``."""
    return get_for(session, caller, Coupon, coupon_id, param=param, using=_LIVE_COUPON)


def delete_coupon(session: Session, caller: Caller, coupon_id: str) -> dict[str, Any]:
    """Stops new use of the coupon; invoices already discounted keep their amounts."""
    coupon = get_coupon(session, caller, coupon_id)
    coupon.deleted = True
    session.flush()
    return {"id": coupon_id, "object": "coupon", "deleted": True}


def list_coupons(session: Session, caller: Caller, query: ListQuery) -> Page[Coupon]:
    return paginate(session, scoped(sa.select(Coupon), caller, Coupon).where(Coupon.deleted.is_(False)), Coupon, caller,
                    limit=query.limit, starting_after=query.starting_after, ending_before=query.ending_before)


# Tax rates


def create_tax_rate(session: Session, caller: Caller, params: TaxRateCreate) -> TaxRate:
    if params.state is not None and params.country is None:
        raise InvalidRequest("state needs a country.", param="state")
    rate = TaxRate(id=new_id("txr"), account_id=caller.account.id, livemode=caller.livemode,
                   created=clock.now(), display_name=params.display_name,
                   percentage_e4=params.percentage_e4(), inclusive=params.inclusive,
                   country=params.country, state=params.state.upper() if params.state else None,
                   active=params.active, metadata_=params.metadata)
    session.add(rate)
    session.flush()
    return rate


def update_tax_rate(session: Session, caller: Caller, rate_id: str, params: TaxRateUpdate) -> TaxRate:
    """Only what does not change past invoices: a rate's percentage is fixed."""
    rate = get_for(session, caller, TaxRate, rate_id)
    if params.active is not None:
        rate.active = params.active
    if params.display_name is not None:
        rate.display_name = params.display_name
    if params.metadata is not None:
        rate.metadata_ = {k: v for k, v in {**rate.metadata_, **params.metadata}.items() if v != ""}
    session.flush()
    return rate


def list_tax_rates(session: Session, caller: Caller, query: ListQuery) -> Page[TaxRate]:
    return paginate(session, scoped(sa.select(TaxRate), caller, TaxRate), TaxRate, caller, limit=query.limit,
                    starting_after=query.starting_after, ending_before=query.ending_before)


def rates_for_location(session: Session, caller: Caller, country: str | None, state: str | None) -> list[TaxRate]:
    """The account's active rates that apply at a customer's address (SPEC §3 finalize)."""
    if not country:
        return []
    stmt = scoped(sa.select(TaxRate), caller, TaxRate).where(TaxRate.active.is_(True), TaxRate.country == country)
    rates = [r for r in session.scalars(stmt.order_by(TaxRate.created, TaxRate.id))
             if r.state is None or (state is not None and r.state == state.upper())]
    return rates


def active_tax_rate_ids(session: Session, caller: Caller, ids: list[str], param: str) -> list[str]:
    """``ids`` as given, once each checked to be one of the caller's active tax rates.

    Raises NotFound or InvalidRequest naming ``param[i]`` (``param`` for a rate listed twice)."""
    for i, rate_id in enumerate(ids):
        rate = get_for(session, caller, TaxRate, rate_id, param=f"{param}[{i}]")
        if not rate.active:
            raise InvalidRequest(f"Tax rate '{rate_id}' is not active.", param=f"{param}[{i}]")
    if len(set(ids)) != len(ids):
        raise InvalidRequest("A tax rate is listed twice.", param=param)
    return list(ids)
