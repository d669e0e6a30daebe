#!/usr/bin/env python
"""VINR hosted-page benchmark: page throughput and latency against a bare Flask page
measured in the same run, and PDF render and fetch times (SPEC §7).

    .venv/bin/python bench/portal.py [--rounds 6] [--seconds 4] [--concurrency 8]

1. Hosted page. ``GET /i/<invoice>/<token>`` of a finalized 10-line invoice, through
   gunicorn (``-w 2 -k sync`` by default) on a fresh SQLite file, against
   ``bench/bare_page.py``: a bare Flask app rendering a Jinja page of the same size
   and outline (a table of 10 lines and a pay form), no database, under the same
   gunicorn settings. Both are loaded by the same generator at the same concurrency
   (8): ``wrk`` when it is installed, else a pool of Python threads with
   ``http.client``. A third server runs VINR with ``VINR_PAGE_CACHE_MB=0``: every
   view rendered, as the first view of each invoice is. In each round every server
   takes its turn, each going first in turn, so all see the same machine load.
   Reported: requests/s, p50/p99 latency, the server's CPU time per request, the
   client's CPU share, and VINR ÷ bare requests/s (with and without the page cache).
2. PDF. For ``--pdf-invoices`` fresh 10-line invoices: the first ``GET .../pdf``
   (render + store) through the server, interleaved with an in-process
   ``app.documents.service.render_pdf`` of the same invoice (no HTTP, no store); then
   ``--pdf-cached`` GETs of the stored PDFs. The first PDF of each gunicorn worker
   (WeasyPrint import, font set-up) is warmed up first and reported apart.

``--profile N`` adds an in-process analysis of the hosted page: per-stage times,
SQL statements per request and a cProfile of N page GETs and of PDF renders,
written next to ``--out``. Servers and temporary files are removed on exit. See
docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import io
import json
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    PUBLIC_URL,
    SECRET_KEY,
    Client,
    Server,
    _info,
    _pct,
    make_vinr_db,
    servers_stopped_on_exit,
)

PAGE_TARGET = 0.60  # VINR requests/s >= 60 % of the bare page's
PDF_FIRST_TARGET_MS = 300.0
PDF_CACHED_TARGET_MS = 10.0
LINES: list[dict[str, Any]] = [
    {"description": f"Consulting item {n + 1}", "quantity": n + 1, "unit_amount": 12_500} for n in range(10)]
INVOICE = {"collection_method": "send_invoice", "days_until_due": 30}
TOTAL = sum(line["quantity"] * line["unit_amount"] for line in LINES)

# wrk prints one JSON line at the end of a run (status errors are codes > 399).
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


# --------------------------------------------------------------------------- CPU accounting


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(entry.name))
    return out


def server_cpu_seconds(server: Server) -> float:
    """CPU time used so far by the server's master and its workers."""
    assert server.proc is not None
    pids = [server.proc.pid, *_children(server.proc.pid)]
    return sum(_cpu_ticks(pid) for pid in pids) / _TICK


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- load generators


class LoadGenerator:
    name = "?"

    def run(self, port: int, path: str, concurrency: int, seconds: int) -> dict[str, Any]:
        """Load ``path`` for ``seconds``; requests, seconds, latency percentiles, errors, client CPU."""
        raise NotImplementedError


class Wrk(LoadGenerator):
    """Debian's ``wrk`` (C, epoll): a cheap client, so the servers get the CPU."""

    def __init__(self, binary: str, threads: int, workdir: Path) -> None:
        self.binary = binary
        self.threads = threads
        self.script = workdir / "bench.lua"
        self.script.write_text(WRK_SCRIPT)
        self.name = f"wrk -t {threads}"

    def run(self, port: int, path: str, concurrency: int, seconds: int) -> dict[str, Any]:
        cmd = [self.binary, "-t", str(min(self.threads, concurrency)), "-c", str(concurrency),
               "-d", f"{seconds}s", "--timeout", "30s", "-s", str(self.script), f"http://127.0.0.1:{port}{path}"]
        cpu0 = _children_cpu()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = proc.communicate(timeout=seconds + 60)
        finally:
            if proc.poll() is None:  # interrupted: stop our wrk
                proc.kill()
                proc.wait()
        client_cpu = _children_cpu() - cpu0
        match = re.search(r"^BENCHJSON (\{.*\})$", out, re.M)
        if proc.returncode != 0 or match is None:
            raise RuntimeError(f"wrk failed ({proc.returncode}):\n{out}")
        raw = json.loads(match[1])
        secs = raw["duration_us"] / 1e6
        errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
        return {"requests": raw["requests"], "seconds": secs, "bytes": raw["bytes"], "errors": errors,
                "error_detail": {k: raw[k] for k in ("connect", "read", "write", "status", "timeout")},
                "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
                "max_ms": raw["max_us"] / 1000, "mean_ms": raw["mean_us"] / 1000,
                "client_cpu_seconds": client_cpu}


