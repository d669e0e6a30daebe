"""Fixtures: one live VINR (gunicorn on SQLite) per session, clients of it, and the
async test runner (anyio's pytest plugin, on asyncio)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from hypothesis import settings
from live import Server, serve

from vinr import AsyncVinr, Vinr

# Property tests search afresh on each local run; under CI they run the same examples on
# every machine and every run, so a red CI run is reproduced here with CI=true.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() not in ("", "0", "false"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("vinr")) as live:
        yield live


@pytest.fixture(scope="session")
def api_key(server: Server) -> str:
    return server.merchant("SDK Tests GmbH")


@pytest.fixture()
def vinr(server: Server, api_key: str) -> Iterator[Vinr]:
    with Vinr(api_key, base_url=server.url) as client:
        yield client


@pytest.fixture()
def new_merchant(server: Server) -> Iterator[Callable[[], Vinr]]:
    """A client of a merchant of its own, for tests that count what a list holds."""
    clients: list[Vinr] = []

    def make() -> Vinr:
        client = Vinr(server.merchant(f"Merchant {secrets.token_hex(4)}"), base_url=server.url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture()
async def avinr(server: Server, api_key: str) -> AsyncIterator[AsyncVinr]:
    async with AsyncVinr(api_key, base_url=server.url) as client:
        yield client
