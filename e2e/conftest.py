"""End-to-end suite: a real gunicorn server, Debian's Chromium, the hosted page as a customer uses it.

Run from the repository root:

    .venv/bin/python -m pytest -p no:cacheprovider e2e

One server and one browser serve the whole session; every test makes its own
customer and invoice through the real merchant API (``requests``), so tests
never depend on each other. Screenshots of every state and the server's log
are written to ``e2e/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Request, Response, expect

from e2e.server import LiveServer, free_port, gunicorn
from e2e.support import ARTIFACTS, MERCHANT_NAME, MERCHANT_PREFIX, Api

CHROMIUM = "/usr/bin/chromium"
DEFAULT_TIMEOUT_MS = 15_000


# --------------------------------------------------------------------------- pytest settings

def pytest_configure(config: pytest.Config) -> None:
    # pytest-playwright wipes its --output folder at session start; keep it inside
    # our git-ignored artifacts instead of a "test-results/" at the repository root.
    if getattr(config.option, "output", None) == "test-results":
        config.option.output = str(ARTIFACTS / "test-results")
    # A failed test leaves a full-page screenshot there (unless --screenshot says otherwise).
    if getattr(config.option, "screenshot", None) == "off":
        config.option.screenshot = "only-on-failure"
        config.option.full_page_screenshot = True
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # The same patience for assertions (expect) as for actions: the suite shares 2 cores.
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)


# --------------------------------------------------------------------------- live server

@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path_factory.mktemp("e2e-server")
    env = {
        **os.environ,
        "VINR_DATABASE_URL": f"sqlite:///{data_dir / 'e2e.sqlite3'}",
        "VINR_SECRET_KEY": secrets.token_urlsafe(48),
        "VINR_PUBLIC_URL": url,
        # Every test comes from 127.0.0.1; the per-invoice limit keeps its default.
        "VINR_CARD_ATTEMPTS_PER_ADDRESS": "1000 per hour",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("VINR_REDIS_URL", "VINR_SMTP_URL", "VINR_PROCESSOR_URL", "VINR_PROCESSOR_KEY",
                 "VINR_CARD_ATTEMPTS_PER_INVOICE"):
        env.pop(name, None)  # nothing from the developer's shell leaks into the run
    server = LiveServer(url=url, env=env, log_path=ARTIFACTS / "server.log")
    server.cli("db", "upgrade")
    server.merchant(MERCHANT_NAME, MERCHANT_PREFIX)
    with gunicorn(env, port, server.log_path):
        yield server


# --------------------------------------------------------------------------- merchant API

@pytest.fixture(scope="session")
def api(live_server: LiveServer) -> Api:
    return Api(live_server.url, live_server.merchants[MERCHANT_NAME].key)


@pytest.fixture(scope="session")
def merchant_api(live_server: LiveServer) -> Callable[[str, str], Api]:
    """An API client for another merchant (own branding), created on first use."""
    def make(name: str, prefix: str) -> Api:
        return Api(live_server.url, live_server.merchant(name, prefix).key)
    return make


@pytest.fixture()
def customer(api: Api) -> dict[str, Any]:
    return api.customer()


@pytest.fixture()
def invoice(api: Api, customer: dict[str, Any]) -> dict[str, Any]:
    return api.hosted_invoice(customer["id"])


# --------------------------------------------------------------------------- browser

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"],
    }


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    return live_server.url


@dataclass
class NetworkLog:
    """What went wrong on the wire while a test ran: failed requests and server errors."""

    problems: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        context.on("requestfailed", self._failed)
        context.on("response", self._response)

    def _failed(self, request: Request) -> None:
        if request.failure == "net::ERR_ABORTED" and request.resource_type == "document":
            return  # a navigation that became a download (Download PDF)
        self.problems.append(f"{request.method} {request.url} failed: {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 500 or (response.status >= 400 and response.request.resource_type != "document"
                                      and not response.url.endswith("/favicon.ico")):
            self.problems.append(f"{response.request.method} {response.url} -> {response.status}")


@pytest.fixture()
def network_log() -> Iterator[NetworkLog]:
    log = NetworkLog()
    yield log
    assert not log.problems, "network problems during the test:\n" + "\n".join(log.problems)


@pytest.fixture()
def new_context(new_context: Callable[..., BrowserContext], network_log: NetworkLog) -> Callable[..., BrowserContext]:
    """pytest-playwright's factory: a 15 s default timeout, and every request watched."""
    def make(**kwargs: Any) -> BrowserContext:
        context = new_context(**kwargs)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        network_log.watch(context)
        return context
    return make
