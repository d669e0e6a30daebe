from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api
from tests.receiver import Receiver


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture()
def endpoint(api: Api, receiver: Receiver) -> dict[str, Any]:
    return api.ok("POST", "/v1/webhook_endpoints", {"url": receiver.url, "enabled_events": ["*"]})


def advance(api: Api, seconds: int) -> int:
    return int(api.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": seconds})["now"])


class FakeDNS:
    """Answers ``getaddrinfo`` from a table (names not in it do not resolve) and records each lookup."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {}
        self.calls: list[str] = []

    def answer(self, host: str, *ips: str) -> None:
        self.table[host] = list(ips)

    def getaddrinfo(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port, 0, 0)) if ":" in ip
                else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))
                for ip in self.table[host]]


@pytest.fixture()
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    """DNS is outside the product: the addresses module resolves names from this table."""
    fake = FakeDNS()
    monkeypatch.setattr("app.webhooks.addresses.socket.getaddrinfo", fake.getaddrinfo)
    return fake
