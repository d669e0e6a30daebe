"""The server under test: gunicorn in a subprocess, and the ``flask`` CLI against its database."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from e2e.support import ROOT

BIN = Path(sys.executable).parent  # the venv's bin/: flask and gunicorn live next to python
SERVER_START_TIMEOUT_S = 30


@dataclass
class Merchant:
    name: str
    account_id: str
    key: str


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    log_path: Path
    merchants: dict[str, Merchant] = field(default_factory=dict)

    def cli(self, *args: str) -> str:
        """``flask --app wsgi …`` against the server's database; returns stdout."""
        done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env,  # noqa: S603
                              capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def merchant(self, name: str, prefix: str) -> Merchant:
        """A merchant account made with the real CLI (once per name per session)."""
        if name not in self.merchants:
            out = self.cli("create-merchant", "--name", name, "--prefix", prefix, "--json")
            data = json.loads(out.strip().splitlines()[-1])
            self.merchants[name] = Merchant(name, data["id"], data["test_secret_key"])
        return self.merchants[name]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_path}:\n"
                               f"{log_path.read_text(errors='replace')[-3000:]}")
        try:
            # Any answer from the app will do: an unknown hosted link is a cheap plain 404.
            if requests.get(f"{url}/i/inv_none/none", timeout=5).status_code == 404:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {SERVER_START_TIMEOUT_S}s; see {log_path}")


@contextmanager
def gunicorn(env: dict[str, str], port: int, log_path: Path, *extra: str, workers: int = 2) -> Iterator[str]:
    """``gunicorn -w N -b 127.0.0.1:PORT wsgi:app`` in a subprocess, output to ``log_path``; yields its URL.

    ``--no-control-socket``: gunicorn >= 27 otherwise binds ~/.gunicorn/gunicorn.ctl, one path
    shared by every gunicorn of the user, which parallel runs would fight over.
    """
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--no-control-socket", *extra,
               "wsgi:app"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            _wait_until_up(url, process, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
