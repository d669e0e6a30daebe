"""The load run (issue 27): a mixed workload on PostgreSQL, VINR beside a bare Flask app.

Both are gunicorn with 4 sync workers, on databases of their own; VINR has a job worker
(``flask --app wsgi worker``) beside it, as in production. A simulated user repeats one
invoice's life: as a merchant (by API key, each POST with an Idempotency-Key, as the SDK
sends) it creates an invoice, adds two lines, finalizes it and lists its newest invoices;
then as the invoice's customer (a new connection, no cookies) it opens the hosted page,
in one cycle of ``--pdf-every`` downloads the PDF twice (the first render, then the stored
one), pays with the test card 4242 and follows the redirect to the paid page. The bare app
(bench/bare.py) answers the same requests but the PDF with hand-written SQL.

1. **Open load**: ``--users`` users (50) who wait 0.5–1.5 s between two actions, for
   ``--seconds``: per kind requests/s, p50/p95/p99 ms, errors. Target: p95 < 250 ms for
   every kind but the PDF's first render, and no error.
2. **Saturation**: ``--busy-users`` users (8) without waits, in rounds that alternate
   between VINR and the bare app: requests/s, the server's CPU seconds per wall second
   (its gunicorn workers' user + system time, read from /proc) and requests/s per core of
   the server (requests ÷ the workers' CPU seconds). The load generator runs on the same
   machine: read VINR ÷ bare of the same run.
3. **CPU per request, per kind**: each kind alone, ``--per-kind`` requests by 4 clients,
   the workers' CPU time before and after ÷ the requests.

"Server CPU" is the gunicorn workers'. The job worker's is reported beside it: a paid
invoice's receipt email renders and attaches its PDF there (100+ ms), on the same 2 cores.

Prints Markdown tables for docs/performance.md. Servers, the worker and the databases are
removed on exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.harness import ROOT, Client, Databases, Server, children
from bench.run import PUBLIC_URL, SECRET_KEY, log, prepare_vinr

KINDS = ["create invoice", "add line", "finalize", "list", "hosted page", "PDF first render", "PDF stored",
         "pay", "page after paying"]
NO_TARGET = {"PDF first render"}
CARD = {"method": "new", "card_number": "4242 4242 4242 4242", "expiry": "12 / 34", "cvc": "123",
        "name": "Load Customer"}
CSRF = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')
TICKS = os.sysconf("SC_CLK_TCK")


class Failed(Exception):
    """An answer the user would notice: a wrong status or a page without what it must show."""


@dataclass
class Target:
    """One app under load: its server, and the API keys and customers of its merchants."""

    name: str
    server: Server
    merchants: list[tuple[str, str]] = field(default_factory=list)  # (API key, customer id)
    job_worker: int | None = None  # pid of VINR's ``flask worker``

    def workers(self) -> list[int]:
        """The gunicorn master's children: its workers, as /proc lists them now."""
        assert self.server.proc is not None
        return sorted(children(self.server.proc.pid))

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the workers alive now (their whole lives)."""
        return sum(cpu_seconds(pid) for pid in self.workers())

    def job_cpu_seconds(self) -> float:
        return cpu_seconds(self.job_worker) if self.job_worker else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


@dataclass
class Sample:
    kind: str
    started: float
    seconds: float
    error: str | None = None


class Http:
    """One keep-alive connection with cookies (the hosted page's session and CSRF token)."""

    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, dict[str, str]()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload

    def close(self) -> None:
        self.conn.close()


class User:
    """One simulated user: a merchant's API client and, per invoice, a new customer."""

    def __init__(self, target: Target, index: int, samples: list[Sample], pdf_every: int, seed: int) -> None:
        self.target, self.samples, self.pdf_every = target, samples, pdf_every
        self.key, self.customer = target.merchants[index % len(target.merchants)]
        self.api = Http(target.server.port)
        self.cycles, self.random = 0, random.Random(seed)
        self.vinr = target.name == "vinr"

    @contextmanager
    def timed(self, kind: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        except (Failed, OSError, http.client.HTTPException) as error:
            self.samples.append(Sample(kind, start, time.perf_counter() - start, f"{type(error).__name__}: {error}"))
            raise
        self.samples.append(Sample(kind, start, time.perf_counter() - start))

    def api_call(self, kind: str, method: str, path: str, body: Any = None) -> Any:
        headers = {"X-Api-Key": self.key, "Content-Type": "application/json"}
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        with self.timed(kind):
            status, _, payload = self.api.request(method, path, None if body is None else json.dumps(body).encode(),
                                                  headers)
            if status != 200:
                raise Failed(f"{method} {path} answered {status}: {payload[:200]!r}")
        return json.loads(payload)

    def page(self, kind: str, customer: Http, path: str, must_show: bytes) -> bytes:
        with self.timed(kind):
            status, headers, body = customer.request("GET", path)
            if status != 200 or must_show not in body or not headers.get("content-type", "").startswith("text/html"):
                raise Failed(f"GET {path} answered {status} without {must_show!r}: {body[:200]!r}")
        return body

    def cycle(self, wait: Callable[[], None]) -> None:
        """One invoice's life, ``wait()`` between two actions."""
        self.cycles += 1
        body = {"customer": self.customer, "collection_method": "send_invoice", "days_until_due": 30}
        invoice = self.api_call("create invoice", "POST", "/v1/invoices", body)
        for quantity in (1, 2):
            wait()
            self.api_call("add line", "POST", f"/v1/invoices/{invoice['id']}/lines",
                          {"description": f"Consulting, item {quantity}", "quantity": quantity, "unit_amount": 12_500})
        wait()
        final = self.api_call("finalize", "POST", f"/v1/invoices/{invoice['id']}/finalize", {})
        if final["status"] != "open" or final["total"] != 37_500:
            raise Failed(f"unexpected finalized invoice: {json.dumps(final)[:300]}")
        wait()
        self.api_call("list", "GET", "/v1/invoices?limit=20")
        link, number = urlsplit(final["hosted_invoice_url"]).path, final["number"].encode()
        customer = Http(self.target.server.port)
        try:
            wait()
            html = self.page("hosted page", customer, link, number)
            if self.vinr and self.cycles % self.pdf_every == 0:
                for kind in ("PDF first render", "PDF stored"):
                    wait()
                    with self.timed(kind):
                        status, headers, pdf = customer.request("GET", link + "/pdf")
                        if status != 200 or not pdf.startswith(b"%PDF"):
                            raise Failed(f"GET {link}/pdf answered {status}: {pdf[:200]!r}")
            wait()
            token = CSRF.search(html)
            form = {**CARD, "csrf_token": token.group(1).decode() if token else ""}
            with self.timed("pay"):
                status, headers, answer = customer.request(
                    "POST", link + "/pay", urlencode(form).encode(),
                    {"Content-Type": "application/x-www-form-urlencoded"})
                if status != 303:
                    raise Failed(f"POST {link}/pay answered {status}: {answer[:300]!r}")
            self.page("page after paying", customer, local(headers["location"]),
                      b"Payment received" if self.vinr else b"Paid")
        finally:
            customer.close()

    def run(self, stop: float, wait: Callable[[], None]) -> None:
        while time.perf_counter() < stop:
            try:
                self.cycle(wait)
            except (Failed, OSError, http.client.HTTPException):
                self.api.close()
                self.api = Http(self.target.server.port)
        self.api.close()


def local(url: str) -> str:
    """A redirect's path and query, on the same server."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def run_users(target: Target, users: int, seconds: float, think: tuple[float, float], pdf_every: int,
              seed: int) -> tuple[list[Sample], float, float, float]:
    """``users`` threads for ``seconds`` (a cycle under way is finished): samples, wall seconds, the
    web workers' CPU seconds, the job worker's."""
    samples: list[Sample] = []
    rng = random.Random(seed)

    def wait() -> None:
        if think[1] > 0:
            time.sleep(rng.uniform(*think))

    threads = []
    cpu0, job0, start = target.cpu_seconds(), target.job_cpu_seconds(), time.perf_counter()
    stop = start + seconds
    for i in range(users):
        user = User(target, i, samples, pdf_every, seed * 1000 + i)
        threads.append(threading.Thread(target=user.run, args=(stop, wait), daemon=True))
        threads[-1].start()
        if think[1] > 0:
            time.sleep(think[1] / users)  # the users arrive spread over one wait, not all at once
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - start, target.cpu_seconds() - cpu0, target.job_cpu_seconds() - job0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def kind_table(samples: list[Sample], wall: float) -> dict[str, tuple[int, float, float, float, float, int]]:
    """Per kind: requests, requests/s, p50, p95, p99 ms, errors."""
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample)
    out = {}
    for kind in KINDS:
        rows = by_kind.get(kind, [])
        if not rows:
            continue
        ms = [1000 * s.seconds for s in rows if s.error is None] or [0.0]
        out[kind] = (len(rows), len(rows) / wall, quantile(ms, 0.5), quantile(ms, 0.95), quantile(ms, 0.99),
                     sum(1 for s in rows if s.error))
    return out


def per_kind_cpu(target: Target, requests: int, clients: int = 4) -> dict[str, float]:
    """Each kind alone: the workers' CPU ms per request, ``requests`` of it by ``clients`` threads."""
    out: dict[str, float] = {}
    count = requests // clients
    samples: list[Sample] = []
    users = [User(target, i, samples, 1, i) for i in range(clients)]
    invoices: list[list[dict[str, Any]]] = [[] for _ in users]
    customers: list[list[tuple[Http, str, bytes]]] = [[] for _ in users]
    vinr = target.name == "vinr"

    def measure(kind: str, job: Callable[[int, int], None]) -> None:
        def each(u: int) -> None:
            try:
                for n in range(count):
                    job(u, n)
            except (Failed, OSError, http.client.HTTPException):
                pass  # in the samples, reported below

        threads = [threading.Thread(target=each, args=(u,)) for u in range(clients)]
        cpu0 = target.cpu_seconds()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        errors = [s.error for s in samples if s.error]
        if errors:
            raise RuntimeError(f"{target.name}, {kind}: {errors[0]}")
        out[kind] = 1000 * (target.cpu_seconds() - cpu0) / (count * clients)

    def create(u: int, _n: int) -> None:
        body = {"customer": users[u].customer, "collection_method": "send_invoice", "days_until_due": 30}
        invoices[u].append(users[u].api_call("create invoice", "POST", "/v1/invoices", body))

    def add_line(u: int, n: int) -> None:
        users[u].api_call("add line", "POST", f"/v1/invoices/{invoices[u][n]['id']}/lines",
                          {"description": "Consulting", "quantity": 3, "unit_amount": 12_500})

    def finalize(u: int, n: int) -> None:
        invoices[u][n] = users[u].api_call("finalize", "POST", f"/v1/invoices/{invoices[u][n]['id']}/finalize", {})

    def listing(u: int, _n: int) -> None:
        users[u].api_call("list", "GET", "/v1/invoices?limit=20")

    def page(u: int, n: int) -> None:
        customer = Http(target.server.port)
        link = urlsplit(invoices[u][n]["hosted_invoice_url"]).path
        customers[u].append((customer, link, users[u].page("hosted page", customer, link,
                                                           invoices[u][n]["number"].encode())))

    def pdf(kind: str) -> Callable[[int, int], None]:
        def get(u: int, n: int) -> None:
            customer, link, _ = customers[u][n]
            with users[u].timed(kind):
                status, _, body = customer.request("GET", link + "/pdf")
                if status != 200 or not body.startswith(b"%PDF"):
                    raise Failed(f"GET {link}/pdf answered {status}")
        return get

    def pay(u: int, n: int) -> None:
        customer, link, html = customers[u][n]
        token = CSRF.search(html)
        form = {**CARD, "csrf_token": token.group(1).decode() if token else ""}
        with users[u].timed("pay"):
            status, headers, _ = customer.request("POST", link + "/pay", urlencode(form).encode(),
                                                  {"Content-Type": "application/x-www-form-urlencoded"})
            if status != 303:
                raise Failed(f"POST {link}/pay answered {status}")
        customers[u][n] = (customer, local(headers["location"]), html)

    def paid(u: int, n: int) -> None:
        customer, path, _ = customers[u][n]
        users[u].page("page after paying", customer, path, b"Payment received" if vinr else b"Paid")
        customer.close()

    measure("create invoice", create)
    measure("add line", add_line)
    measure("finalize", finalize)
    measure("list", listing)
    measure("hosted page", page)
    if vinr:
        pdf_count, count = count, max(1, count // 5)  # a first render is ~0.5 s of CPU: fewer of them
        measure("PDF first render", pdf("PDF first render"))
        measure("PDF stored", pdf("PDF stored"))
        count = pdf_count
    measure("pay", pay)
    measure("page after paying", paid)
    for user in users:
        user.api.close()
    return out


def start_worker(url: str, log_path: Path, nice: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VINR_DATABASE_URL": url, "VINR_SECRET_KEY": SECRET_KEY, "VINR_PUBLIC_URL": PUBLIC_URL}
    with open(log_path, "wb") as out:
        return subprocess.Popen(["nice", "-n", str(nice), sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                                cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: this worker only
        proc.wait(timeout=5)


def setup(dbs: Databases, work: Path, merchants: int) -> tuple[Target, Target, str]:
    """Both apps' databases and servers (not yet started), VINR's merchants made in process."""
    vinr_url = dbs.new("postgresql", "load")
    flask_app, made = prepare_vinr(vinr_url)
    keys = [made["Bench"][0], made["Large"][0], made["Small"][0]][:merchants]
    env = {"VINR_DATABASE_URL": vinr_url, "VINR_SECRET_KEY": SECRET_KEY, "VINR_PUBLIC_URL": PUBLIC_URL}
    vinr = Target("vinr", Server("vinr", "wsgi:app", env, work / "vinr.log", workers=4))
    bare_url = dbs.new("postgresql", "loadbare")
    subprocess.run([sys.executable, "-c", "import bench.bare"], cwd=ROOT, check=True,  # its schema, once
                   env={**os.environ, "BENCH_BARE_DB": bare_url})
    bare = Target("bare", Server("bare", "bench.bare:app", {"BENCH_BARE_DB": bare_url}, work / "bare.log", workers=4))
    for target, key_list in ((vinr, keys), (bare, ["bare"] * len(keys))):
        target.merchants = [(key, "") for key in key_list]
    return vinr, bare, vinr_url


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="users of the open load (50)")
    parser.add_argument("--seconds", type=float, default=60, help="seconds of the open load per app (60)")
    parser.add_argument("--busy-users", type=int, default=8, help="users without waits at saturation (8)")
    parser.add_argument("--busy-seconds", type=float, default=20, help="seconds per saturation round (20)")
    parser.add_argument("--rounds", type=int, default=2, help="saturation rounds per app, interleaved (2)")
    parser.add_argument("--per-kind", type=int, default=200, help="requests per kind for its CPU (200)")
    parser.add_argument("--pdf-every", type=int, default=10, help="a user downloads the PDF every Nth invoice (10)")
    parser.add_argument("--worker-nice", type=int, default=0, choices=range(20), metavar="0-19",
                        help="the job worker's niceness: 19 leaves the cores to the web workers first, as a worker "
                             "on other cores or hosts would (0)")
    parser.add_argument("--merchants", type=int, default=3, choices=(1, 2, 3), help="merchants the users share (3)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="where to create and drop the run's vinr_bench_<pid>_* databases")
    args = parser.parse_args(argv)
    if min(args.users, args.busy_users, args.rounds, args.per_kind, args.pdf_every) < 1:
        parser.error("counts must be positive")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    started, load = time.perf_counter(), os.getloadavg()[0]
    worker: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="vinr-bench-") as tmp:
        work = Path(tmp)
        dbs = Databases(work, args.pg)
        targets: list[Target] = []
        try:
            vinr, bare, vinr_url = setup(dbs, work, args.merchants)
            targets = [vinr, bare]
            vinr.server.start("/v1/openapi.json")
            bare.server.start("/page/1")
            worker = start_worker(vinr_url, work / "worker.log", args.worker_nice)
            vinr.job_worker = worker.pid
            for target in targets:
                client = Client(target.server.port)
                for i, (key, _) in enumerate(target.merchants):
                    client.headers["X-Api-Key"] = key
                    target.merchants[i] = (key, client.ok("POST", "/v1/customers", {"email": "load@example.com"})["id"])
                client.close()
                run_users(target, 4, 3, (0.0, 0.0), 2, 0)  # warm-up: every kind once per worker or so
            results = measure(args, vinr, bare)
        except KeyboardInterrupt:
            log("interrupted: stopping the servers and the worker, dropping the databases")
            return 130
        except Exception:
            for target in targets:
                log(f"--- {target.name} server log (last lines) ---\n{target.server.tail()}")
            raise
        finally:
            stop_process(worker)
            for target in targets:
                target.server.stop()
            dbs.drop_all()
    print(results)
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
          f"{time.perf_counter() - started:.0f} s in all.")
    return 0


def measure(args: argparse.Namespace, vinr: Target, bare: Target) -> str:
    lines: list[str] = []
    open_load: dict[str, Any] = {}
    for target in (vinr, bare):
        log(f"open load: {args.users} users, {args.seconds:.0f} s, {target.name}")
        samples, wall, cpu, job = run_users(target, args.users, args.seconds, (0.5, 1.5), args.pdf_every, 1)
        open_load[target.name] = (kind_table(samples, wall), len(samples) / wall, cpu / wall,
                                  1000 * cpu / max(1, len(samples)), 1000 * job / max(1, len(samples)), job / wall)
    busy: dict[str, list[tuple[int, float, float, float]]] = {"vinr": [], "bare": []}
    for r in range(args.rounds):
        for target in (vinr, bare)[:: 1 if r % 2 == 0 else -1]:
            log(f"saturation: {args.busy_users} users without waits, {args.busy_seconds:.0f} s, {target.name}")
            samples, wall, cpu, job = run_users(target, args.busy_users, args.busy_seconds, (0.0, 0.0),
                                                args.pdf_every, 2 + r)
            errors = sum(1 for s in samples if s.error)
            busy[target.name].append((len(samples) - errors, wall, cpu, job))
    cpu_kind: dict[str, dict[str, float]] = {}
    for target in (vinr, bare):
        log(f"CPU per request, each kind alone: {target.name}")
        cpu_kind[target.name] = per_kind_cpu(target, args.per_kind)

    lines.append(f"Open load, {args.users} users waiting 0.5–1.5 s, {args.seconds:.0f} s per app "
                 f"(a PDF every {args.pdf_every}th invoice):\n")
    lines.append("| kind | VINR req/s | p50 ms | p95 ms | p99 ms | errors | bare p95 ms | target |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
    table, bare_table = open_load["vinr"][0], open_load["bare"][0]
    for kind, (_n, rate, p50, p95, p99, errors) in table.items():
        verdict = "" if kind in NO_TARGET else ("p95 < 250, no error" if p95 < 250 and not errors else "**missed**")
        bare_p95 = f"{bare_table[kind][3]:.0f}" if kind in bare_table else "–"
        lines.append(f"| {kind} | {rate:.1f} | {p50:.0f} | {p95:.0f} | {p99:.0f} | {errors} | {bare_p95} | {verdict} |")
    for name in ("vinr", "bare"):
        _t, rate, cores, cpu_ms, job_ms, job_cores = open_load[name]
        note = f"; the job worker {job_cores:.2f} cores, {job_ms:.1f} ms per request" if name == "vinr" else ""
        lines.append(f"\n{name}: {rate:.1f} requests/s; web workers {cores:.2f} cores, {cpu_ms:.1f} ms CPU per "
                     f"request{note}.")

    lines.append(f"\nSaturation, {args.busy_users} users without waits, {args.rounds} rounds of "
                 f"{args.busy_seconds:.0f} s per app, interleaved:\n")
    lines.append("| figure | VINR | bare | VINR ÷ bare |")
    lines.append("|---|---:|---:|---:|")
    sums = {name: tuple(sum(x[i] for x in rounds) for i in range(4)) for name, rounds in busy.items()}
    rate = {name: n / wall for name, (n, wall, _cpu, _job) in sums.items()}
    cores = {name: cpu / wall for name, (_n, wall, cpu, _job) in sums.items()}
    per_core = {name: n / cpu for name, (n, _wall, cpu, _job) in sums.items()}
    cpu_ms = {name: 1000 * cpu / n for name, (n, _wall, cpu, _job) in sums.items()}
    job_ms = 1000 * sums["vinr"][3] / sums["vinr"][0]
    lines.append(f"| requests/s | {rate['vinr']:.1f} | {rate['bare']:.1f} | {rate['vinr'] / rate['bare']:.2f} |")
    lines.append(f"| server CPU, cores busy | {cores['vinr']:.2f} | {cores['bare']:.2f} | |")
    lines.append(f"| **requests/s per core of the server** | **{per_core['vinr']:.1f}** | {per_core['bare']:.1f} "
                 f"| **{per_core['vinr'] / per_core['bare']:.3f}** |")
    lines.append(f"| server CPU ms per request, the mix | {cpu_ms['vinr']:.1f} | {cpu_ms['bare']:.2f} | "
                 f"{cpu_ms['vinr'] / cpu_ms['bare']:.1f} |")
    lines.append(f"| the job worker's CPU ms per request (receipts with their PDF, emails) | {job_ms:.1f} | – | |")

    lines.append(f"\nServer CPU ms per request, each kind alone ({args.per_kind} requests, 4 clients; "
                 f"PDF first render {max(1, args.per_kind // 4 // 5) * 4}):\n")
    lines.append("| kind | VINR | bare | VINR ÷ bare |")
    lines.append("|---|---:|---:|---:|")
    for kind in KINDS:
        if kind not in cpu_kind["vinr"]:
            continue
        v, b = cpu_kind["vinr"][kind], cpu_kind["bare"].get(kind)
        lines.append(f"| {kind} | {v:.1f} | {'–' if b is None else f'{b:.2f}'} | "
                     f"{'–' if not b else f'{v / b:.1f}'} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
