"""Extension instances, created here and bound in the factory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect

if TYPE_CHECKING:
    from app.payments.flow import MoneyFlow

# Objects stay readable after the boundary commits (e.g. to render the response).
db = SQLAlchemy(session_options={"expire_on_commit": False})
csrf = CSRFProtect()
babel = Babel()
# No default limits: limits are declared where they defend something (the
# hosted page's card forms), and only with VINR_REDIS_URL as the store: without
# it they are counted in the database (app.payments.attempts), because a memory
# store counts per process (SPEC §8) and so stays unused.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def invoice_key() -> str:
    """Rate-limit key for attempts on one invoice, whoever makes them."""
    return f"invoice:{(request.view_args or {}).get('invoice_id', '')}"


MONEY_FLOW = "vinr.money_flow"


def money_flow() -> MoneyFlow:
    """The app's money flow (its processors and the consequences of outcomes), built by the
    factory: what a boundary hands app/payments/flow.py."""
    flow: MoneyFlow = current_app.extensions[MONEY_FLOW]
    return flow
