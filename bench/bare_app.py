"""The baseline: a bare Flask app with the same routes as the benchmarked write flow,
doing the same number of SQLite writes in the same number of transactions.

Issue 2's target compares VINR with "a bare Flask handler doing the same number
of SQLite writes". ``bench/run.py`` counts VINR's own write statements
(INSERT/UPDATE/DELETE, by table) and transactions for each route in process,
and passes that plan here as JSON in ``BENCH_BARE_PLAN``::

    {"line": [[["INSERT", "invoice_lines"], ["INSERT", "events"], ["UPDATE", "invoices"]]], ...}

one list per transaction. Each handler parses the JSON body, runs its route's
plan with plain ``sqlite3`` (``BEGIN IMMEDIATE``, one statement per write, each
touching one row of a table of the same name, ``COMMIT``) into a temporary file
(``BENCH_BARE_DB``), and answers a JSON object padded to about the size of VINR's
answer on that route. No ORM, no reads, no validation, no authentication: the
floor that the real app is compared against. The connection uses the same
pragmas as VINR's SQLite set-up (WAL, synchronous=NORMAL), so the disk cost per
commit is the same on both sides.

``GET /stats`` reports the requests, transactions and writes each route really
did, so the benchmark can check that the plan was followed.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import uuid
from typing import Any

from flask import Flask, Response, request

# Approximate sizes of VINR's answers (bytes) for the same routes: a customer,
# a draft with 0 lines, a draft after each line, a finalized invoice.
PAD = {"customer": 310, "invoice": 970, "line": 1480, "finalize": 2110}
ROUTES = tuple(PAD)

# The flow's writes when no plan is given (VINR's, as counted at commit fa31dd9),
# so the app also runs on its own; bench/run.py always passes the measured plan.
DEFAULT_PLAN: dict[str, list[list[list[str]]]] = {
    "customer": [[["INSERT", "customers"], ["INSERT", "events"]]],
    "invoice": [[["INSERT", "invoices"], ["INSERT", "events"]]],
    "line": [[["UPDATE", "invoices"], ["INSERT", "invoice_lines"], ["INSERT", "events"]]],
    "finalize": [[["UPDATE", "invoice_counters"], ["UPDATE", "invoices"], ["INSERT", "events"]]],
}
OBJECT_TABLES = frozenset({"events", "invoices", "customers"})
SINGLETON = "singleton"  # the one row an UPDATE of a table without a per-invoice row touches
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

_conn: sqlite3.Connection | None = None
_plan: dict[str, list[list[tuple[str, str]]]] = {}
_stats: dict[str, dict[str, int]] = {route: {"requests": 0, "transactions": 0, "writes": 0} for route in ROUTES}


def _load_plan() -> dict[str, list[list[tuple[str, str]]]]:
    raw = json.loads(os.environ["BENCH_BARE_PLAN"]) if os.environ.get("BENCH_BARE_PLAN") else DEFAULT_PLAN
    plan = {}
    for route in ROUTES:
        plan[route] = [[(verb.upper(), table) for verb, table in tx] for tx in raw[route]]
        for tx in plan[route]:
            for verb, table in tx:
                if verb not in ("INSERT", "UPDATE", "DELETE") or not _NAME.match(table):
                    raise ValueError(f"bad write in BENCH_BARE_PLAN: {verb} {table}")
    return plan


def _db() -> sqlite3.Connection:
    global _conn, _plan
    if _conn is None:
        _plan = _load_plan()
        conn = sqlite3.connect(os.environ["BENCH_BARE_DB"], isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        # One table per table name in the plan, all of the same plain shape: a
        # primary key, a parent, a counter (the version or the last number), a
        # time and a JSON body. Each gets one long-lived row for UPDATEs and
        # DELETEs that have no per-invoice row to touch.
        for table in sorted({table for txs in _plan.values() for tx in txs for _, table in tx}):
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (id TEXT PRIMARY KEY, parent TEXT, '
                         "n INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, body TEXT NOT NULL)")
            conn.execute(f'INSERT OR IGNORE INTO "{table}" (id, created, body) VALUES (?, ?, ?)',
                         (SINGLETON, int(time.time()), "{}"))
        _conn = conn
    return _conn


def _write(conn: sqlite3.Connection, verb: str, table: str, object_id: str, parent: str | None,
           body: str) -> None:
    now = int(time.time())
    if verb == "INSERT":
        # The object itself when the route creates it (its table's row), else a child row.
        row_id = object_id if table in ("invoices", "customers") else f"{table[:4]}_{uuid.uuid4().hex}"
        conn.execute(f'INSERT INTO "{table}" (id, parent, created, body) VALUES (?, ?, ?, ?)',
                     (row_id, parent or object_id, now, body))
        return
    # The invoice being worked on, else the table's long-lived row (e.g. the counter).
    target = parent if table == "invoices" and parent else SINGLETON
    if verb == "UPDATE":
        cursor = conn.execute(f'UPDATE "{table}" SET n = n + 1, created = ?, body = ? WHERE id = ?',
                              (now, body, target))
    else:  # a DELETE keeps the long-lived row: delete a fresh one
        conn.execute(f'INSERT INTO "{table}" (id, created, body) VALUES (?, ?, ?)', (object_id, now, "{}"))
        cursor = conn.execute(f'DELETE FROM "{table}" WHERE id = ?', (object_id,))
        target = object_id
    if cursor.rowcount != 1:
        raise RuntimeError(f"{verb} {table} {target} touched {cursor.rowcount} rows")


def _store(kind: str, parent: str | None) -> Response:
    body: Any = request.get_json(force=True, silent=True) or {}
    object_id = f"{kind[:4]}_{uuid.uuid4().hex}"
    out = {"id": parent or object_id, "object": kind, "parent": parent, "request": body}
    out["pad"] = "x" * max(0, PAD[kind] - len(json.dumps(out)))
    answer = json.dumps(out)
    request_json = json.dumps(body)
    conn = _db()
    stats = _stats[kind]
    for tx in _plan[kind]:
        conn.execute("BEGIN IMMEDIATE")
        for verb, table in tx:
            # Event and object rows carry the answer, as VINR's carry the object; others the request.
            _write(conn, verb, table, object_id, parent, answer if table in OBJECT_TABLES else request_json)
        conn.execute("COMMIT")
        stats["transactions"] += 1
        stats["writes"] += len(tx)
    stats["requests"] += 1
    return Response(answer, mimetype="application/json")


app = Flask(__name__)


@app.post("/v1/customers")
def customers() -> Response:
    return _store("customer", None)


@app.post("/v1/invoices")
def invoices() -> Response:
    return _store("invoice", None)


@app.post("/v1/invoices/<invoice_id>/lines")
def lines(invoice_id: str) -> Response:
    return _store("line", invoice_id)


@app.post("/v1/invoices/<invoice_id>/finalize")
def finalize(invoice_id: str) -> Response:
    return _store("finalize", invoice_id)


@app.get("/ping")
def ping() -> Response:
    _db()  # fail here, not in the first timed request, on a bad plan
    return Response("{}", mimetype="application/json")


@app.get("/stats")
def stats() -> Response:
    return Response(json.dumps(_stats), mimetype="application/json")
