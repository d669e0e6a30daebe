"""Webhook deliveries: one real worker (``flask --app wsgi worker``) sending to a local receiver.

1. Throughput: N events committed through the outbox, then the worker started: deliveries/s
   from the first delivery received to the last. Target ≥ 500.
2. Latency: from ``POST /v1/invoices/{id}/pay`` answering (``invoice.paid`` committed) to the
   receiver getting that event, the worker idle before each. Targets p50 < 0.5 s, p99 < 2 s.

The receiver is a process of its own; rounds and samples take turns between the databases.
Prints a Markdown table for docs/performance.md; processes and databases are removed on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.events import service as events
from app.events.models import Event
from app.extensions import db
from app.jobs.models import Job, JobStatus
from bench.harness import ROOT, Client, Databases, Server
from bench.run import LINES, PUBLIC_URL, SECRET_KEY, interleave, log, prepare_vinr

CARD = {"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
        "set_default": True}
ROWS = [("**Deliveries/s, one worker** (rounds)", "≥ 500"), ("**invoice.paid, commit to delivery, p50 ms**", "< 500"),
        ("**invoice.paid, commit to delivery, p99 ms** (max)", "< 2000")]


def receive(out: Any) -> None:
    """The receiver process: 200 to every POST. Puts its port on ``out``, then per request
    (webhook-id, Unix time, the body's type or None if not that event's JSON, its object's id)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bench stops it

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a merchant's server would
        wbufsize = 64 * 1024  # the answer in one write: a second small one waits on delayed ACK (Nagle), 40 ms

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            at, event_id, kind, object_id = time.time(), self.headers.get("webhook-id", ""), None, ""
            with contextlib.suppress(ValueError, KeyError, TypeError):
                event = json.loads(body)
                if event["id"] == event_id:
                    kind, object_id = event["type"], event["data"]["id"]
            out.put((event_id, at, kind, object_id))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    class Listener(ThreadingHTTPServer):
        daemon_threads = True
        # The listen backlog: socketserver's 5 overflows when the worker opens tens of connections at
        # once, and each dropped SYN is retried after 1 s. A web server's is hundreds (nginx: 511).
        request_queue_size = 1024

    server = Listener(("127.0.0.1", 0), Handler)
    out.put(server.server_address[1])
    server.serve_forever()


class Inbox:
    """The receiver process, and what it has reported: first arrival per event id, per paid invoice."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.queue: Any = ctx.Queue()
        self.proc = ctx.Process(target=receive, args=(self.queue,), daemon=True)
        self.proc.start()
        self.url = f"http://127.0.0.1:{self.queue.get(timeout=60)}/hooks"
        self.at: dict[str, float] = {}
        self.paid: dict[str, float] = {}  # invoice id -> when its invoice.paid arrived

    def wait(self, done: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            try:
                event_id, at, kind, object_id = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"the receiver has had {len(self.at)} events; timed out waiting") from None
            if kind is None:
                raise RuntimeError(f"delivery {event_id!r}: the body is not that event's JSON")
            self.at.setdefault(event_id, at)
            if kind == "invoice.paid":
                self.paid.setdefault(object_id, at)


class Worker(Server):
    """``python -m flask --app wsgi worker`` (4 threads) in a session of its own; ``stop`` is SIGTERM."""

    def start(self, ready_path: str = "") -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT,
                                         env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)


class Backend:
    """One database with its API server, a merchant's webhook endpoint on the inbox, and its worker."""

    def __init__(self, name: str, dbs: Databases, inbox: Inbox, work: Path, stack: contextlib.ExitStack,
                 database: str = "deliveries") -> None:
        url = dbs.new(name, database)
        self.app, self.merchants = prepare_vinr(url)
        self.key, self.account_id = self.merchants["Bench"]
        env = {"VINR_DATABASE_URL": url, "VINR_SECRET_KEY": SECRET_KEY, "VINR_PUBLIC_URL": PUBLIC_URL}
        self.server = Server(f"{name} API", "wsgi:app", env, work / f"server-{name}.log")
        self.worker = Worker(f"{name} worker", "", env, work / f"worker-{name}.log")
        stack.callback(self.server.stop)
        stack.callback(self.worker.stop)
        self.server.start("/v1/openapi.json")
        self.client = Client(self.server.port, self.key)
        stack.callback(self.client.close)
        self.client.ok("POST", "/v1/webhook_endpoints", {"url": f"{inbox.url}/{name}", "enabled_events": ["*"]})
        self.inbox, self.unpaid = inbox, list[str]()

    def wait_idle(self) -> None:
        """Until no job is due or running: every delivery queued so far made and recorded."""
        busy = (sa.select(sa.func.count()).select_from(Job)
                .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]), Job.due_at <= sa.bindparam("now")))
        deadline = time.monotonic() + 60
        while True:
            with self.app.app_context():
                if not db.session.scalar(busy, {"now": time.time()}):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.server.name}: jobs still due after 60 s")
            time.sleep(0.02)

    def throughput(self, count: int) -> float:
        """Commit ``count`` customer.created events in one transaction, start a worker, and return the
        seconds from the first delivery received to the last; the worker is stopped after."""
        with self.app.app_context():
            for i in range(count):
                events.record(db.session, self.account_id, False, "customer.created",
                              {"id": f"cus_bench{i}", "object": "customer", "email": f"c{i}@example.com"})
            db.session.commit()
            ids = set(db.session.scalars(sa.select(Event.id).where(Event.type == "customer.created")))
        ids -= self.inbox.at.keys()  # this round's
        self.worker.start()
        self.inbox.wait(lambda: ids <= self.inbox.at.keys(), 120)
        times = [self.inbox.at[event_id] for event_id in ids]
        self.wait_idle()
        self.worker.stop()
        return max(times) - min(times)

    def prepare_invoices(self, count: int) -> None:
        """``count`` open charge_automatically invoices of a customer whose default card is 4242…"""
        customer = self.client.ok("POST", "/v1/customers", {"email": "pays@example.com"})["id"]
        self.client.ok("POST", f"/v1/customers/{customer}/payment_methods", CARD)
        for _ in range(count):
            invoice_id = self.client.ok("POST", "/v1/invoices", {"customer": customer,
                                                                  "collection_method": "charge_automatically"})["id"]
            self.client.ok("POST", f"/v1/invoices/{invoice_id}/lines", LINES[0])
            self.client.ok("POST", f"/v1/invoices/{invoice_id}/finalize", {"auto_advance": False})
            self.unpaid.append(invoice_id)

    def paid_delay(self) -> float:
        """With the worker idle 0.2–0.6 s, pay one invoice: seconds from /pay answering to invoice.paid arriving."""
        self.wait_idle()
        time.sleep(random.uniform(0.2, 0.6))
        invoice_id = self.unpaid.pop()
        answer = self.client.ok("POST", f"/v1/invoices/{invoice_id}/pay", {})
        committed = time.time()
        if answer["status"] != "paid":
            raise RuntimeError(f"/pay left {invoice_id} {answer['status']}")
        self.inbox.wait(lambda: invoice_id in self.inbox.paid, 30)
        return self.inbox.paid[invoice_id] - committed


