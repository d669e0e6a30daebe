from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from app.jobs.worker import Worker
from tests.conftest import Api
from tests.receiver import Receiver


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture()
def run_jobs(app: Flask, db_session: Any) -> Any:
    """Run every job due now, as a worker would (in this thread, in the test's transaction)."""
    worker = Worker(app, worker_id="test-worker")
    return worker.run_due


@pytest.fixture()
def endpoint(api: Api, receiver: Receiver) -> dict[str, Any]:
    return api.ok("POST", "/v1/webhook_endpoints", {"url": receiver.url, "enabled_events": ["*"]})


def advance(api: Api, seconds: int) -> int:
    return int(api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": seconds})["now"])