class ThreadPool(LoadGenerator):
    """``concurrency`` Python threads, each with its own ``http.client`` connection.

    Fallback when wrk is not installed. It is GIL-bound: its CPU share is reported,
    and on 2 cores it takes CPU from the server being measured.
    """

    name = "python threads + http.client"

    def run(self, port: int, path: str, concurrency: int, seconds: int) -> dict[str, Any]:
        latencies: list[list[float]] = [[] for _ in range(concurrency)]
        counts = [[0, 0] for _ in range(concurrency)]  # bytes, errors
        stop = threading.Event()
        start_gate = threading.Barrier(concurrency + 1)

        def worker(i: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine, count = latencies[i], counts[i]
            start_gate.wait()
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException):
                    count[1] += 1
                    conn.close()
                    continue
                mine.append(time.perf_counter() - t0)
                count[0] += len(body)
                if response.status != 200:
                    count[1] += 1
            conn.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
        for thread in threads:
            thread.start()
        cpu0 = time.process_time()
        start_gate.wait()
        t0 = time.perf_counter()
        try:
            time.sleep(seconds)
        finally:
            stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - t0
        client_cpu = time.process_time() - cpu0
        values = sorted(x * 1000 for lat in latencies for x in lat)
        if len(values) < 2:
            raise RuntimeError(f"no answers from port {port}")
        return {"requests": len(values), "seconds": elapsed, "bytes": sum(c[0] for c in counts),
                "errors": sum(c[1] for c in counts), "p50_ms": _pct(values, 50), "p90_ms": _pct(values, 90),
                "p99_ms": _pct(values, 99), "max_ms": values[-1], "mean_ms": statistics.mean(values),
                "client_cpu_seconds": client_cpu}


def choose_generator(kind: str, wrk_threads: int, workdir: Path) -> LoadGenerator:
    binary = shutil.which("wrk")
    if kind == "wrk" and binary is None:
        raise SystemExit("--client wrk: wrk is not installed (Debian: apt-get install -y wrk); "
                         "use --client python or --client auto")
    if kind in ("wrk", "auto") and binary is not None:
        return Wrk(binary, wrk_threads, workdir)
    if kind == "auto":
        print("  wrk not found (Debian: apt-get install -y wrk): falling back to Python threads; the client "
              "then competes with the servers for the CPU, see its CPU share in the results", flush=True)
    return ThreadPool()


