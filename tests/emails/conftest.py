"""The emails' fixtures: a real SMTP server (aiosmtpd) the app sends to, and the worker's jobs run in process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from app.worker.runner import Worker
from tests.emails.smtp import SmtpServer


@pytest.fixture()
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    monkeypatch.setitem(app.config, "SMTP_URL", server.url)
    yield server
    server.stop()


@pytest.fixture()
def run_jobs(app: Flask, db_session: Any) -> Any:
    return Worker(app, worker_id="test-worker").run_due
