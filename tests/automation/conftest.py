from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.emails.models import Email
from app.payments.models import Payment
from tests.conftest import Api

DAY = 86_400
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
THREE_DS_CARD = "4000000000003220"


def advance(api: Api, seconds: int) -> int:
    """Move the merchant's test clock; returns its new time."""
    return int(api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": seconds})["now"])


def save_card(api: Api, customer: dict[str, Any], number: str) -> dict[str, Any]:
    return api.ok("POST", f"/v1/customers/{customer['id']}/payment_methods",
                  {"card": {"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"}, "set_default": True})


def draft(api: Api, customer: dict[str, Any], **fields: Any) -> dict[str, Any]:
    invoice = api.ok("POST", "/v1/invoices", {"customer": customer["id"], **fields})
    api.ok("POST", f"/v1/invoices/{invoice['id']}/lines", {"description": "Design work", "unit_amount": 120000})
    return invoice


def invoice_now(api: Api, invoice_id: str) -> dict[str, Any]:
    return api.ok("GET", f"/v1/invoices/{invoice_id}")


def payments_of(db_session: Any, invoice_id: str) -> list[Payment]:
    return list(db_session.execute(sa.select(Payment).where(Payment.invoice_id == invoice_id)
                                   .order_by(Payment.created, Payment.id)
                                   .execution_options(populate_existing=True)).scalars())


def emails_of(db_session: Any, account_id: str) -> list[Email]:
    return list(db_session.execute(sa.select(Email).where(Email.account_id == account_id)
                                   .order_by(Email.created, Email.id)
                                   .execution_options(populate_existing=True)).scalars())


def event_types(api: Api, invoice_id: str) -> list[str]:
    """The invoice's events, oldest first."""
    events = api.ok("GET", "/v1/events", query_string={"limit": 100})["data"]
    return [e["type"] for e in reversed(events) if e["data"].get("id") == invoice_id
            or e["data"].get("invoice") == invoice_id]
