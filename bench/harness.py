"""gunicorn servers, a keep-alive client and throw-away databases for the benchmark."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``, as /proc lists them now."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


class Server:
    """A gunicorn master with ``workers`` sync workers (one by default) on a free loopback port, in a
    session of its own; ``options`` are more of gunicorn's (``--preload``). It is started by its
    script, as a deployment does: a USR2 upgrade re-runs the master's own command line, which
    ``python -m gunicorn`` would turn into a run of gunicorn's ``__main__.py`` as a script."""

    def __init__(self, name: str, module: str, env: dict[str, str], log: Path, workers: int = 1,
                 options: tuple[str, ...] = ()) -> None:
        self.name, self.module, self.env, self.log, self.port = name, module, env, log, 0
        self.workers, self.options = workers, options
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_path: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        cmd = [str(Path(sys.executable).parent / "gunicorn"), "-w", str(self.workers), "-k", "sync",
               "-b", f"127.0.0.1:{self.port}", "--chdir", str(ROOT), "--log-level", "warning", "--timeout", "120",
               "--no-control-socket", *self.options, self.module]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            client = Client(self.port)
            try:
                if client.call("GET", ready_path)[0] < 500:
                    return
            except OSError:
                pass
            finally:
                client.close()
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server did not start:\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:]) if self.log.exists() else ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # the master stops its worker gracefully
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: this master and its worker only
            proc.wait(timeout=5)


class Client:
    """A keep-alive HTTP/1.1 client (http.client reconnects when the server closes)."""

    def __init__(self, port: int, key: str | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Content-Type": "application/json", **({"X-Api-Key": key} if key else {})}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = self.call(method, path, body)
        if status != 200:
            raise RuntimeError(f"{method} {path} answered {status}: {payload[:300]!r}")
        return json.loads(payload)

    def close(self) -> None:
        self.conn.close()


class Databases:
    """New empty databases for one run: SQLite files in ``tmp``, or PostgreSQL databases
    ``vinr_bench_<pid>_<name>`` made from ``pg_admin_url`` and dropped by ``drop_all``."""

    def __init__(self, tmp: Path, pg_admin_url: str) -> None:
        self.tmp, self.pg_admin_url, self.pg_names = tmp, pg_admin_url, list[str]()

    def new(self, backend: str, name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.tmp / name}.sqlite3"
        db_name = f"vinr_bench_{os.getpid()}_{name}"
        self.pg_names.append(db_name)
        with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db_name}"')
        return sa.make_url(self.pg_admin_url).set(database=db_name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self.pg_names:
            with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
                while self.pg_names:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_names.pop()}" WITH (FORCE)')
