"""The baseline: a bare Flask app, hand-written SQL on plain sqlite3 or psycopg (``BENCH_BARE_DB``).

The write flow's POSTs, one transaction each, each inserting an event row with its JSON answer; no
authentication, no validation. ``GET /page/<n>``: the hosted page's outline and size, no database.
For the load run (bench/load.py): ``GET /v1/invoices`` (the newest, with their lines) and
``POST /page/<n>/pay`` (the invoice paid and its event, in one transaction, then a redirect).
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


@app.get("/v1/invoices")
def list_invoices() -> Response:
    rows = run(f"SELECT {', '.join(INVOICE)} FROM invoices ORDER BY created DESC, id DESC LIMIT ?",
               int(request.args.get("limit", 10)))
    ids = [row[0] for row in rows]
    lines: dict[str, list[dict[str, Any]]] = {invoice_id: [] for invoice_id in ids}
    if ids:
        marks = ", ".join("?" * len(ids))
        for line in run(f"SELECT invoice_id, {', '.join(LINE)} FROM lines WHERE invoice_id IN ({marks}) "
                        "ORDER BY invoice_id, position", *ids):
            lines[line[0]].append(dict(zip(LINE, line[1:], strict=True)))
    data = [{**dict(zip(INVOICE, row, strict=True)), "object": "invoice",
             "lines": {"object": "list", "data": lines[row[0]]}} for row in rows]
    conn.commit()  # the read's transaction (psycopg opens one)
    return Response(json.dumps({"object": "list", "data": data, "has_more": len(data) == len(ids)}),
                    mimetype="application/json")


@app.post("/page/<int:n>/pay")
def pay(n: int) -> Response:
    with transaction():
        paid = run("UPDATE invoices SET status = 'paid' WHERE number = ? AND status = 'open' RETURNING id",
                   f"BENCH-{n:04d}")
        if not paid:
            abort(409)
        run("INSERT INTO events VALUES (?, ?, ?, ?)", "evt_" + secrets.token_hex(12), "invoice.paid",
            int(time.time()), json.dumps({"id": paid[0][0], "status": "paid"}))
    return Response(status=303, headers={"Location": f"/page/{n}?paid=1"})


@app.get("/page/<int:n>")
def page(n: int) -> Response:
    nonce, money, day = secrets.token_urlsafe(16), "€{:,.2f}".format, "%B %d, %Y"
    lines = [(f"Consulting, item {q}", q, money(125), money(125 * q)) for q in (1, 2, 3)]
    status = "Paid" if request.args.get("paid") else "Open"
    html = render_template("bare_page.html", nonce=nonce, status=status, number=f"BENCH-{n:04d}", lines=lines,
                           total=money(750), link=f"/i/inv_{n:023d}/" + "x" * 128, token=secrets.token_urlsafe(60),
                           issued=time.strftime(day), due=time.strftime(day, time.gmtime(time.time() + 30 * 86_400)))
    return Response(html, mimetype="text/html", headers={k: v.format(nonce) for k, v in HEADERS.items()})
