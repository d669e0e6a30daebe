"""Every request is named (``req_…``): the API answers it in ``Request-Id`` (app/api), the
hosted pages' error pages show it, and every log line about a failed request carries it, so
a merchant or a customer reporting a problem can point at the very request."""

from __future__ import annotations

from flask import Flask, g

from app.ids import new_id


def _name_the_request() -> None:
    g.request_id = new_id("req")


def init_app(app: Flask) -> None:
    app.before_request(_name_the_request)