# --------------------------------------------------------------------------- invoices


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes, float]:
    """One GET on a new connection; status, headers, body and wall time in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        t0 = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - t0) * 1000
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body, elapsed
    finally:
        conn.close()


def make_invoice(client: Client, customer_id: str) -> tuple[str, str]:
    """A finalized 10-line invoice through the API; (id, hosted path)."""
    invoice_id = client.ok("POST", "/v1/invoices", {"customer": customer_id, **INVOICE})["id"]
    for line in LINES:
        client.ok("POST", f"/v1/invoices/{invoice_id}/lines", line)
    final = client.ok("POST", f"/v1/invoices/{invoice_id}/finalize", {})
    if final["status"] != "open" or final["total"] != TOTAL or not final.get("hosted_invoice_url"):
        raise RuntimeError(f"unexpected finalized invoice: {final}")
    return invoice_id, urlsplit(final["hosted_invoice_url"]).path


def concurrent_first_pdfs(port: int, paths: list[str]) -> list[float]:
    """GET the PDFs of ``paths`` all at once (each sync worker takes one); their times in ms."""
    answers: list[Any] = [None] * len(paths)

    def fetch(j: int) -> None:
        answers[j] = _get(port, paths[j] + "/pdf")

    threads = [threading.Thread(target=fetch, args=(j,)) for j in range(len(paths))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for answer in answers:
        if answer is None or answer[0] != 200 or not answer[2].startswith(b"%PDF"):
            raise RuntimeError(f"first PDF failed: {answer and answer[:2]}")
    return [answer[3] for answer in answers]


def check_page(port: int, path: str, who: str) -> int:
    """The page answers 200 with 10 table rows and a pay form; returns its size."""
    status, _, body, _ = _get(port, path)
    html = body.decode()
    rows = html.split("<tbody>", 1)[-1].split("</tbody>", 1)[0].count("<tr>")
    if status != 200 or rows != 10 or "<form" not in html or "Card number" not in html or "Pay " not in html:
        raise RuntimeError(f"{who} page {path}: status {status}, {rows} rows: {html[:300]!r}")
    return len(body)


# --------------------------------------------------------------------------- in-process helpers


def _inprocess_app(url: str) -> Any:
    from app import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL})


def _hosted_parts(path: str) -> tuple[str, str]:
    _, _, invoice_id, token = path.split("/", 3)
    return invoice_id, token


def inprocess_render(flask_app: Any, path: str) -> dict[str, float]:
    """``render_pdf`` of one invoice in process: loading the context, the HTML template alone,
    and ``render_pdf`` (template + WeasyPrint), in ms. Nothing is stored."""
    from flask import render_template

    from app.db import write_intent
    from app.documents.service import render_pdf
    from app.extensions import db
    from app.invoices import hosted
    from app.portal.presenter import build, template_context

    invoice_id, token = _hosted_parts(path)
    write_intent.set(False)  # a plain read, as for a GET (no write lock)
    with flask_app.test_request_context(path + "/pdf"):
        t0 = time.perf_counter()
        context = template_context(build(db.session, hosted.load(db.session, invoice_id, token)))
        t1 = time.perf_counter()
        render_template("pdf/invoice.html", **context)
        t2 = time.perf_counter()
        pdf = render_pdf(context)
        t3 = time.perf_counter()
        db.session.rollback()
    if not pdf.startswith(b"%PDF"):
        raise RuntimeError("render_pdf returned no PDF")
    return {"context_ms": (t1 - t0) * 1000, "html_ms": (t2 - t1) * 1000, "render_pdf_ms": (t3 - t2) * 1000}


def _summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median_ms": statistics.median(values), "p95_ms": _pct(values, 95) if len(values) > 1
            else values[0], "min_ms": min(values), "max_ms": max(values)}


# --------------------------------------------------------------------------- profile (optional)


def by_package(stats: pstats.Stats) -> dict[str, float]:
    """Share of the profiled self time per top-level package (app, jinja2, sqlalchemy, ...)."""
    totals: dict[str, float] = {}
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        parts = Path(filename).parts
        if "site-packages" in parts:
            package = parts[parts.index("site-packages") + 1]
        elif filename.startswith(str(ROOT)):
            package = Path(filename).relative_to(ROOT).parts[0]
        elif filename.startswith("<") or filename == "~":
            package = "templates" if filename.startswith("<template>") or filename.endswith(".html") else "builtins"
        else:
            package = "stdlib"
        if filename.endswith(".html"):
            package = "templates (compiled Jinja)"
        totals[package] = totals.get(package, 0.0) + row[2]
    whole = sum(totals.values()) or 1.0
    return {k: v / whole for k, v in sorted(totals.items(), key=lambda kv: -kv[1]) if v / whole >= 0.005}


def profile_page(db_url: str, page_path: str, iterations: int) -> tuple[str, dict[str, Any]]:
    """In process (Flask test client, no HTTP): ms per page for VINR and the bare page, per-stage
    times, SQL statements per request, and cProfiles of the page and of PDF renders."""
    import sqlalchemy as sa
    from flask import g, render_template

    from app.db import write_intent
    from app.documents.service import render_pdf
    from app.extensions import db
    from app.invoices import hosted
    from app.portal.presenter import build, template_context
    from bench.bare_page import app as bare_app

    flask_app = _inprocess_app(db_url)
    vinr_client = flask_app.test_client(use_cookies=False)  # like wrk: a new visitor every time
    bare_client = bare_app.test_client(use_cookies=False)
    pdf_path = page_path + "/pdf"
    for _ in range(20):
        assert vinr_client.get(page_path).status_code == 200
        assert bare_client.get("/page").status_code == 200
    assert vinr_client.get(pdf_path).status_code == 200  # renders and stores it if not yet stored
    facts: dict[str, Any] = {}

    # CPU ms per request in process (process_time: what other tenants of the machine take
    # does not count), interleaved in blocks of 10
    times = {"vinr": 0.0, "bare": 0.0}
    blocks = max(1, iterations // 10)
    for i in range(blocks):
        for name in (("vinr", "bare") if i % 2 == 0 else ("bare", "vinr")):
            client, path = (vinr_client, page_path) if name == "vinr" else (bare_client, "/page")
            t0 = time.process_time()
            for _ in range(10):
                client.get(path)
            times[name] += time.process_time() - t0
    facts["inprocess_ms_per_page"] = {k: v * 1000 / (blocks * 10) for k, v in times.items()}

    # SQL statements per request (BEGIN included), as sqlite3 runs them: the page's state
    # SELECT goes to the DBAPI connection directly (app/portal/pages.py), past SQLAlchemy's events.
    statements: list[str] = []

    def count(statement: str) -> None:
        words = statement.split()
        statements.append(words[0].upper() + " " + " ".join(words[1:4]))

    def trace(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.set_trace_callback(count)

    def untrace(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    with flask_app.app_context():
        engine = db.engine
    sa.event.listen(engine, "checkout", trace)
    sa.event.listen(engine, "checkin", untrace)
    try:
        for name, path in (("page", page_path), ("cached_pdf", pdf_path)):
            statements.clear()
            assert vinr_client.get(path).status_code == 200
            facts[f"sql_per_{name}"] = list(statements)
    finally:
        sa.event.remove(engine, "checkout", trace)
        sa.event.remove(engine, "checkin", untrace)

    # per-stage CPU times of the page view, as app/portal/views.py invoice_page runs them
    stages: dict[str, float] = {"hosted.load": 0.0, "presenter.build": 0.0, "views._pay_form": 0.0,
                                "render_template": 0.0}
    invoice_id, token = _hosted_parts(page_path)
    pay_form: Any = None
    with contextlib.suppress(ImportError):  # if the view's helper moved, skip the stage split
        from app.portal.views import _pay_form as pay_form
    if pay_form is not None:
        write_intent.set(False)
        for _ in range(iterations):
            with flask_app.test_request_context(page_path):
                g.csp_nonce = "x"
                t0 = time.process_time()
                invoice = hosted.load(db.session, invoice_id, token)
                t1 = time.process_time()
                view = build(db.session, invoice)
                t2 = time.process_time()
                form = pay_form(view)
                t3 = time.process_time()
                render_template("portal/invoice.html", **template_context(view, form=form, alert=None, notice=None))
                t4 = time.process_time()
                db.session.close()
            for key, (a, b) in zip(stages, ((t0, t1), (t1, t2), (t2, t3), (t3, t4)), strict=True):
                stages[key] += b - a
        facts["stage_ms"] = {k: v * 1000 / iterations for k, v in stages.items()}

    text = io.StringIO()
    text.write(f"In-process CPU ms per page: {json.dumps(facts['inprocess_ms_per_page'])}\n")
    if "stage_ms" in facts:
        text.write(f"Stages of invoice_page (CPU ms): {json.dumps(facts['stage_ms'])}\n")
    for name in ("page", "cached_pdf"):
        text.write(f"SQL per {name} GET ({len(facts[f'sql_per_{name}'])}):\n")
        text.writelines(f"  {s}\n" for s in facts[f"sql_per_{name}"])

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
        vinr_client.get(page_path)
    profiler.disable()
    text.write(f"\n=== cProfile: {iterations} x GET {'/i/<invoice>/<token>'} (test client) ===\n")
    stats = pstats.Stats(profiler, stream=text)
    facts["self_time_share_by_package"] = by_package(stats)
    text.write("Self time by package: " + ", ".join(
        f"{name} {100 * share:.0f}%" for name, share in facts["self_time_share_by_package"].items()) + "\n")
    stats.strip_dirs()
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(30)

    write_intent.set(False)
    with flask_app.test_request_context(pdf_path):
        context = template_context(build(db.session, hosted.load(db.session, invoice_id, token)))
        render_pdf(context)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            render_pdf(context)
        profiler.disable()
        db.session.rollback()
    text.write("\n=== cProfile: 5 x render_pdf (in process) ===\n")
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(20)
    with flask_app.app_context():
        db.engine.dispose()
    return text.getvalue(), facts


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6, help="timed rounds per server (default 6)")
    parser.add_argument("--seconds", type=int, default=4, help="seconds per round and server (default 4)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator: wrk if installed (auto, the default), wrk, or python threads")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default 2)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (default sync)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread; default 1)")
    parser.add_argument("--pdf-invoices", type=int, default=20,
                        help="fresh invoices whose first PDF is timed (default 20)")
    parser.add_argument("--pdf-cached", type=int, default=200, help="timed GETs of stored PDFs (default 200)")
    parser.add_argument("--pdf-contention", type=int, default=6,
                        help="API writes timed alone and during a first PDF render (default 6 each)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "portal.json",
                        help="JSON results file (default bench/results/portal.json)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also analyse N hosted-page GETs in process (stages, SQL, cProfile); "
                             "the profile is written next to --out")
    args = parser.parse_args(argv)
    if min(args.rounds, args.seconds, args.concurrency, args.workers, args.threads, args.pdf_invoices,
           args.pdf_cached, args.wrk_threads) < 1:
        parser.error("counts and durations must be positive")

    started = time.perf_counter()
    results: dict[str, Any] = {"machine": _info(), "config": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    gunicorn_desc = f"gunicorn -w {args.workers} -k {args.worker_class}" + (
        f" --threads {args.threads}" if args.threads > 1 else "")
    results["config"]["gunicorn"] = gunicorn_desc

    with tempfile.TemporaryDirectory(prefix="vinr-portal-bench-") as tmp:
        work = Path(tmp)
        generator = choose_generator(args.client, args.wrk_threads, work)
        results["config"]["load_generator"] = generator.name
        print(f"preparing a database in {work}; load generator: {generator.name} ...", flush=True)
        vinr_db, _ = make_vinr_db(work / "portal.sqlite3", 0, 0)
        env = {"VINR_DATABASE_URL": vinr_db.url, "VINR_SECRET_KEY": SECRET_KEY, "VINR_PUBLIC_URL": PUBLIC_URL}
        settings = {"worker_class": args.worker_class, "workers": args.workers, "threads": args.threads}
        bare = Server("bare_page", "bench.bare_page:app", {}, work, **settings)
        vinr = Server("vinr", "bench.wsgi_bench:app", env, work, **settings)
        # The same app and database with the rendered-page cache off: what every
        # view costs when it is the first one of its invoice (app/portal/pages.py).
        vinr_nocache = Server("vinr_nocache", "bench.wsgi_bench:app", {**env, "VINR_PAGE_CACHE_MB": "0"}, work,
                              **settings)
        with servers_stopped_on_exit([bare, vinr, vinr_nocache]):
            bare.start()
            vinr.start()
            vinr_nocache.start()
            bare.wait_ready("/ping")
            vinr.wait_ready("/v1/openapi.json")
            vinr_nocache.wait_ready("/v1/openapi.json")

            api = Client(vinr.port, vinr_db.key)
            customer = api.ok("POST", "/v1/customers", {"email": "bench@example.com", "name": "Bench Customer"})["id"]
            cold_count = 2 * args.workers
            count = 1 + cold_count + args.pdf_invoices + args.pdf_contention
            print(f"creating {count} finalized 10-line invoices through the API ...", flush=True)
            _, page_path = make_invoice(api, customer)
            cold_paths = [make_invoice(api, customer)[1] for _ in range(cold_count)]
            pdf_paths = [make_invoice(api, customer)[1] for _ in range(args.pdf_invoices)]
            contention_paths = [make_invoice(api, customer)[1] for _ in range(args.pdf_contention)]
            paths = {"bare_page": "/page", "vinr": page_path, "vinr_nocache": page_path}
            sizes = {"bare_page": check_page(bare.port, "/page", "bare"),
                     "vinr": check_page(vinr.port, page_path, "VINR"),
                     "vinr_nocache": check_page(vinr_nocache.port, page_path, "VINR without the page cache")}

            # 1. Hosted page throughput and latency ------------------------------------------
            print(f"hosted page: {args.rounds} rounds x {args.seconds}s per server, {args.concurrency} connections, "
                  f"{gunicorn_desc} ...", flush=True)
            servers = {"bare_page": bare, "vinr": vinr, "vinr_nocache": vinr_nocache}
            names = list(servers)
            for name, server in servers.items():  # warm-up, untimed
                generator.run(server.port, paths[name], args.concurrency, 1)
            rounds: list[dict[str, Any]] = []
            for r in range(args.rounds):
                row: dict[str, Any] = {}
                for name in names[r % 3:] + names[:r % 3]:  # each server goes first in turn
                    server = servers[name]
                    cpu0 = server_cpu_seconds(server)
                    cell = generator.run(server.port, paths[name], args.concurrency, args.seconds)
                    cell["server_cpu_seconds"] = server_cpu_seconds(server) - cpu0
                    if cell["errors"]:
                        raise RuntimeError(f"{name}: {cell['errors']} failed requests in round {r + 1}: {cell}")
                    cell["requests_per_s"] = cell["requests"] / cell["seconds"]
                    row[name] = cell
                row["ratio"] = row["vinr"]["requests_per_s"] / row["bare_page"]["requests_per_s"]
                row["ratio_nocache"] = row["vinr_nocache"]["requests_per_s"] / row["bare_page"]["requests_per_s"]
                rounds.append(row)
                print(f"  round {r + 1}: bare {row['bare_page']['requests_per_s']:.0f} req/s "
                      f"(p50 {row['bare_page']['p50_ms']:.1f} ms), vinr {row['vinr']['requests_per_s']:.0f} req/s "
                      f"(p50 {row['vinr']['p50_ms']:.1f} ms), ratio {row['ratio']:.3f}; page cache off "
                      f"{row['vinr_nocache']['requests_per_s']:.0f} req/s, ratio {row['ratio_nocache']:.3f}",
                      flush=True)
            page: dict[str, Any] = {"rounds": rounds, "path": "/i/<invoice>/<token>", "lines": len(LINES),
                                    "concurrency": args.concurrency, "load_generator": generator.name,
                                    "gunicorn": gunicorn_desc, "target": PAGE_TARGET}
            for name in servers:
                cells = [row[name] for row in rounds]
                requests = sum(c["requests"] for c in cells)
                seconds = sum(c["seconds"] for c in cells)
                page[name] = {
                    "requests": requests, "requests_per_s": requests / seconds, "bytes_per_response": sizes[name],
                    "p50_ms_median_of_rounds": statistics.median(c["p50_ms"] for c in cells),
                    "p99_ms_median_of_rounds": statistics.median(c["p99_ms"] for c in cells),
                    "p50_ms_range": [min(c["p50_ms"] for c in cells), max(c["p50_ms"] for c in cells)],
                    "p99_ms_range": [min(c["p99_ms"] for c in cells), max(c["p99_ms"] for c in cells)],
                    "server_cpu_ms_per_request": 1000 * sum(c["server_cpu_seconds"] for c in cells) / requests,
                    "client_cpu_share": sum(c["client_cpu_seconds"] for c in cells) / seconds,
                }
            ratios = [row["ratio"] for row in rounds]
            page["ratio"] = page["vinr"]["requests_per_s"] / page["bare_page"]["requests_per_s"]
            page["ratio_min"], page["ratio_max"] = min(ratios), max(ratios)
            page["ratio_median_of_rounds"] = statistics.median(ratios)
            page["ratio_nocache"] = page["vinr_nocache"]["requests_per_s"] / page["bare_page"]["requests_per_s"]
            results["page"] = page

            # 2. PDF ----------------------------------------------------------------------------
            # Concurrent first PDFs, one per sync worker: the first batch is each worker's cold
            # start (WeasyPrint import, fonts); the second batch is an untimed warm-up.
            print(f"PDF: first render per worker ({cold_count} invoices, {args.workers} at a time) ...", flush=True)
            cold: list[float] = []
            warm: list[float] = []
            for i in range(0, cold_count, args.workers):
                times = concurrent_first_pdfs(vinr.port, cold_paths[i:i + args.workers])
                (cold if i == 0 else warm).extend(times)
            flask_app = _inprocess_app(vinr_db.url)
            inproc_cold = [inprocess_render(flask_app, cold_paths[j])["render_pdf_ms"] for j in range(2)]

            print(f"PDF: first GET of {args.pdf_invoices} fresh invoices, interleaved with in-process renders ...",
                  flush=True)
            first: list[float] = []
            inproc: list[dict[str, float]] = []
            pdf_bytes: dict[str, bytes] = {}
            for i, path in enumerate(pdf_paths):  # HTTP first on even invoices, in process first on odd
                for step in (("http", "inprocess") if i % 2 == 0 else ("inprocess", "http")):
                    if step == "inprocess":
                        inproc.append(inprocess_render(flask_app, path))
                        continue
                    status, headers, body, ms = _get(vinr.port, path + "/pdf")
                    if status != 200 or headers.get("content-type") != "application/pdf" or body[:4] != b"%PDF":
                        raise RuntimeError(f"first PDF of {path}: {status} {headers}")
                    first.append(ms)
                    pdf_bytes[path] = body
            with flask_app.app_context():
                from app.extensions import db

                db.engine.dispose()

            print(f"PDF: {args.pdf_cached} GETs of stored PDFs ...", flush=True)
            cached: list[float] = []
            for i in range(args.pdf_cached):
                path = pdf_paths[i % len(pdf_paths)]
                status, _, body, ms = _get(vinr.port, path + "/pdf")
                if status != 200 or body != pdf_bytes[path]:
                    raise RuntimeError(f"stored PDF of {path}: {status}, same bytes: {body == pdf_bytes[path]}")
                cached.append(ms)

            # An API write (POST /v1/customers) alone, and started 30 ms into a first PDF render
            # (which the other sync worker serves), alternately: does the render block writers?
            if args.pdf_contention:
                print(f"PDF: {args.pdf_contention} API writes alone and during a first PDF render ...", flush=True)
            alone: list[float] = []
            during: list[float] = []
            renders: list[float] = []

            def write() -> float:
                t0 = time.perf_counter()
                api.ok("POST", "/v1/customers", {"email": "contention@example.com"})
                return (time.perf_counter() - t0) * 1000

            for i, path in enumerate(contention_paths):
                for step in (("alone", "during") if i % 2 == 0 else ("during", "alone")):
                    if step == "alone":
                        alone.append(write())
                        continue
                    render = threading.Thread(target=lambda p=path: renders.append(_get(vinr.port, p + "/pdf")[3]))
                    render.start()
                    time.sleep(0.03)
                    during.append(write())
                    render.join()
            api.close()
            results["pdf"] = {
                "invoices": args.pdf_invoices, "lines": len(LINES),
                "bytes": statistics.median(len(b) for b in pdf_bytes.values()),
                "first_get": _summary(first), "cached_get": _summary(cached),
                "cold_first_get_per_worker": _summary(cold), "warmup_first_get_ms": warm,
                "inprocess_render_pdf": _summary([x["render_pdf_ms"] for x in inproc]),
                "inprocess_html_only": _summary([x["html_ms"] for x in inproc]),
                "inprocess_context": _summary([x["context_ms"] for x in inproc]),
                "inprocess_cold_render_pdf_ms": inproc_cold,
                "targets": {"first_ms": PDF_FIRST_TARGET_MS, "cached_ms": PDF_CACHED_TARGET_MS},
            }
            if args.pdf_contention:
                results["pdf"]["api_write_alone"] = _summary(alone)
                results["pdf"]["api_write_during_first_pdf"] = _summary(during)
                results["pdf"]["first_get_under_write"] = _summary(renders)
        # servers stopped here

        if args.profile:
            print(f"profiling {args.profile} hosted-page GETs in process ...", flush=True)
            text, facts = profile_page(vinr_db.url, page_path, args.profile)
            profile_path = args.out.with_suffix(".profile.txt")
            profile_path.parent.mkdir(parents=True, exist_ok=True)
            profile_path.write_text(text)
            results["profile"] = {"file": str(profile_path), **facts}

    results["machine"]["loadavg_end"] = os.getloadavg()
    results["total_seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nresults: {args.out}  (total {results['total_seconds']:.0f}s)")
    return 0


def table(results: dict[str, Any]) -> str:
    """The summary printed at the end (also used for docs/performance.md)."""
    page, pdf, cfg = results["page"], results["pdf"], results["config"]

    def verdict(ok: bool) -> str:
        return "meets target" if ok else "MISSES target"

    out = [
        f"Hosted page: GET {page['path']} ({page['lines']} lines), {cfg['rounds']} rounds x {cfg['seconds']}s per "
        f"server (interleaved), {page['concurrency']} connections, {page['load_generator']}, {page['gunicorn']}",
        "| server | requests/s | p50 ms | p99 ms | server CPU ms/request | client CPU (cores) | bytes/page |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("bare_page", "bare Flask + Jinja page (baseline)"), ("vinr", "VINR hosted page"),
                        ("vinr_nocache", "VINR hosted page, page cache off (every view rendered)")):
        if name not in page:
            continue
        s = page[name]
        out.append(f"| {label} | {s['requests_per_s']:.1f} | {s['p50_ms_median_of_rounds']:.1f} | "
                   f"{s['p99_ms_median_of_rounds']:.1f} | {s['server_cpu_ms_per_request']:.2f} | "
                   f"{s['client_cpu_share']:.2f} | {s['bytes_per_response']} |")
    cpu_ratio = page["bare_page"]["server_cpu_ms_per_request"] / page["vinr"]["server_cpu_ms_per_request"]
    out.append(f"VINR/bare requests/s: {100 * page['ratio']:.1f}% (rounds {100 * page['ratio_min']:.1f}-"
               f"{100 * page['ratio_max']:.1f}%); target >= {100 * page['target']:.0f}%: "
               f"{verdict(page['ratio'] >= page['target'])}. Server CPU per request, bare/VINR: "
               f"{100 * cpu_ratio:.1f}%")
    if "vinr_nocache" in page:
        out.append(f"With the page cache off (each view as a first view): {100 * page['ratio_nocache']:.1f}% of the "
                   f"bare page's requests/s.")
    out += [
        "",
        f"PDF: {pdf['invoices']} fresh {pdf['lines']}-line invoices (PDF {pdf['bytes']:.0f} bytes)",
        "| measurement | median ms | p95 ms | min ms | max ms | target |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = (("first GET /pdf: render + store, over HTTP", "first_get", f"< {pdf['targets']['first_ms']:.0f} ms"),
            ("render_pdf in process (template + WeasyPrint)", "inprocess_render_pdf", ""),
            ("of which the HTML template alone", "inprocess_html_only", ""),
            ("loading the invoice context in process", "inprocess_context", ""),
            ("stored GET /pdf, over HTTP", "cached_get", f"< {pdf['targets']['cached_ms']:.0f} ms"),
            ("first PDF in a fresh worker (cold, over HTTP)", "cold_first_get_per_worker", ""),
            ("API write (POST /v1/customers) alone", "api_write_alone", ""),
            ("API write started 30 ms into a first PDF render", "api_write_during_first_pdf", ""))
    for label, key, target in rows:
        if key not in pdf:
            continue
        s = pdf[key]
        out.append(f"| {label} (n={s['n']}) | {s['median_ms']:.1f} | {s['p95_ms']:.1f} | {s['min_ms']:.1f} | "
                   f"{s['max_ms']:.1f} | {target} |")
    first, cached, targets = pdf["first_get"], pdf["cached_get"], pdf["targets"]
    out.append(f"First PDF median {first['median_ms']:.0f} ms; target < {targets['first_ms']:.0f} ms: "
               f"{verdict(first['median_ms'] < targets['first_ms'])}. Stored PDF median {cached['median_ms']:.1f} ms; "
               f"target < {targets['cached_ms']:.0f} ms: {verdict(cached['median_ms'] < targets['cached_ms'])}.")
    if "profile" in results:
        prof = results["profile"]
        per_page = ", ".join(f"{k} {v:.2f}" for k, v in prof["inprocess_ms_per_page"].items())
        out += ["", f"In process (test client): CPU ms per page: {per_page}; SQL statements per page "
                    f"{len(prof['sql_per_page'])}, per stored PDF {len(prof['sql_per_cached_pdf'])}"]
        if "stage_ms" in prof:
            stages = ", ".join(f"{k} {v:.2f}" for k, v in prof["stage_ms"].items())
            out.append(f"Stages of the page view (CPU ms): {stages}")
    return "\n".join(out)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary files removed", file=sys.stderr)
        sys.exit(130)
