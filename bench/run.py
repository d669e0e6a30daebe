"""VINR benchmark: three figures, each against a baseline measured in the same run.

1. Write flow: the cost of one invoice (create, 3 lines, finalize), VINR / a bare Flask app.
2. First views of distinct hosted pages, each on a new connection: requests/s, VINR / a bare page.
3. GET /v1/invoices?limit=100: median latency with 100,000 invoices in the account / with 1,000.

Every server is gunicorn with one sync worker; one is timed at a time, in interleaved rounds.
Prints a Markdown table for docs/performance.md. Servers and databases are removed on exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from app import create_app
from app.accounts.service import create_merchant
from app.cli import upgrade
from app.extensions import db
from app.ids import new_id
from app.invoices.models import Invoice, InvoiceLine
from bench.harness import Client, Databases, Server

SECRET_KEY = "bench-secret-key-0123456789"
PUBLIC_URL = "http://127.0.0.1"
LINES = [{"description": f"Consulting, item {q}", "quantity": q, "unit_amount": 12_500} for q in (1, 2, 3)]
TOTAL = 75_000
Link = tuple[str, str]  # a hosted page's path, and the invoice number it must show
Rows = list[tuple[str, str, str]]  # label, figure, target


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare_vinr(url: str) -> tuple[Any, dict[str, tuple[str, str]]]:
    """The app in process on ``url``, with the migrations' schema and three merchants (test key, account)."""
    flask_app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL})
    with flask_app.app_context():
        upgrade()
        made = [(name, create_merchant(db.session, name, name.upper())) for name in ("Bench", "Large", "Small")]
        db.session.commit()
        merchants = {name: (m.test_secret_key, m.account.id) for name, m in made}
        db.session.close()
        db.engine.dispose()
    return flask_app, merchants


def seed_invoices(conn: sa.Connection, account_id: str, customer_id: str, count: int) -> list[str]:
    """Bulk-insert ``count`` open invoices of one line each, 3 a second, with SQLAlchemy Core: the one
    place that names the models' columns (the others take their defaults). Returns the ids, newest first."""
    first, ids = int(time.time()) - 3600 - count // 3, []
    for start in range(0, count, 10_000):
        invoices, lines = [], []
        for i in range(start, min(count, start + 10_000)):
            invoice_id, created = new_id("inv"), first + i // 3
            ids.append(invoice_id)
            invoices.append({
                "id": invoice_id, "account_id": account_id, "livemode": False, "created": created,
                "customer_id": customer_id, "status": "open", "number": f"L-{i + 1:06d}", "currency": "eur",
                "collection_method": "send_invoice", "days_until_due": 30, "due_date": created + 30 * 86_400,
                "subtotal": 12_500, "total": 12_500, "amount_due": 12_500, "customer_email": "list@example.com",
                "hosted_token": "x" * 120, "finalized_at": created})  # not a valid link: a list does not check it
            lines.append({"id": new_id("il"), "invoice_id": invoice_id, "position": 0, "description": "Consulting",
                          "quantity": 1, "unit_amount": 12_500, "amount": 12_500, "discount_amount": 0})
        conn.execute(sa.insert(Invoice), invoices)
        conn.execute(sa.insert(InvoiceLine), lines)
    return ids[::-1]  # created rises with i, and ids with time


def invoice(client: Client, customer: str) -> tuple[float, Link]:
    """One invoice through the write flow, every answer checked: its seconds, and its hosted link."""
    t0 = time.perf_counter()
    body = {"customer": customer, "collection_method": "send_invoice", "days_until_due": 30}
    invoice_id = client.ok("POST", "/v1/invoices", body)["id"]
    for line in LINES:
        client.ok("POST", f"/v1/invoices/{invoice_id}/lines", line)
    final = client.ok("POST", f"/v1/invoices/{invoice_id}/finalize", {})
    seconds = time.perf_counter() - t0
    if final["status"] != "open" or len(final["lines"]["data"]) != 3 or final["total"] != TOTAL:
        raise RuntimeError(f"unexpected finalized invoice: {json.dumps(final)[:500]}")
    return seconds, (urlsplit(final["hosted_invoice_url"]).path, final["number"])


