#!/usr/bin/env python
"""VINR benchmark: write-flow throughput and list latency, each against a baseline
measured in the same run, reported as ratios (the machine is shared and noisy).

    .venv/bin/python bench/run.py [--iterations 150] [--rounds 5] [--large 100000]

1. Write flow. One ``POST /v1/customers``, then per iteration ``POST /v1/invoices``
   (send_invoice, 30 days) + 3 x ``POST /v1/invoices/{id}/lines`` + ``POST
   /v1/invoices/{id}/finalize``: 5 requests per invoice, through gunicorn (1 worker)
   on a fresh SQLite file. Baseline: ``bench/bare_app.py`` (bare Flask + sqlite3)
   under the same gunicorn settings, driven by the same client code. It does the same
   SQLite writes per route, in the same transactions, as VINR: the bench first counts
   VINR's statements per route in process (``count_statements``), hands the bare app
   that plan, and afterwards checks the bare app's own tally against it. Invoices
   alternate between the two servers, so both see the same load.
2. List latency. ``GET /v1/invoices?limit=100``, first page and a deep page (cursor
   ``starting_after`` with 200 older invoices behind it, e.g. the 99,800th newest of
   100k), on an account with ``--small`` (1,000) invoices vs one with ``--large``
   (100,000), each in its own SQLite file seeded by bulk SQL, both served at once by
   two gunicorn workers and sampled one request per cell in turn.

Servers and temporary files are removed on exit. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import platform
import pstats
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET_KEY = "x" * 32
PUBLIC_URL = "http://127.0.0.1"
LIST_LIMIT = 100
DEEP_TAIL = 200  # the deep cursor has this many older invoices behind it (a full page follows)
WRITE_TARGET = 3.0
LIST_TARGET = 1.5


# --------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One gunicorn master (one worker unless told), its output in a log file."""

    name: str
    module: str
    env: dict[str, str]
    workdir: Path
    worker_class: str
    workers: int = 1
    threads: int = 1
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.gunicorn.log"

    def start(self) -> None:
        self.port = _free_port()
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-k", self.worker_class,
               *(["--threads", str(self.threads)] if self.threads > 1 else []),
               "-b", f"127.0.0.1:{self.port}", "--chdir", str(ROOT), "--log-level", "warning",
               "--timeout", "120", self.module]
        env = {**os.environ, **self.env, "PYTHONDONTWRITEBYTECODE": "1"}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, path: str, headers: dict[str, str] | None = None, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited:\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", path, headers=headers or {})
                status = conn.getresponse().status
                conn.close()
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server not ready after {timeout}s:\n{self.tail()}")

    def tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # the master stops its worker gracefully
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: only this master and its worker
            proc.wait(timeout=5)


class Client:
    """A keep-alive HTTP/1.1 client (http.client reconnects when the server closes)."""

    def __init__(self, port: int, key: str | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Content-Type": "application/json"}
        if key:
            self.headers["X-Api-Key"] = key
        self.bytes_received = 0

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers=self.headers)
        response = self.conn.getresponse()
        payload = response.read()
        self.bytes_received += len(payload)
        return response.status, payload

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = self.call(method, path, body)
        if status != 200:
            raise RuntimeError(f"{method} {path} answered {status}: {payload[:500]!r}")
        return json.loads(payload)

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------- databases


@dataclass
class VinrDb:
    url: str
    key: str
    account_id: str
    customer_id: str | None = None
    ids_newest_first: list[str] = field(default_factory=list)


def make_vinr_db(path: Path, invoices: int, lines_per_invoice: int) -> tuple[VinrDb, float]:
    """A fresh SQLite file with the schema, one merchant and ``invoices`` seeded invoices."""
    from app import create_app
    from app.accounts.service import create_merchant
    from app.cli import upgrade
    from app.extensions import db

    url = f"sqlite:///{path}"
    flask_app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL})
    with flask_app.app_context():
        upgrade()
        merchant = create_merchant(db.session, "Bench", "BENCH")
        db.session.commit()
        out = VinrDb(url, merchant.test_secret_key, merchant.account.id)
        seconds = 0.0
        if invoices:
            t0 = time.perf_counter()
            out.customer_id, out.ids_newest_first = _seed(db, out.account_id, invoices, lines_per_invoice)
            seconds = time.perf_counter() - t0
        db.session.close()
        db.engine.dispose()
    return out, seconds


