"""The baseline: a bare Flask app with the same routes as the benchmarked write flow.

Each handler parses the JSON body, does one plain ``sqlite3`` INSERT and a
COMMIT into a table in a temporary file (``BENCH_BARE_DB``), and answers a
JSON object padded to about the size of the VINR response for that route.
No ORM, no validation, no authentication, no events: the floor that the
real app is compared against. The connection uses the same pragmas as
VINR's SQLite set-up (WAL, synchronous=NORMAL), so the disk cost per commit
is the same on both sides.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from typing import Any

from flask import Flask, Response, request

# Approximate sizes of VINR's answers (bytes) for the same routes: a customer,
# a draft with 0 lines, a draft after each line, a finalized invoice.
PAD = {"customer": 310, "invoice": 970, "line": 1480, "finalize": 2110}

_conn: sqlite3.Connection | None = None


def _db() -> sqlite3.Connection:
    global _conn
    if _conn is None:
        _conn = sqlite3.connect(os.environ["BENCH_BARE_DB"], isolation_level=None, check_same_thread=False)
        _conn.execute("PRAGMA journal_mode=WAL")
        _conn.execute("PRAGMA synchronous=NORMAL")
        _conn.execute("PRAGMA busy_timeout=30000")
        _conn.execute("CREATE TABLE IF NOT EXISTS objects (id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                      "parent TEXT, created INTEGER NOT NULL, body TEXT NOT NULL)")
    return _conn


def _store(kind: str, parent: str | None) -> Response:
    body: Any = request.get_json(force=True, silent=True) or {}
    object_id = f"{kind[:4]}_{uuid.uuid4().hex}"
    conn = _db()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO objects (id, kind, parent, created, body) VALUES (?, ?, ?, ?, ?)",
                 (object_id, kind, parent, int(time.time()), json.dumps(body)))
    conn.execute("COMMIT")
    out = {"id": object_id, "object": kind, "parent": parent, "request": body}
    out["pad"] = "x" * max(0, PAD[kind] - len(json.dumps(out)))
    return Response(json.dumps(out), mimetype="application/json")


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
    return Response("{}", mimetype="application/json")
