"""Deploying without a stall (issue 27): what clients see while gunicorn changes its workers.

VINR on PostgreSQL under gunicorn with 4 sync workers; ``--clients`` threads (4) send
``GET /v1/invoices?limit=1`` back to back the whole time, each on a new connection. A gunicorn
config file (``post_worker_init``) notes when each worker is ready to serve. Per case: the
longest time no request was answered (the stall), the slowest request, and errors.

1. **SIGHUP**, without ``--preload``: gunicorn starts 4 new workers and stops the old ones at
   once; the new ones import the app before they accept.
2. **SIGHUP** with ``--preload``: the new workers are forked from the master's app (and so run
   the code the master loaded: not a deploy of new code).
3. **USR2, then TERM to the old master** with ``--preload``: a new master starts beside the
   old one and imports the new code while the old workers serve; once its 4 workers are
   ready, TERM stops the old master gracefully (its workers finish the requests in hand).
   (WINCH, which gunicorn's documentation pairs with USR2, only acts on a daemonized master.)
4. **A worker killed** (SIGKILL, as the OOM killer or ``--timeout`` does), with and without
   ``--preload``: from the kill to its replacement being ready (``post_worker_init``).

Prints a Markdown table for docs/performance.md. Servers and the database are removed on exit.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from bench.harness import Databases, Server, children
from bench.run import PUBLIC_URL, SECRET_KEY, log, prepare_vinr

HOOK = """import time
def post_worker_init(worker):
    with open({path!r}, "a") as ready:
        ready.write(f"{{worker.pid}} {{time.time()}}\\n")
"""


class Traffic:
    """Clients sending requests back to back; each answer's (start, end, status) is kept."""

    def __init__(self, port: int, key: str, clients: int) -> None:
        self.port, self.key, self.stop = port, key, threading.Event()
        self.done: list[tuple[float, float, int]] = []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]

    def run(self) -> None:
        while not self.stop.is_set():
            start = time.time()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("GET", "/v1/invoices?limit=1", headers={"X-Api-Key": self.key})
                status = conn.getresponse().status
                conn.close()
            except OSError:
                status = 0
            self.done.append((start, time.time(), status))

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def figures(self, since: float) -> tuple[float, float, int, int]:
        """From ``since``: the longest time without an answer, the slowest request (s), errors, requests."""
        rows = sorted((r for r in self.done if r[1] >= since), key=lambda r: r[1])
        ends = [since] + [end for _s, end, _status in rows]
        gap = max(b - a for a, b in zip(ends, ends[1:], strict=False)) if len(ends) > 1 else 0.0
        slowest = max((end - start for start, end, _ in rows), default=0.0)
        return gap, slowest, sum(1 for r in rows if r[2] != 200), len(rows)


def ready(path: Path) -> dict[int, float]:
    """Worker pid -> when it was ready, from the hook's file."""
    if not path.exists():
        return {}
    return {int(pid): float(at) for pid, at in (line.split() for line in path.read_text().splitlines())}


def wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for gunicorn")
        time.sleep(0.02)


@contextmanager
def serving(name: str, env: dict[str, str], work: Path, preload: bool) -> Iterator[tuple[Server, int, Path, Path]]:
    """gunicorn with 4 workers, all ready: the server, its master's pid, the hook's file, the pidfile."""
    hook, marks, pidfile = work / f"{name}.py", work / f"{name}.ready", work / f"{name}.pid"
    hook.write_text(HOOK.format(path=str(marks)))
    options = ("-c", str(hook), "--pid", str(pidfile), *(("--preload",) if preload else ()))
    server = Server(name, "wsgi:app", env, work / f"{name}.log", workers=4, options=options)
    server.start("/v1/openapi.json")
    assert server.proc is not None
    master = server.proc.pid
    try:
        wait_for(lambda: len(ready(marks)) >= 4)
        yield server, master, marks, pidfile
    finally:
        for path in work.glob(f"{pidfile.name}*"):  # after USR2, the new master's too (gunicorn 27: <pidfile>.2)
            with suppress(ProcessLookupError, ValueError):
                os.kill(int(path.read_text().split()[0]), signal.SIGTERM)
        server.stop()
        with suppress(ProcessLookupError):
            os.killpg(master, signal.SIGTERM)  # this case's session: its masters and workers only