def _table(model: Any) -> Any:
    return model.__table__


def _seed(db: Any, account_id: str, count: int, lines_per_invoice: int) -> tuple[str, list[str]]:
    """Bulk-insert one customer and ``count`` open invoices (SQLAlchemy Core, one transaction).

    ``created`` spreads over time, three invoices per second, so (created, id)
    ties exist and the id breaks them, as in real traffic.
    """
    import sqlalchemy as sa

    from app import tokens
    from app.accounts.models import InvoiceCounter
    from app.customers.models import Customer
    from app.ids import new_id
    from app.invoices.models import Invoice, InvoiceLine, InvoiceStatus

    now = int(time.time())
    first = now - count // 3 - 3600
    customer_id = new_id("cust")
    address = {"line1": "1 Bench Street", "line2": None, "city": "Berlin", "postal_code": "10115",
               "state": None, "country": "DE"}
    invoices: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for i in range(count):
        invoice_id = new_id("inv")
        created = first + i // 3
        subtotal = 0
        for position in range(lines_per_invoice):
            quantity, unit_amount = position + 1, 12_500
            subtotal += quantity * unit_amount
            lines.append({"id": new_id("il"), "invoice_id": invoice_id, "position": position,
                          "description": f"Consulting, item {position + 1}", "quantity": quantity,
                          "unit_amount": unit_amount, "amount": quantity * unit_amount,
                          "discount_amount": 0, "tax_amounts": [], "metadata": {}})
        invoices.append({
            "id": invoice_id, "account_id": account_id, "livemode": False, "created": created,
            "customer_id": customer_id, "status": InvoiceStatus.OPEN, "number": f"BENCH-{i + 1:04d}",
            "currency": "eur", "collection_method": "send_invoice", "days_until_due": 30,
            "due_date": created + 30 * 86_400, "auto_advance": False, "metadata": {},
            "coupon_pks": [], "default_tax_rate_ids": [], "subtotal": subtotal, "discount": 0, "tax": 0,
            "total": subtotal, "amount_due": subtotal, "amount_paid": 0, "tax_amounts": [],
            "discount_amounts": [], "customer_email": "bench@example.com", "customer_name": "Bench Customer",
            "customer_address": address, "attempt_count": 0,
            "hosted_token": tokens.mint(tokens.HOSTED_INVOICE, {"i": invoice_id, "a": account_id}),
            "finalized_at": created, "version": 1,
        })
    with db.engine.begin() as conn:
        conn.execute(sa.insert(_table(Customer)), [{
            "id": customer_id, "account_id": account_id, "livemode": False, "created": first - 1,
            "email": "bench@example.com", "name": "Bench Customer", "address": address,
            "preferred_locales": [], "tax_exempt": "none", "metadata": {}, "deleted": False}])
        conn.execute(sa.insert(_table(Invoice)), invoices)
        if lines:
            conn.execute(sa.insert(_table(InvoiceLine)), lines)
        conn.execute(sa.update(_table(InvoiceCounter))
                     .where(InvoiceCounter.account_id == account_id, InvoiceCounter.livemode.is_(False))
                     .values(last_number=count))
    ordered = sorted(invoices, key=lambda row: (row["created"], row["id"]), reverse=True)
    return customer_id, [row["id"] for row in ordered]


# --------------------------------------------------------------------------- measurements


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


LINES = [{"description": f"Consulting, item {n + 1}", "quantity": n + 1, "unit_amount": 12_500} for n in range(3)]
INVOICE = {"collection_method": "send_invoice", "days_until_due": 30}


