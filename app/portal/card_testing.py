"""The hosted page's side of the card-testing limit (SPEC §7; the rule and its stores:
app/card_testing/): the card forms it guards (``@guarded``), which tries failed
(``count_failed_try``), the commits that make a try count for every process at once, and
the branded 429 page."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta

from babel.dates import format_timedelta
from flask import current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError

from app.card_testing.rule import CardTestingLimited
from app.card_testing.service import Begun, CardTestingLimit
from app.db import commit_without_waiting_for_disk
from app.documents.view import build, current_locale, template_context
from app.extensions import db
from app.invoices import hosted

log = logging.getLogger(__name__)

PortalView = Callable[..., ResponseReturnValue]


def client_address() -> str:
    """The client's address as the limit counts it: what VINR_PROXY_HOPS trusted proxies
    forwarded, else the peer's."""
    return request.remote_addr or "127.0.0.1"


def count_failed_try() -> None:
    """This request's try counts against the limits: the processor refused the card or its
    authentication, or the card failed its own checks (number, expiry). A form that never
    reached the processor (a missing field, a malformed security code) is no failure."""
    g.card_try_failed = True


def guarded(view: PortalView) -> PortalView:
    """A card form: each POST is a try, begun before the view runs (refused with the 429 page
    when a limit is full, before anything reaches the processor) and finished by
    ``finish_try`` at the end of the request."""
    @functools.wraps(view)
    def guarded_view(**kwargs: str) -> ResponseReturnValue:
        if request.method != "POST":
            return view(**kwargs)
        try:
            g.card_try = _limit().begin(db.session, client_address=client_address(), invoice_id=kwargs["invoice_id"])
        except CardTestingLimited as refused:
            db.session.rollback()
            return _refusal(kwargs["invoice_id"], kwargs["token"], refused)
        _commit_count(g.card_try)  # the try counts from now on, for every process and host
        return view(**kwargs)

    return guarded_view


def finish_try() -> None:
    """Keep this request's try as failed, or forget it; after the request's own work was
    committed or rolled back. When the database breaks here the try stays counted (a
    warning is logged) and the customer still gets the answer to what was done."""
    begun: Begun | None = g.pop("card_try", None)
    if begun is None:
        return
    try:
        _limit().finish(db.session, begun, failed=bool(g.get("card_try_failed")))
        _commit_count(begun)
    except DBAPIError as error:
        db.session.rollback()
        log.warning("card-testing limit: a try could not be finished (request %s), it stays counted: %s",
                    g.get("request_id", "-"), error.orig, exc_info=not error.connection_invalidated)


def _commit_count(begun: Begun) -> None:
    """Commit the count, when the database keeps it. Visible to every other process at once;
    not waited for on disk: a database crash may lose the last instants' tries (the limit then
    counts a few fewer), and a card try saves two disk flushes."""
    if begun.in_database:
        commit_without_waiting_for_disk(db.session)
    db.session.commit()


def _limit() -> CardTestingLimit:
    limit: CardTestingLimit = current_app.extensions["card_testing"]
    return limit


def _refusal(invoice_id: str, token: str, refused: CardTestingLimited) -> ResponseReturnValue:
    """Branded like the invoice: which limit is full, when to try again, and the way back to
    the invoice. A bad link still gets the plain 404."""
    view = build(db.session, hosted.load(db.session, invoice_id, token, current_app.config["SECRET_KEY"]))
    when = format_timedelta(timedelta(seconds=refused.retry_after), granularity="minute", add_direction=True,
                            locale=current_locale())
    html = render_template("portal/rate_limited.html", **template_context(view, scope=refused.scope, when=when))
    return html, 429, {"Retry-After": str(refused.retry_after)}