def change(name: str, env: dict[str, str], work: Path, key: str, args: argparse.Namespace, preload: bool,
           usr2: bool) -> tuple[float, float, int, int]:
    """SIGHUP, or USR2 then TERM to the old master, under traffic: ``Traffic.figures`` from the signal on."""
    with serving(name, env, work, preload) as (server, master, marks, pidfile), \
            Traffic(server.port, key, args.clients) as traffic:
        time.sleep(args.before)
        since = time.time()
        old = set(children(master))
        if not usr2:
            os.kill(master, signal.SIGHUP)
            wait_for(lambda: not (children(master) & old) and len(children(master) & set(ready(marks))) == 4)
        else:
            os.kill(master, signal.SIGUSR2)
            wait_for(lambda: bool(children(master) - old))  # the new master, forked from the old one
            (new_master,) = children(master) - old
            wait_for(lambda: len(children(new_master) & set(ready(marks))) >= 4)
            os.kill(master, signal.SIGTERM)  # graceful: its workers finish the requests in hand
            proc = server.proc
            assert proc is not None
            wait_for(lambda: proc.poll() is not None)  # our child: reaped here
        time.sleep(args.after)
        return traffic.figures(since)


def respawn(name: str, env: dict[str, str], work: Path, args: argparse.Namespace, preload: bool) -> list[float]:
    """Seconds from a worker's SIGKILL to its replacement being ready, per kill."""
    times = []
    with serving(name, env, work, preload) as (_server, master, marks, _pidfile):
        for _ in range(args.kills):
            before = set(ready(marks))
            victim = sorted(children(master))[0]
            killed = time.time()
            os.kill(victim, signal.SIGKILL)
            wait_for(lambda before=before: bool(set(ready(marks)) - before))  # type: ignore[misc]
            times.append(min(at for pid, at in ready(marks).items() if pid not in before) - killed)
            time.sleep(0.5)
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench reload", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="threads sending requests back to back (4)")
    parser.add_argument("--before", type=float, default=2, help="seconds of traffic before the signal (2)")
    parser.add_argument("--after", type=float, default=2, help="seconds of traffic after the change (2)")
    parser.add_argument("--kills", type=int, default=3, help="workers killed one after the other per case (3)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="where to create and drop the run's vinr_bench_<pid>_reload database")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    started, load = time.perf_counter(), os.getloadavg()[0]
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vinr-bench-") as tmp:
        work = Path(tmp)
        dbs = Databases(work, args.pg)
        try:
            url = dbs.new("postgresql", "reload")
            _app, merchants = prepare_vinr(url)
            key = merchants["Bench"][0]
            env = {"VINR_DATABASE_URL": url, "VINR_SECRET_KEY": SECRET_KEY, "VINR_PUBLIC_URL": PUBLIC_URL}
            for name, preload, action, label in (
                    ("hup", False, "hup", "SIGHUP, without --preload"),
                    ("hup-preload", True, "hup", "SIGHUP, --preload (the master's code, not new code)"),
                    ("usr2-preload", True, "usr2", "USR2, then TERM to the old master, --preload")):
                log(f"reload: {label}")
                gap, slowest, errors, count = change(name, env, work, key, args, preload, action == "usr2")
                rows.append(f"| {label} | **{1000 * gap:.0f}** | {1000 * slowest:.0f} | {errors} of {count} |")
            kills = {}
            for name, preload in (("kill", False), ("kill-preload", True)):
                log(f"respawn: {name}")
                kills[preload] = respawn(name, env, work, args, preload)
        finally:
            dbs.drop_all()
    print("| change | longest time without an answer, ms | slowest request, ms | errors |")
    print("|---|---:|---:|---|")
    print("\n".join(rows))
    print("\n| a worker killed (SIGKILL) | its replacement ready after, median ms (each kill) |")
    print("|---|---:|")
    for preload, label in ((False, "without --preload"), (True, "--preload")):
        times = kills[preload]
        print(f"| {label} | **{1000 * statistics.median(times):.0f}** "
              f"({', '.join(f'{1000 * t:.0f}' for t in times)}) |")
    print(f"\n{args.clients} clients back to back, 4 workers; {os.cpu_count()} CPUs, load average {load:.1f} at the "
          f"start, {os.getloadavg()[0]:.1f} at the end; {time.perf_counter() - started:.0f} s in all.")
    return 0