def one_invoice(client: Client, customer_id: str, vinr: bool) -> float:
    """One invoice, 5 requests (answers checked); returns its wall time in seconds."""
    t0 = time.perf_counter()
    invoice_id = client.ok("POST", "/v1/invoices", {"customer": customer_id, **INVOICE})["id"]
    for line in LINES:
        client.ok("POST", f"/v1/invoices/{invoice_id}/lines", line)
    final = client.ok("POST", f"/v1/invoices/{invoice_id}/finalize", {})
    elapsed = time.perf_counter() - t0
    if vinr and (final["status"] != "open" or len(final["lines"]["data"]) != 3 or final["total"] != 75_000):
        raise RuntimeError(f"unexpected finalized invoice: {final}")
    return elapsed


def latency(client: Client, path: str, samples: int, expect: list[str]) -> list[float]:
    """Time ``samples`` GETs of ``path`` (request to last body byte); check the page after each."""
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        status, payload = client.call("GET", path)
        out.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {payload[:300]!r}")
        if expect:
            got = [row["id"] for row in json.loads(payload)["data"]]
            if got != expect:
                raise RuntimeError(f"GET {path}: wrong page (first {got[:2]}, expected {expect[:2]})")
    return out


# --------------------------------------------------------------------------- in process

FLOW_ROUTES = ("customer", "invoice", "line", "finalize")
WRITE_VERBS = ("INSERT", "UPDATE", "DELETE")
_TABLE = re.compile(r'^(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)


def _inprocess_app(db_path: Path) -> tuple[Any, Callable[[str, Any], Any]]:
    """VINR on a fresh SQLite file with one merchant, and a POST helper (Flask test client)."""
    from app import create_app
    from app.accounts.service import create_merchant
    from app.cli import upgrade
    from app.extensions import db

    flask_app = create_app({"DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": SECRET_KEY,
                            "PUBLIC_URL": PUBLIC_URL})
    with flask_app.app_context():
        upgrade()
        key = create_merchant(db.session, "Bench", "BENCH").test_secret_key
        db.session.commit()
    client = flask_app.test_client()
    headers = {"X-Api-Key": key}

    def ok(path: str, body: Any) -> Any:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return flask_app, ok


def check_bare_writes(port: int, counts: dict[str, Any]) -> dict[str, Any]:
    """The bare app's own tally: it did, per request, the writes and transactions counted for VINR."""
    stats = Client(port).ok("GET", "/stats")
    for route in FLOW_ROUTES:
        done, want = stats[route], counts[route]
        if not done["requests"] or (done["writes"], done["transactions"]) != (
                done["requests"] * want["writes"], done["requests"] * want["transactions"]):
            raise RuntimeError(f"bare app did not mirror VINR on {route}: {done}, expected per request {want}")
    return stats


def count_statements(db_path: Path) -> dict[str, Any]:
    """VINR's SQL per route of the write flow, counted in process.

    Every statement SQLite runs is logged (``sqlite3``'s trace callback on each
    pooled connection, so statements that bypass SQLAlchemy's events count
    too, and COMMIT is the one SQLite ran), for one customer and then two
    invoices, each with 3 lines. Per route the result has the statements in
    order, the reads, and ``plan``: one list of ``[verb, table]`` writes per
    transaction, which the bare app repeats. Raises when two requests of one
    route differ (the bare app could then not mirror them).
    """
    from sqlalchemy import event

    from app.extensions import db

    flask_app, ok = _inprocess_app(db_path)
    with flask_app.app_context():
        engine = db.engine
    log: list[str] = []

    def on_statement(statement: str) -> None:
        log.append(" ".join(statement.split()))

    engine.dispose()  # no connection opened before the trace is set
    event.listen(engine, "checkout", lambda dbapi_conn, *_: dbapi_conn.set_trace_callback(on_statement))
    event.listen(engine, "checkin", lambda dbapi_conn, *_: dbapi_conn.set_trace_callback(None))

    seen: dict[str, list[dict[str, Any]]] = {route: [] for route in FLOW_ROUTES}

    def counted(route: str, path: str, body: Any) -> Any:
        log.clear()
        answer = ok(path, body)
        transactions: list[list[list[str]]] = []
        current: list[list[str]] = []
        reads = 0
        for statement in log:
            verb = statement.split(" ", 1)[0].upper()
            if verb in ("COMMIT", "ROLLBACK"):
                transactions.append(current)
                current = []
            elif verb in WRITE_VERBS:
                match = _TABLE.match(statement)
                current.append([verb, match.group(1) if match else "?"])
            elif verb == "SELECT":
                reads += 1
        if current:
            raise RuntimeError(f"{route}: writes after the last commit: {current}")
        seen[route].append({"statements": [s[:100] for s in log], "reads": reads, "plan": transactions})
        return answer

    customer = counted("customer", "/v1/customers", {"email": "bench@example.com", "name": "Bench Customer"})["id"]
    for _ in range(2):
        invoice_id = counted("invoice", "/v1/invoices", {"customer": customer, **INVOICE})["id"]
        for line in LINES:
            counted("line", f"/v1/invoices/{invoice_id}/lines", line)
        counted("finalize", f"/v1/invoices/{invoice_id}/finalize", {})
    with flask_app.app_context():
        db.engine.dispose()
    out: dict[str, Any] = {}
    for route, requests in seen.items():
        first = requests[0]
        for other in requests[1:]:
            if (other["plan"], other["reads"]) != (first["plan"], first["reads"]):
                raise RuntimeError(f"{route}: requests differ in their SQL: {first} vs {other}")
        out[route] = {**first, "transactions": len(first["plan"]),
                      "writes": sum(len(tx) for tx in first["plan"])}
    return out


def counts_table(counts: dict[str, Any]) -> str:
    rows = ["| route | VINR statements (reads + writes) | writes = bare writes | transactions |",
            "|---|---:|---:|---:|"]
    per_invoice = {"reads": 0, "writes": 0, "transactions": 0}
    for route, label in (("customer", "POST /v1/customers (once)"), ("invoice", "POST /v1/invoices"),
                         ("line", "POST /v1/invoices/{id}/lines (x3)"),
                         ("finalize", "POST /v1/invoices/{id}/finalize")):
        c = counts[route]
        tables = ", ".join(f"{verb} {table}" for tx in c["plan"] for verb, table in tx)
        rows.append(f"| {label} | {c['reads'] + c['writes']} ({c['reads']} + {c['writes']}) "
                    f"| {c['writes']}: {tables} | {c['transactions']} |")
        if route != "customer":
            for k in per_invoice:
                per_invoice[k] += (3 if route == "line" else 1) * c[k]
    rows.append(f"| per invoice (5 requests) | {per_invoice['reads'] + per_invoice['writes']} "
                f"({per_invoice['reads']} + {per_invoice['writes']}) | {per_invoice['writes']} "
                f"| {per_invoice['transactions']} |")
    return "\n".join(rows)


def profile_write_flow(db_path: Path, iterations: int) -> str:
    """cProfile of the VINR write flow in process (Flask test client, no HTTP server)."""
    from app.extensions import db

    flask_app, ok = _inprocess_app(db_path)
    customer = ok("/v1/customers", {"email": "bench@example.com", "name": "Bench Customer"})["id"]

    def flow(n: int) -> None:
        for _ in range(n):
            invoice_id = ok("/v1/invoices", {"customer": customer, **INVOICE})["id"]
            for line in LINES:
                ok(f"/v1/invoices/{invoice_id}/lines", line)
            ok(f"/v1/invoices/{invoice_id}/finalize", {})

    flow(5)
    profiler = cProfile.Profile()
    profiler.enable()
    flow(iterations)
    profiler.disable()
    with flask_app.app_context():
        db.engine.dispose()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    return text.getvalue()


# --------------------------------------------------------------------------- main


@contextmanager
def servers_stopped_on_exit(servers: list[Server]) -> Iterator[None]:
    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        yield
    except BaseException:
        for server in servers:
            if server.proc is not None:
                print(f"--- {server.name} server log (last lines) ---\n{server.tail()}", file=sys.stderr)
        raise
    finally:
        for server in servers:
            server.stop()
        signal.signal(signal.SIGTERM, previous)


def _info() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except OSError:
            return ""

    gunicorn = subprocess.run([sys.executable, "-m", "gunicorn", "--version"], capture_output=True,
                              text=True).stdout.strip()
    return {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "gunicorn": gunicorn,
            "git_commit": git("rev-parse", "--short", "HEAD"),
            "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "loadavg_start": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=150,
                        help="invoices per round and per server in the write flow (default 150)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of the write flow, to show its spread (default 5)")
    parser.add_argument("--small", type=int, default=1_000, help="invoices in the small account (default 1000)")
    parser.add_argument("--large", type=int, default=100_000,
                        help="invoices in the large account (default 100000)")
    parser.add_argument("--lines-per-invoice", type=int, default=1,
                        help="lines seeded on each listed invoice (default 1)")
    parser.add_argument("--samples", type=int, default=300,
                        help="timed GETs per page and account (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before timing (default 20)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class for every server (default sync)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json",
                        help="JSON results file (default bench/results/latest.json)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also cProfile N write-flow iterations in process; the profile is written "
                             "next to --out")
    args = parser.parse_args(argv)
    if args.large < DEEP_TAIL + LIST_LIMIT or args.small < DEEP_TAIL + LIST_LIMIT:
        parser.error(f"--small and --large must be at least {DEEP_TAIL + LIST_LIMIT}")
    if min(args.iterations, args.rounds, args.samples) < 1:
        parser.error("--iterations, --rounds and --samples must be positive")

    started = time.perf_counter()
    results: dict[str, Any] = {"machine": _info(), "config": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}

    with tempfile.TemporaryDirectory(prefix="vinr-bench-") as tmp:
        work = Path(tmp)
        print(f"preparing databases in {work} ...", flush=True)
        counts = count_statements(work / "count.sqlite3")
        results["sql_per_request"] = counts
        plan = {route: counts[route]["plan"] for route in FLOW_ROUTES}
        print("  VINR's SQL per request, counted in process (the bare app does the same writes):")
        print("  " + counts_table(counts).replace("\n", "\n  "), flush=True)
        write_db, _ = make_vinr_db(work / "write.sqlite3", 0, 0)
        small_db, small_seed = make_vinr_db(work / "small.sqlite3", args.small, args.lines_per_invoice)
        large_db, large_seed = make_vinr_db(work / "large.sqlite3", args.large, args.lines_per_invoice)
        results["seeding_seconds"] = {"small": small_seed, "large": large_seed}
        print(f"  seeded {args.small:,} invoices in {small_seed:.1f}s, {args.large:,} in {large_seed:.1f}s",
              flush=True)

        def vinr_env(db: VinrDb) -> dict[str, str]:
            return {"VINR_DATABASE_URL": db.url, "VINR_SECRET_KEY": SECRET_KEY, "VINR_PUBLIC_URL": PUBLIC_URL}

        bare = Server("bare", "bench.bare_app:app", {"BENCH_BARE_DB": str(work / "bare.sqlite3"),
                                                     "BENCH_BARE_PLAN": json.dumps(plan)}, work, args.worker_class)
        vinr = Server("vinr", "bench.wsgi_bench:app", vinr_env(write_db), work, args.worker_class)
        small = Server("small", "bench.wsgi_bench:app", vinr_env(small_db), work, args.worker_class)
        large = Server("large", "bench.wsgi_bench:app", vinr_env(large_db), work, args.worker_class)
        all_servers = [bare, vinr, small, large]
        with servers_stopped_on_exit(all_servers):
            for server in all_servers:
                server.start()
            bare.wait_ready("/ping")
            for server in (vinr, small, large):
                server.wait_ready("/v1/openapi.json")

            # 1. Write flow ---------------------------------------------------------------
            print(f"write flow: {args.rounds} rounds x {args.iterations} invoices per server ...", flush=True)
            customers = {}
            for server, key in ((bare, None), (vinr, write_db.key)):
                client = Client(server.port, key)
                customers[server.name] = client.ok("POST", "/v1/customers",
                                                   {"email": "bench@example.com", "name": "Bench Customer"})["id"]
                for _ in range(max(1, args.warmup // 4)):
                    one_invoice(client, customers[server.name], server is vinr)
                client.close()
            # Invoices alternate between the two servers (bare, VINR, VINR, bare, ...), so both
            # see the same machine load; each server's rate is its invoices / its own time.
            rounds: list[dict[str, Any]] = []
            for r in range(args.rounds):
                clients = {"bare": Client(bare.port), "vinr": Client(vinr.port, write_db.key)}
                seconds = {"bare": 0.0, "vinr": 0.0}
                for i in range(args.iterations):
                    for name in (("bare", "vinr") if i % 2 == 0 else ("vinr", "bare")):
                        seconds[name] += one_invoice(clients[name], customers[name], name == "vinr")
                row: dict[str, Any] = {}
                for name, client in clients.items():
                    client.close()
                    row[name] = {"iterations": args.iterations, "seconds": seconds[name],
                                 "invoices_per_s": args.iterations / seconds[name],
                                 "bytes_per_response": client.bytes_received / (5 * args.iterations)}
                row["cost_ratio"] = row["bare"]["invoices_per_s"] / row["vinr"]["invoices_per_s"]
                rounds.append(row)
                print(f"  round {r + 1}: bare {row['bare']['invoices_per_s']:.1f} inv/s, "
                      f"vinr {row['vinr']['invoices_per_s']:.1f} inv/s, ratio {row['cost_ratio']:.2f}", flush=True)
            results["bare_writes_checked"] = check_bare_writes(bare.port, counts)
            bare_total = sum(x["bare"]["iterations"] for x in rounds) / sum(x["bare"]["seconds"] for x in rounds)
            vinr_total = sum(x["vinr"]["iterations"] for x in rounds) / sum(x["vinr"]["seconds"] for x in rounds)
            ratios = [x["cost_ratio"] for x in rounds]
            results["write_flow"] = {
                "rounds": rounds,
                "bare_invoices_per_s": bare_total, "vinr_invoices_per_s": vinr_total,
                "bare_requests_per_s": 5 * bare_total, "vinr_requests_per_s": 5 * vinr_total,
                "bare_ms_per_request": 1000 / (5 * bare_total), "vinr_ms_per_request": 1000 / (5 * vinr_total),
                "bare_bytes_per_response": statistics.mean(x["bare"]["bytes_per_response"] for x in rounds),
                "vinr_bytes_per_response": statistics.mean(x["vinr"]["bytes_per_response"] for x in rounds),
                "cost_ratio": bare_total / vinr_total, "cost_ratio_median_of_rounds": statistics.median(ratios),
                "cost_ratio_min": min(ratios), "cost_ratio_max": max(ratios), "target": WRITE_TARGET,
            }

            # 2. List latency -------------------------------------------------------------
            print(f"list latency: {args.samples} GETs per page and account, interleaved ...", flush=True)
            pages: dict[tuple[str, str], tuple[str, list[str]]] = {}
            list_clients: dict[str, Client] = {}
            for server, db in ((small, small_db), (large, large_db)):
                ids = db.ids_newest_first
                cursor_index = len(ids) - DEEP_TAIL - 1
                pages[(server.name, "first")] = (f"/v1/invoices?limit={LIST_LIMIT}", ids[:LIST_LIMIT])
                pages[(server.name, "deep")] = (
                    f"/v1/invoices?limit={LIST_LIMIT}&starting_after={ids[cursor_index]}",
                    ids[cursor_index + 1:cursor_index + 1 + LIST_LIMIT])
                results.setdefault("list", {})[f"{server.name}_deep_cursor_position"] = cursor_index + 1
                list_clients[server.name] = Client(server.port, db.key)
                for page in ("first", "deep"):
                    path, expect = pages[(server.name, page)]
                    latency(list_clients[server.name], path, args.warmup, expect)  # warm-up; checks the page
            # One GET per cell in turn, the order rotating, so every cell sees the same load.
            cells = list(pages)
            samples: dict[tuple[str, str], list[float]] = {cell: [] for cell in cells}
            for i in range(args.samples):
                for j in range(len(cells)):
                    cell = cells[(i + j) % len(cells)]
                    samples[cell] += latency(list_clients[cell[0]], pages[cell][0], 1, [])
            for client in list_clients.values():
                client.close()
            listing: dict[str, Any] = results["list"]
            for (name, page), values in samples.items():
                listing[f"{name}_{page}"] = {"samples": len(values), "median_ms": statistics.median(values),
                                             "p95_ms": _pct(values, 95), "min_ms": min(values)}
            for page in ("first", "deep"):
                s, big = listing[f"small_{page}"], listing[f"large_{page}"]
                listing[f"ratio_{page}"] = {"median": big["median_ms"] / s["median_ms"],
                                            "p95": big["p95_ms"] / s["p95_ms"], "target": LIST_TARGET}
            listing["counts"] = {"small": args.small, "large": args.large}
        # servers stopped here

        if args.profile:
            print(f"profiling {args.profile} write-flow iterations in process ...", flush=True)
            text = profile_write_flow(work / "profile.sqlite3", args.profile)
            profile_path = args.out.with_suffix(".profile.txt")
            profile_path.parent.mkdir(parents=True, exist_ok=True)
            profile_path.write_text(text)
            results["profile_file"] = str(profile_path)

    results["machine"]["loadavg_end"] = os.getloadavg()
    results["total_seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nresults: {args.out}  (total {results['total_seconds']:.0f}s)")
    return 0


def table(results: dict[str, Any]) -> str:
    """The concise summary printed at the end (also used for docs/performance.md)."""
    w, cfg = results["write_flow"], results["config"]
    lst = results["list"]
    n_small, n_large = lst["counts"]["small"], lst["counts"]["large"]

    def verdict(value: float, target: float) -> str:
        return "meets target" if value <= target else "MISSES target"

    out = [
        f"Write flow: 5 requests per invoice, {cfg['rounds']} x {cfg['iterations']} invoices per server (interleaved), "
        f"gunicorn -w 1 -k {cfg['worker_class']}",
        "| server | invoices/s | requests/s | ms/request | bytes/response |",
        "|---|---:|---:|---:|---:|",
        f"| bare Flask + sqlite3 (baseline) | {w['bare_invoices_per_s']:.1f} | {w['bare_requests_per_s']:.1f} "
        f"| {w['bare_ms_per_request']:.2f} | {w['bare_bytes_per_response']:.0f} |",
        f"| VINR | {w['vinr_invoices_per_s']:.1f} | {w['vinr_requests_per_s']:.1f} "
        f"| {w['vinr_ms_per_request']:.2f} | {w['vinr_bytes_per_response']:.0f} |",
        f"Cost ratio VINR/bare: {w['cost_ratio']:.2f} (rounds {w['cost_ratio_min']:.2f}-{w['cost_ratio_max']:.2f}); "
        f"target <= {w['target']:.1f}: {verdict(w['cost_ratio'], w['target'])}",
        "",
        "SQL per request, counted in process for VINR; the bare app does the same writes in the same "
        "transactions (checked from its own tally):",
        counts_table(results["sql_per_request"]),
        "",
        f"List: GET /v1/invoices?limit={LIST_LIMIT}, {lst['small_first']['samples']} samples per cell",
        f"| page | {n_small:,} invoices median / p95 ms | {n_large:,} invoices median / p95 ms "
        f"| ratio median | ratio p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for page, label in (("first", "first page"),
                        ("deep", f"deep page (cursor at #{lst['small_deep_cursor_position']:,} / "
                                 f"#{lst['large_deep_cursor_position']:,} newest)")):
        s, big, ratio = lst[f"small_{page}"], lst[f"large_{page}"], lst[f"ratio_{page}"]
        out.append(f"| {label} | {s['median_ms']:.2f} / {s['p95_ms']:.2f} | {big['median_ms']:.2f} / "
                   f"{big['p95_ms']:.2f} | {ratio['median']:.2f} | {ratio['p95']:.2f} |")
    worst = max(max(lst[f"ratio_{p}"]["median"], lst[f"ratio_{p}"]["p95"]) for p in ("first", "deep"))
    out.append(f"Worst {n_large:,}/{n_small:,} ratio: {worst:.2f}; target <= {LIST_TARGET}: "
               f"{verdict(worst, LIST_TARGET)}")
    return "\n".join(out)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary files removed", file=sys.stderr)
        sys.exit(130)
