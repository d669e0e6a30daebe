"""The baseline: a bare Flask app, hand-written SQL on plain sqlite3 or psycopg (``BENCH_BARE_DB``).

The write flow's POSTs, one transaction each, each inserting an event row with its JSON answer; no
authentication, no validation. ``GET /page/<n>``: the hosted page's outline and size, no database.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from flask import Flask, Response, abort, render_template, request

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, email TEXT, created BIGINT);
CREATE TABLE IF NOT EXISTS invoices (id TEXT PRIMARY KEY, customer TEXT REFERENCES customers (id), status TEXT,
  number TEXT, days_until_due INT, subtotal BIGINT, total BIGINT, created BIGINT, finalized_at BIGINT);
CREATE TABLE IF NOT EXISTS lines (id TEXT PRIMARY KEY, invoice_id TEXT REFERENCES invoices (id), position INT,
  description TEXT, quantity BIGINT, unit_amount BIGINT, amount BIGINT);
CREATE INDEX IF NOT EXISTS lines_invoice ON lines (invoice_id, position);
CREATE TABLE IF NOT EXISTS counters (id INT PRIMARY KEY, last_number BIGINT);
INSERT INTO counters VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT, created BIGINT, data TEXT)"""
INVOICE = ("id", "customer", "status", "number", "days_until_due", "subtotal", "total", "created")
LINE = ("id", "description", "quantity", "unit_amount", "amount")
RETURNING = f" RETURNING {', '.join(INVOICE)}"
HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow",
           "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Content-Security-Policy":
           "default-src 'none'; script-src 'none'; style-src 'self' 'nonce-{}'; img-src 'self' data:; "
           "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"}

app = Flask(__name__)
url = os.environ["BENCH_BARE_DB"]
pg = url.startswith("postgresql")
conn: Any = psycopg.connect(url) if pg else sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
if not pg:  # as VINR sets up SQLite
    for pragma in ("foreign_keys=ON", "busy_timeout=30000", "journal_mode=WAL", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")


def run(sql: str, *args: Any) -> list[Any]:
    cursor = conn.execute(sql.replace("?", "%s") if pg else sql, args)
    return cursor.fetchall() if cursor.description else []


@contextmanager
def transaction() -> Iterator[None]:
    if not pg:
        conn.execute("BEGIN IMMEDIATE")  # as VINR's writers do
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


with transaction():
    for statement in SCHEMA.split(";"):
        run(statement)


def answer(event: str, body: dict[str, Any]) -> Response:
    """Insert the event row carrying the answer, in the request's transaction, and answer."""
    data = json.dumps(body)
    run("INSERT INTO events VALUES (?, ?, ?, ?)", "evt_" + secrets.token_hex(12), event, int(time.time()), data)
    return Response(data, mimetype="application/json")


def invoice(rows: list[Any]) -> dict[str, Any]:
    if not rows:
        abort(404)
    out = dict(zip(INVOICE, rows[0], strict=True))
    lines = run(f"SELECT {', '.join(LINE)} FROM lines WHERE invoice_id = ? ORDER BY position", out["id"])
    number = out["number"] and int(out["number"].removeprefix("BENCH-"))
    return {**out, "object": "invoice", "amount_due": out["total"], "hosted_invoice_url": number and f"/page/{number}",
            "lines": {"object": "list", "data": [dict(zip(LINE, line, strict=True)) for line in lines]}}


@app.post("/v1/customers")
def create_customer() -> Response:
    customer = {"id": "cus_" + secrets.token_hex(12), "email": request.get_json()["email"], "created": int(time.time())}
    with transaction():
        run("INSERT INTO customers VALUES (?, ?, ?)", *customer.values())
        return answer("customer.created", {**customer, "object": "customer"})


@app.post("/v1/invoices")
def create_invoice() -> Response:
    body = request.get_json()
    with transaction():
        return answer("invoice.created", invoice(run(
            "INSERT INTO invoices VALUES (?, ?, 'draft', NULL, ?, 0, 0, ?, NULL)" + RETURNING,
            "inv_" + secrets.token_hex(12), body["customer"], body["days_until_due"], int(time.time()))))


@app.post("/v1/invoices/<invoice_id>/lines")
def add_line(invoice_id: str) -> Response:
    body = request.get_json()
    amount = body["quantity"] * body["unit_amount"]
    with transaction():
        run("INSERT INTO lines VALUES (?, ?, (SELECT COUNT(*) FROM lines WHERE invoice_id = ?), ?, ?, ?, ?)",
            "il_" + secrets.token_hex(12), invoice_id, invoice_id, body["description"], body["quantity"],
            body["unit_amount"], amount)
        return answer("invoice.updated", invoice(run(
            "UPDATE invoices SET subtotal = subtotal + ?, total = total + ? WHERE id = ? AND status = 'draft'"
            + RETURNING, amount, amount, invoice_id)))


@app.post("/v1/invoices/<invoice_id>/finalize")
def finalize(invoice_id: str) -> Response:
    with transaction():
        (number,) = run("UPDATE counters SET last_number = last_number + 1 WHERE id = 1 RETURNING last_number")[0]
        return answer("invoice.finalized", invoice(run(
            "UPDATE invoices SET status = 'open', number = ?, finalized_at = ? WHERE id = ? AND status = 'draft'"
            + RETURNING, f"BENCH-{number:04d}", int(time.time()), invoice_id)))


@app.get("/page/<int:n>")
def page(n: int) -> Response:
    nonce, money, day = secrets.token_urlsafe(16), "€{:,.2f}".format, "%B %d, %Y"
    lines = [(f"Consulting, item {q}", q, money(125), money(125 * q)) for q in (1, 2, 3)]
    html = render_template("bare_page.html", nonce=nonce, number=f"BENCH-{n:04d}", lines=lines, total=money(750),
                           link=f"/i/inv_{n:023d}/" + "x" * 128, token=secrets.token_urlsafe(60),
                           issued=time.strftime(day), due=time.strftime(day, time.gmtime(time.time() + 30 * 86_400)))
    return Response(html, mimetype="text/html", headers={k: v.format(nonce) for k, v in HEADERS.items()})
