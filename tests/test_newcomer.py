"""What a newcomer meets first: ``./scripts/run`` and the guides, as they are in a clone."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 180  # seconds: migrations, a merchant, gunicorn and the worker, on a busy machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Output:
    """The lines a process prints, as they come, kept for the assertions."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                self._new.put(line.rstrip("\n"))
        self._new.put(None)

    def join(self) -> None:
        """Once the process has ended: its output read to the end, and the pipe closed."""
        self._reader.join(timeout=30)

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        for line in self.lines:
            if found := re.search(pattern, line):
                return found
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._new.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n"
                                     + "\n".join(self.lines[-40:])) from None
            if line is None:
                raise AssertionError(f"the output ended before {pattern!r}:\n" + "\n".join(self.lines[-40:]))
            self.lines.append(line)
            if found := re.search(pattern, line):
                return found

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture()
def run_command(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Output, int]]:
    """``./scripts/run`` as the README starts it, on a free port and in an instance folder of its
    own; ``--no-setup``, as the venv is set up already (and may be shared by other checkouts)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VINR_")}
    env.update(VINR_HOST="127.0.0.1", VINR_PORT=str(port), VINR_INSTANCE_PATH=str(tmp_path / "instance"),
               PYTHONUNBUFFERED="1")
    process = subprocess.Popen([str(ROOT / "scripts" / "run"), "--no-setup"], cwd=ROOT, env=env,  # noqa: S603
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert process.stdout is not None
    output = Output(process.stdout)
    try:
        yield process, output, port
    finally:
        with contextlib.suppress(ProcessLookupError):  # what is left of it, after a failure
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        output.join()


@pytest.mark.slow
@pytest.mark.timeout(600)  # starting and stopping four processes, on a machine that may be busy
def test_the_run_command_serves_with_gunicorn_and_a_worker_and_prints_the_exports(
        run_command: tuple[subprocess.Popen[str], Output, int]) -> None:
    process, output, port = run_command
    key = output.wait_for(r"^  export VINR_API_KEY=(sk_test_\S+)$")[1]
    base = output.wait_for(r"^  export VINR_BASE_URL=(\S+)$")[1]
    assert base == f"http://127.0.0.1:{port}"
    output.wait_for(rf"Listening at: http://127\.0\.0\.1:{port}\b")
    output.wait_for(r"worker \S+ started")
    answer = requests.get(f"{base}/v1/openapi.json", timeout=30)
    assert answer.status_code == 200 and answer.headers["Server"] == "gunicorn"

    # The exported key and URL are what the examples use; the worker emails what is sent.
    api = _Api(base, key)
    customer = api.post("/v1/customers", {"email": "jenny@example.com"})
    invoice = api.post("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                        "days_until_due": 14})
    api.post(f"/v1/invoices/{invoice['id']}/lines", {"description": "Design", "unit_amount": 1000})
    api.post(f"/v1/invoices/{invoice['id']}/finalize")
    api.post(f"/v1/invoices/{invoice['id']}/send")
    deadline = time.monotonic() + 60
    while api.get(f"/v1/invoices/{invoice['id']}")["last_sent_at"] is None:  # the worker has no other signal
        assert time.monotonic() < deadline, "the worker of scripts/run did not send the invoice within 60 s"
        time.sleep(0.2)

    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
    output.wait_for(r"worker \S+ stopped")
    output.wait_for(r"Shutting down: Master")
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError("scripts/run did not end on Ctrl-C:\n" + output.text[-3000:]) from None
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing of it is left running
    assert "development server" not in output.text.lower()


class _Api:
    def __init__(self, base: str, key: str) -> None:
        self.base, self.headers = base, {"X-Api-Key": key}

    def get(self, path: str) -> dict[str, Any]:
        answer = requests.get(self.base + path, headers=self.headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = requests.post(self.base + path, json=body or {}, headers=self.headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


# What a reader of a clone sees: the README, docs/, examples/ and the SDK (its docstrings
# show in help() and editors). The product contract they cite is not part of a clone.
READ_BY_USERS = ["README.md", "docs/*.md", "examples/*.py", "sdk/python/README.md", "sdk/python/CHANGELOG.md",
                 "sdk/python/src/vinr/**/*.py"]
NOT_IN_A_CLONE = re.compile(r"\.\./shared|SPEC\.md|SPEC §")


def test_what_users_read_points_at_nothing_outside_the_repository(client: FlaskClient) -> None:
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for pattern in READ_BY_USERS for path in sorted(ROOT.glob(pattern))
             for number, line in enumerate(path.read_text().splitlines(), 1) if NOT_IN_A_CLONE.search(line)]
    assert found == []
    document = json.dumps(client.get("/v1/openapi.json").get_json(), ensure_ascii=False)
    assert NOT_IN_A_CLONE.findall(document) == []
