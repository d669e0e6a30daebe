"""A real VINR for the SDK's tests and the examples: gunicorn and, on demand, a worker.

Started the way ``e2e/server.py`` starts it: a temporary SQLite file migrated with
``flask --app wsgi db upgrade``, merchants made with ``create-merchant --json``,
gunicorn on a free port of 127.0.0.1, every process logging to a file that a
failing test points at.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]  # the repository: wsgi.py, app/, examples/
BIN = Path(sys.executable).parent  # the venv's bin/: flask and gunicorn live next to python
START_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    env: dict[str, str]
    logs: Path
    keys: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str) -> str:
        """``flask --app wsgi …`` against the server's database; its stdout."""
        done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def merchant(self, name: str) -> str:
        """The test secret key of a merchant made with the real CLI (once per name)."""
        if name not in self.keys:
            out = self.cli("create-merchant", "--name", name, "--json")
            self.keys[name] = json.loads(out.strip().splitlines()[-1])["test_secret_key"]
        return self.keys[name]


def environment(data_dir: Path, url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "VINR_DATABASE_URL": f"sqlite:///{data_dir / 'vinr.sqlite3'}",
        "VINR_SECRET_KEY": secrets.token_urlsafe(48),
        "VINR_PUBLIC_URL": url,
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("VINR_REDIS_URL", "VINR_SMTP_URL", "VINR_PROCESSOR_URL", "VINR_PROCESSOR_KEY", "VINR_API_KEY",
                 "VINR_BASE_URL", "VINR_TEST_DATABASE_URL"):
        env.pop(name, None)  # nothing from the developer's shell leaks into the run
    return env


@contextmanager
def process(command: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextmanager
def serve(data_dir: Path) -> Iterator[Server]:
    """A migrated database and gunicorn serving it, until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = Server(url=url, env=environment(data_dir, url), logs=data_dir)
    server.cli("db", "upgrade")
    # --no-control-socket: gunicorn >= 27 otherwise binds one path per user, which parallel runs would share.
    command = [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket", "wsgi:app"]
    log_path = data_dir / "gunicorn.log"
    with process(command, server.env, log_path) as proc:
        _wait_until_up(url, proc, log_path)
        yield server


@contextmanager
def worker(server: Server) -> Iterator[subprocess.Popen[bytes]]:
    """``flask --app wsgi worker`` against the server's database, until the block ends."""
    with process([str(BIN / "flask"), "--app", "wsgi", "worker"], server.env, server.logs / "worker.log") as proc:
        yield proc


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log}")
        try:
            if httpx.get(f"{url}/v1/openapi.json", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT_S}s; see {log_path}")