def measure(backends: dict[str, Backend], args: argparse.Namespace) -> dict[str, list[str]]:
    log(f"throughput: {args.rounds} rounds of {args.events} events per database")
    spans = interleave(args.rounds, list(backends), lambda name, _r: backends[name].throughput(args.events))
    log(f"latency: {args.samples} paid invoices per database")
    for backend in backends.values():
        backend.prepare_invoices(args.samples)
        backend.worker.start()
    for backend in backends.values():
        backend.wait_idle()
    time.sleep(2)
    delays = interleave(args.samples, list(backends), lambda name, _r: backends[name].paid_delay())
    out: dict[str, list[str]] = {}
    for name, seconds in spans.items():
        rates = [args.events / s for s in seconds]
        cuts = statistics.quantiles(delays[name], n=100, method="inclusive")
        out[name] = [f"**{args.events * args.rounds / sum(seconds):.0f}** ({min(rates):.0f}–{max(rates):.0f})",
                     f"**{1000 * statistics.median(delays[name]):.0f}**",
                     f"**{1000 * cuts[98]:.0f}** ({1000 * max(delays[name]):.0f})"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench deliveries", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=3000, help="events per throughput round (3000)")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds per database (3)")
    parser.add_argument("--samples", type=int, default=100, help="paid invoices per database (100)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="where to create and drop the run's vinr_bench_<pid>_deliveries database")
    args = parser.parse_args(argv)
    if min(args.events, args.rounds) < 1 or args.samples < 2:
        parser.error("--events and --rounds must be positive, --samples at least 2")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    names = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started, load = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="vinr-bench-") as work, contextlib.ExitStack() as stack:
        dbs = Databases(Path(work), args.pg)
        stack.callback(dbs.drop_all)  # last: after the processes using them stop
        backends: dict[str, Backend] = {}
        try:
            inbox = Inbox()
            stack.callback(inbox.proc.terminate)
            for name in names:
                backends[name] = Backend(name, dbs, inbox, Path(work), stack)
            results = measure(backends, args)
        except KeyboardInterrupt:
            log("interrupted: stopping the processes, dropping the databases")
            return 130
        except Exception:
            for backend in backends.values():
                for process in (backend.server, backend.worker):
                    log(f"--- {process.name} log (last lines) ---\n{process.tail()}")
            raise
    titles = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    print("| figure | " + " | ".join(titles[name] for name in names) + " | target |")
    print("|---|" + "---:|" * len(names) + "---|")
    for i, (label, target) in enumerate(ROWS):
        print(f"| {label} | " + " | ".join(results[name][i] for name in names) + f" | {target} |")
    print(f"\n{args.rounds} rounds x {args.events} events, {args.samples} paid invoices per database; "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
          f"{time.perf_counter() - started:.0f} s in all.")
    return 0
