"""Guide: fulfil from the webhook.

A small Flask receiver: it verifies each delivery with ``vinr.webhooks.verify``
(against the raw body), then acts once per event id — a delivery can come more
than once, and in any order — on ``invoice.paid`` (fulfil the order) and
``invoice.payment_failed`` (ask the customer for another card).

    pip install flask
    export VINR_WEBHOOK_SECRET=whsec_…   # from creating the endpoint; unset: this script registers
                                          # http://127.0.0.1:$PORT/webhooks/vinr itself, or, after a
                                          # restart, rolls the secret of the one it registered before
    python examples/webhook_receiver.py  # then run finalize_and_collect.py, with ./scripts/run's worker

Handled event ids are kept in SQLite (``RECEIVER_DB``, default
``webhook_events.sqlite3``), so a redelivery after a restart is still recognized.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from typing import Any

import vinr
from flask import Flask, request
from vinr import Vinr

EVENTS = ["invoice.paid", "invoice.payment_failed"]


def fulfil(invoice: Any) -> None:
    # Ship the goods, unlock the licence, … Here: say so.
    print(f"fulfilled: {invoice.id} {invoice.number} paid {invoice.amount_paid} {invoice.currency}", flush=True)


def ask_for_another_card(invoice: Any) -> None:
    error = invoice.last_payment_error
    print(f"payment failed: {invoice.id} {error.code if error else ''} -> {invoice.hosted_invoice_url}", flush=True)


HANDLERS = {"invoice.paid": fulfil, "invoice.payment_failed": ask_for_another_card}


def create_app(secret: str, database: str) -> Flask:
    app = Flask(__name__)
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("CREATE TABLE IF NOT EXISTS handled_events (id TEXT PRIMARY KEY, type TEXT NOT NULL)")

    @app.post("/webhooks/vinr")
    def receive() -> tuple[str, int]:
        try:
            event = vinr.webhooks.verify(request.get_data(), request.headers, secret)
        except vinr.SignatureVerificationError as error:
            print(f"refused: {error}", flush=True)
            return "bad signature", 400
        handler = HANDLERS.get(event.type)
        if handler is None:
            return "ignored", 200
        # The event id is recorded in the same transaction as the work is done: a
        # failure leaves it unrecorded, so VINR's retry does the work then.
        with closing(sqlite3.connect(database, isolation_level="IMMEDIATE")) as db, db:
            first = db.execute("INSERT OR IGNORE INTO handled_events (id, type) VALUES (?, ?)",
                               (event.id, event.type)).rowcount == 1
            if not first:
                print(f"duplicate: {event.id} {event.type}", flush=True)
                return "already handled", 200
            handler(event.data)
        return "ok", 200

    return app


def webhook_secret(port: int) -> str:
    secret = os.environ.get("VINR_WEBHOOK_SECRET")
    if secret:
        return secret
    url = f"http://127.0.0.1:{port}/webhooks/vinr"
    with Vinr() as client:
        # After a restart the endpoint is already there, its secret gone with the last process:
        # roll it rather than add another. Deliveries during a roll carry a signature per
        # secret, so the new one verifies pending retries too; the old one may end soon.
        existing = next((e for e in client.webhook_endpoints.list(limit=100).auto_paging_iter() if e.url == url), None)
        if existing is not None:
            endpoint = client.webhook_endpoints.roll_secret(existing.id, expires_in=60)
            print(f"reused: {endpoint.id} {endpoint.url} (secret rolled)", flush=True)
        else:
            endpoint = client.webhook_endpoints.create(url=url, enabled_events=EVENTS,
                                                       description="examples/webhook_receiver.py")
            print(f"registered: {endpoint.id} {endpoint.url}", flush=True)
    assert endpoint.secret is not None  # shown in the answers to create and roll_secret
    return endpoint.secret


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = create_app(webhook_secret(port), os.environ.get("RECEIVER_DB", "webhook_events.sqlite3"))
    app.run(host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
