"""Noisy neighbours: one merchant floods a slow receiver; how long does another merchant's event take?

One real worker (``flask --app wsgi worker``, its defaults) on a database of each kind. The "Large"
merchant's endpoint is a receiver that answers each request after ``--slow`` seconds (15: longer than
the 10 s a delivery may take, so each try is a timeout and is retried), and ``--flood`` events (5000)
of that merchant are committed before the worker starts. Once the flood holds the worker's share of
threads, the "Bench" merchant pays invoices one by one, as in ``python -m bench deliveries``.
**Figure:** from ``POST /v1/invoices/{id}/pay`` answering to the receiver getting that invoice's
``invoice.paid``, p50 and p99 of ``--samples`` (50), while the flood is still being delivered.
Target: p99 < 2 s.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import multiprocessing
import operator
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.events import service as events
from app.extensions import db
from app.jobs.models import Job, JobStatus
from bench.deliveries import Backend, Inbox
from bench.harness import Client, Databases
from bench.run import log

ROWS = [("Deliveries of the flood still to make when the last sample arrived", ""),
        ("**Another merchant's invoice.paid, commit to delivery, p50 ms**", ""),
        ("**Another merchant's invoice.paid, commit to delivery, p99 ms** (max)", "< 2000")]


def slow_receiver(out: Any, seconds: float) -> None:
    """A receiver that reads each request, waits ``seconds``, then answers 200 (if anyone still listens)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            out.put(1)
            time.sleep(seconds)
            with contextlib.suppress(OSError):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    class Listener(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    server = Listener(("127.0.0.1", 0), Handler)
    out.put(server.server_address[1])
    server.serve_forever()


class SlowReceiver:
    def __init__(self, seconds: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.queue: Any = ctx.Queue()
        self.proc = ctx.Process(target=slow_receiver, args=(self.queue, seconds), daemon=True)
        self.proc.start()
        self.url = f"http://127.0.0.1:{self.queue.get(timeout=60)}/slow"
        self.requests = 0

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.requests < count:
            self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            self.requests += 1


def measure(name: str, backend: Backend, slow: SlowReceiver, args: argparse.Namespace) -> list[str]:
    large_key, large_account = backend.merchants["Large"]
    flooder = Client(backend.server.port, large_key)
    try:
        flooder.ok("POST", "/v1/webhook_endpoints", {"url": slow.url, "enabled_events": ["*"]})
    finally:
        flooder.close()
    log(f"{name}: {args.samples} invoices to pay, then {args.flood} events of the flooding merchant")
    backend.prepare_invoices(args.samples)
    with backend.app.app_context():
        for i in range(args.flood):
            events.record(db.session, large_account, False, "customer.created",
                          {"id": f"cus_flood{i}", "object": "customer", "email": f"f{i}@example.com"})
        db.session.commit()
        db.engine.dispose()
    backend.worker.start()
    slow.wait_for(slow.requests + 1, 60)  # the flood holds its threads
    time.sleep(2)
    delays = []
    for _ in range(args.samples):
        time.sleep(random.uniform(0.2, 0.6))
        invoice_id = backend.unpaid.pop()
        answer = backend.client.ok("POST", f"/v1/invoices/{invoice_id}/pay", {})
        committed = time.time()
        if answer["status"] != "paid":
            raise RuntimeError(f"/pay left {invoice_id} {answer['status']}")
        backend.inbox.wait(functools.partial(operator.contains, backend.inbox.paid, invoice_id), 60)
        delays.append(backend.inbox.paid[invoice_id] - committed)
    with backend.app.app_context():
        left = db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(
            Job.account_id == large_account, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])))
        db.engine.dispose()
    backend.worker.stop()
    cuts = statistics.quantiles(delays, n=100, method="inclusive")
    return [f"{left}", f"**{1000 * statistics.median(delays):.0f}**",
            f"**{1000 * cuts[98]:.0f}** ({1000 * max(delays):.0f})"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench neighbours", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--flood", type=int, default=5000, help="events of the flooding merchant (5000)")
    parser.add_argument("--slow", type=float, default=15.0, help="seconds its receiver takes to answer (15)")
    parser.add_argument("--samples", type=int, default=50, help="paid invoices of the other merchant (50)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="where to create and drop the run's vinr_bench_<pid>_neighbours database")
    args = parser.parse_args(argv)
    if args.flood < 1 or args.samples < 2 or args.slow <= 0:
        parser.error("--flood must be positive, --samples at least 2, --slow above 0")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    names = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started, load = time.perf_counter(), os.getloadavg()[0]
    results: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="vinr-bench-") as work, contextlib.ExitStack() as stack:
        dbs = Databases(Path(work), args.pg)
        stack.callback(dbs.drop_all)  # last: after the processes using them stop
        try:
            inbox = Inbox()
            stack.callback(inbox.proc.terminate)
            slow = SlowReceiver(args.slow)
            stack.callback(slow.proc.terminate)
            for name in names:
                with contextlib.ExitStack() as own:
                    backend = Backend(name, dbs, inbox, Path(work), own, database="neighbours")
                    try:
                        results[name] = measure(name, backend, slow, args)
                    except Exception:
                        for process in (backend.server, backend.worker):
                            log(f"--- {process.name} log (last lines) ---\n{process.tail()}")
                        raise
        except KeyboardInterrupt:
            log("interrupted: stopping the processes, dropping the databases")
            return 130
    titles = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    print("| figure | " + " | ".join(titles[name] for name in names) + " | target |")
    print("|---|" + "---:|" * len(names) + "---|")
    for i, (label, target) in enumerate(ROWS):
        print(f"| {label} | " + " | ".join(results[name][i] for name in names) + f" | {target} |")
    print(f"\n{args.flood} events to a receiver that answers after {args.slow:g} s, {args.samples} paid invoices of "
          f"another merchant per database; {os.cpu_count()} CPUs, load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end; {time.perf_counter() - started:.0f} s in all.")
    return 0
