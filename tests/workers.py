"""Real ``flask --app wsgi worker`` processes on the test database, for process tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


class Workers:
    def __init__(self, database_url: str, logs: Path, extra_env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.logs = logs
        self.extra_env = extra_env or {}
        self.processes: list[subprocess.Popen[bytes]] = []
        self._files: list[Any] = []
        self._logs: dict[int, Path] = {}

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "VINR_DATABASE_URL": self.database_url, "VINR_SECRET_KEY": "test-secret-key-0123456789",
               "VINR_PUBLIC_URL": "https://pay.example.test", **self.extra_env}
        path = self.logs / f"worker-{len(self.processes)}.log"
        log = path.open("wb")
        self._files.append(log)
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", *args], cwd=ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        self._logs[process.pid] = path
        return process

    def output(self, process: subprocess.Popen[bytes]) -> str:
        """What ``process`` has logged so far."""
        return self._logs[process.pid].read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in self._files:
            log.close()
