"""A POST whose answer is lost on the way back is retried with the same Idempotency-Key,
and the server replays its first answer instead of doing the work twice.

A tiny TCP proxy sits between the SDK and the live server: it forwards each
request and, for the first ones it is told to drop, waits for the server's whole
answer (so the work is done and committed) and then closes the SDK's connection
without relaying a byte of it.
"""

from __future__ import annotations

import re
import secrets
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from live import Server

from vinr import Vinr

CARD_OK = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}


def read_message(sock: socket.socket) -> bytes:
    """One HTTP/1.1 message (head and Content-Length body) from ``sock``; b"" when it closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def header(message: bytes, name: str) -> str | None:
    match = re.search(rb"(?im)^" + re.escape(name.encode()) + rb":\s*(.*?)\s*$", message.partition(b"\r\n\r\n")[0])
    return match.group(1).decode() if match else None


@dataclass
class DroppingProxy:
    upstream: tuple[str, int]
    drop: int  # how many answers to lose, first come first
    requests: list[bytes] = field(default_factory=list)
    answers: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        proxy = self

        class Relay(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy.relay(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Relay)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def relay(self, client: socket.socket) -> None:
        with socket.create_connection(self.upstream) as upstream:
            while request := read_message(client):
                upstream.sendall(request)
                answer = read_message(upstream)
                with self._lock:
                    self.requests.append(request)
                    self.answers.append(answer)
                    lose = self.drop > 0
                    self.drop -= lose
                if lose:
                    client.shutdown(socket.SHUT_RDWR)
                    return
                client.sendall(answer)


@pytest.fixture()
def proxy(server: Server) -> Iterator[DroppingProxy]:
    port = int(server.url.rsplit(":", 1)[1])
    dropping = DroppingProxy(("127.0.0.1", port), drop=1)
    yield dropping
    dropping.close()


def test_a_create_whose_answer_was_lost_is_replayed_not_repeated(proxy: DroppingProxy, server: Server,
                                                                 api_key: str) -> None:
    email = f"dropped-{secrets.token_hex(4)}@example.com"
    with Vinr(api_key, base_url=proxy.url) as client:
        customer = client.customers.create(email=email)
    keys = [header(request, "Idempotency-Key") for request in proxy.requests]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    assert header(proxy.answers[1], "Idempotent-Replayed") == "true"
    with Vinr(api_key, base_url=server.url) as direct:
        assert [c.id for c in direct.customers.list(email=email)] == [customer.id]


def test_a_payment_whose_answer_was_lost_charges_once(proxy: DroppingProxy, server: Server, vinr: Vinr,
                                                      api_key: str) -> None:
    customer = vinr.customers.create(email="dropped-pay@example.com")
    vinr.customers.payment_methods.create(customer.id, card=CARD_OK, set_default=True)  # type: ignore[arg-type]
    invoice = vinr.invoices.create(customer=customer.id)
    vinr.invoices.add_line_item(invoice.id, description="Design", unit_amount=120000)
    invoice = vinr.invoices.finalize(invoice.id, auto_advance=False)
    with Vinr(api_key, base_url=proxy.url) as client:
        paid = client.invoices.pay(invoice.id)
    assert paid.status == "paid" and len(proxy.requests) == 2
    assert header(proxy.requests[0], "Idempotency-Key") == header(proxy.requests[1], "Idempotency-Key")
    payments = vinr.payments.list(invoice=invoice.id)
    assert [p.id for p in payments] == [paid.payment] and payments.data[0].amount == 120000