def first_view(port: int, link: Link) -> float:
    """GET a hosted link on a new connection, as a customer opening an email would: no cookies."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", link[0])
    response = conn.getresponse()
    body = response.read()
    conn.close()
    seconds = time.perf_counter() - t0
    html = (response.getheader("Content-Type") or "").startswith("text/html")
    if response.status != 200 or not html or link[1].encode() not in body:
        raise RuntimeError(f"GET {link[0]} answered {response.status}: {body[:300]!r}")
    return seconds


def interleave(rounds: int, names: list[str], job: Callable[[str, int], float]) -> dict[str, list[float]]:
    """``job(name, round)`` for each name in each round, the order turning round: seconds per name and round."""
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[:: 1 if r % 2 == 0 else -1]:
            out[name].append(job(name, r))
    return out


def ratio(top: list[float], bottom: list[float]) -> str:
    """sum / sum in bold, and the lowest and highest of the rounds."""
    rounds = [a / b for a, b in zip(top, bottom, strict=True)]
    return f"**{sum(top) / sum(bottom):.2f}** ({min(rounds):.2f}–{max(rounds):.2f})"


def measure(backend: str, dbs: Databases, args: argparse.Namespace, work: Path) -> Rows:
    vinr_url = dbs.new(backend, "vinr")
    flask_app, merchants = prepare_vinr(vinr_url)
    vinr = Server("vinr", "wsgi:app", {"VINR_DATABASE_URL": vinr_url, "VINR_SECRET_KEY": SECRET_KEY,
                                       "VINR_PUBLIC_URL": PUBLIC_URL}, work / f"vinr-{backend}.log")
    bare = Server("bare", "bench.bare:app", {"BENCH_BARE_DB": dbs.new(backend, "bare")}, work / f"bare-{backend}.log")
    try:
        vinr.start("/v1/openapi.json")
        bare.start("/page/1")
        return _measure(backend, args, flask_app, merchants, vinr.port, bare.port)
    except Exception:
        for server in (vinr, bare):
            log(f"--- {server.name} server log (last lines) ---\n{server.tail()}")
        raise
    finally:
        vinr.stop()
        bare.stop()


def _measure(backend: str, args: argparse.Namespace, flask_app: Any, merchants: dict[str, tuple[str, str]],
             vinr_port: int, bare_port: int) -> Rows:
    ports = {"vinr": vinr_port, "bare": bare_port}
    clients = {name: Client(port, merchants["Bench"][0]) for name, port in ports.items()}  # the same headers
    customers = {name: c.ok("POST", "/v1/customers", {"email": "b@example.com"})["id"] for name, c in clients.items()}
    links: dict[str, list[Link]] = {name: [] for name in clients}
    for name in clients:
        for _ in range(args.warmup):  # untimed, and so is the first view of these
            first_view(ports[name], invoice(clients[name], customers[name])[1])

    def write_round(name: str) -> float:
        done = [invoice(clients[name], customers[name]) for _ in range(args.per_round)]
        links[name] += [link for _, link in done]
        return sum(seconds for seconds, _ in done)

    log(f"{backend}: write flow, {args.rounds} rounds of {args.per_round} invoices per server")
    write = interleave(args.rounds, ["vinr", "bare"], lambda name, _r: write_round(name))
    log(f"{backend}: first views of {len(links['vinr'])} distinct hosted pages per server")
    pages = interleave(args.rounds, ["vinr", "bare"], lambda name, r: sum(
        first_view(ports[name], link) for link in links[name][r::args.rounds]))

    log(f"{backend}: seeding {args.large:,} and {args.small:,} invoices")
    lists = {name: Client(vinr_port, merchants[name][0]) for name in ("Large", "Small")}
    customer = {name: c.ok("POST", "/v1/customers", {"email": "list@example.com"})["id"] for name, c in lists.items()}
    with flask_app.app_context():
        with db.engine.begin() as conn:
            newest = {name: seed_invoices(conn, merchants[name][1], customer[name], count)[:100]
                      for name, count in (("Large", args.large), ("Small", args.small))}
        if backend == "postgresql":  # as autovacuum would after a bulk load
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        db.engine.dispose()

    def list_page(name: str, check: bool = False) -> float:
        t0 = time.perf_counter()
        status, body = lists[name].call("GET", "/v1/invoices?limit=100")
        seconds = time.perf_counter() - t0
        if status != 200 or (check and [row["id"] for row in json.loads(body)["data"]] != newest[name]):
            raise RuntimeError(f"GET /v1/invoices ({name}) answered {status}: {body[:300]!r}")
        return seconds

    log(f"{backend}: list, {args.samples} samples per account")
    for name in lists:
        for _ in range(args.warmup):
            list_page(name, check=True)
    listing = interleave(args.samples, list(lists), lambda name, _r: list_page(name))
    median = {name: 1000 * statistics.median(samples) for name, samples in listing.items()}
    for client in [*clients.values(), *lists.values()]:
        client.close()
    n = args.rounds * args.per_round
    return [
        ("Write flow, VINR ms per invoice (5 requests)", f"{1000 * sum(write['vinr']) / n:.1f}", ""),
        ("Write flow, bare app ms per invoice", f"{1000 * sum(write['bare']) / n:.1f}", ""),
        ("**Write cost, VINR / bare** (rounds)", ratio(write["vinr"], write["bare"]), "≤ 4"),
        ("First hosted page views, VINR requests/s", f"{n / sum(pages['vinr']):.0f}", ""),
        ("First hosted page views, bare page requests/s", f"{n / sum(pages['bare']):.0f}", ""),
        ("**First views, VINR / bare** (rounds)", ratio(pages["bare"], pages["vinr"]), "≥ 0.35"),
        (f"List, median ms, {args.large:,} invoices", f"{median['Large']:.1f}", ""),
        (f"List, median ms, {args.small:,} invoices", f"{median['Small']:.1f}", ""),
        (f"**List, {args.large:,} / {args.small:,}**", f"**{median['Large'] / median['Small']:.2f}**", "≤ 1.5"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds per figure (default 6)")
    parser.add_argument("--per-round", type=int, default=100, help="invoices per round and server (100)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed invoices, views and GETs per server (10)")
    parser.add_argument("--large", type=int, default=100_000, help="invoices in the large account (100000)")
    parser.add_argument("--small", type=int, default=1_000, help="invoices in the small account (1000)")
    parser.add_argument("--samples", type=int, default=200, help="list GETs per account (200)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="where to create and drop the run's vinr_bench_<pid>_* databases")
    args = parser.parse_args(argv)
    if min(args.rounds, args.per_round, args.samples) < 1 or min(args.large, args.small) < 100:
        parser.error("--rounds, --per-round and --samples must be positive, --large and --small at least 100")
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started in the background
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started, load = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="vinr-bench-") as work:
        dbs = Databases(Path(work), args.pg)
        try:
            results = {backend: measure(backend, dbs, args, Path(work)) for backend in backends}
        except KeyboardInterrupt:
            log("interrupted: stopping the servers, dropping the databases")
            return 130
        finally:
            dbs.drop_all()
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    print("| figure | " + " | ".join(names[b] for b in backends) + " | target |")
    print("|---|" + "---:|" * len(backends) + "---|")
    for i, (label, _, target) in enumerate(results[backends[0]]):
        print(f"| {label} | " + " | ".join(results[b][i][1] for b in backends) + f" | {target} |")
    print(f"\n{args.rounds} rounds x {args.per_round} invoices and first views per server, {args.samples} list "
          f"samples per account; {os.cpu_count()} CPUs, load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end; {time.perf_counter() - started:.0f} s in all.")
    return 0
