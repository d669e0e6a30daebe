"""One webhook POST, against real HTTP(S) servers on 127.0.0.1 (SPEC §4 "Delivery")."""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from app.webhooks import transport
from app.webhooks.addresses import Destination
from app.webhooks.transport import Sent, parse_retry_after, post
from tests.webhooks.hostile import (
    Behaviour,
    HostileReceiver,
    stall_after_headers,
    stream_endlessly,
    trickle_body,
    trickle_headers,
)

BODY = b'{"id":"evt_1","object":"event","type":"invoice.paid"}'
HEADERS = {"x-vinr-signature": "t=1700000000,v1=abc", "webhook-id": "evt_1"}


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    wait: bool = False  # hold the answer until the test ends
    gather: int = 0  # hold each answer until this many requests are in


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


class Server:
    """A real HTTP/1.1 server (keep-alive) on 127.0.0.1 that records what it receives."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.seen: list[Seen] = []
        self.released = threading.Event()
        self.arrived = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                if tls is not None:
                    self.request.do_handshake()
                super().setup()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with server.arrived:
                    server.seen.append(Seen(self.path, dict(self.headers.items()), body, self.client_address[1]))
                    server.arrived.notify_all()
                    server.arrived.wait_for(lambda: len(server.seen) % max(server.answer.gather, 1) == 0, 10)
                if server.answer.wait:
                    server.released.wait(10)
                self.send_response(server.answer.status)
                for name, value in server.answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(server.answer.body)))
                self.end_headers()
                self.wfile.write(server.answer.body)

            def log_message(self, *args: Any) -> None:
                pass

        class HTTPServer(ThreadingHTTPServer):
            request_queue_size = 128  # tests open many connections at once

            def get_request(self) -> tuple[Any, Any]:
                sock, address = super().get_request()
                if tls is not None:  # handshake in the handler's thread, not the accepting one
                    sock = tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                return sock, address

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (timeout, failed TLS) is what some tests are about

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def destination(self, host: str = "hooks.test", scheme: str = "http", target: str = "/hooks") -> Destination:
        return Destination(scheme=scheme, host=host, port=self.port, address="127.0.0.1", target=target)

    def close(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture(autouse=True)
def _fresh_pools() -> Iterator[None]:
    yield
    transport.close_pools()  # each test starts without kept connections, and leaves no open socket


@pytest.fixture()
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(answer: Answer | None = None, tls: ssl.SSLContext | None = None) -> Server:
        servers.append(Server(answer or Answer(), tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture()
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail the test if anything resolves a name; record the (numeric) lookups urllib3 makes."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        ipaddress.ip_address(host)  # raises ValueError for a name: the transport must not look one up
        lookups.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server_context(ca: trustme.CA, name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    return context


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_a_2xx_answer_is_success_and_the_server_gets_the_event(serve: Callable[..., Server]) -> None:
    server = serve(Answer(204))

    sent = post(server.destination(target="/hooks?source=vinr"), BODY, HEADERS)

    assert sent.ok and sent.status == 204 and sent.error is None and sent.retry_after is None
    assert sent.duration_ms >= 0
    [seen] = server.seen
    assert seen.path == "/hooks?source=vinr"
    assert seen.body == BODY
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["User-Agent"] == "VINR-Webhooks/1"
    assert seen.headers["x-vinr-signature"] == "t=1700000000,v1=abc"
    assert seen.headers["webhook-id"] == "evt_1"


def test_the_host_header_names_the_url_host_while_the_connection_goes_to_the_pinned_address(
        serve: Callable[..., Server], no_dns: list[str]) -> None:
    server = serve()

    sent = post(server.destination(host="hooks.test"), BODY, {**HEADERS, "Host": "attacker.example"})

    assert sent.ok
    assert server.seen[0].headers["Host"] == f"hooks.test:{server.port}"
    assert no_dns == ["127.0.0.1"]  # "hooks.test" was never resolved: it does not exist


def test_a_500_is_a_failure_with_its_status(serve: Callable[..., Server]) -> None:
    server = serve(Answer(500, body=b'{"error":"boom"}'))

    sent = post(server.destination(), BODY, HEADERS)

    assert sent == Sent(status=500, error=None, retry_after=None, duration_ms=sent.duration_ms)
    assert not sent.ok
    assert server.seen[0].body == BODY


def test_a_redirect_is_not_followed_and_is_a_failure(serve: Callable[..., Server]) -> None:
    elsewhere = serve()
    location = f"http://127.0.0.1:{elsewhere.port}/stolen"
    server = serve(Answer(301, headers={"Location": location}))

    sent = post(server.destination(), BODY, HEADERS)

    assert sent.status == 301
    assert sent.error == f"redirect: 301 to {location} is not followed"
    assert not sent.ok
    time.sleep(0.1)
    assert elsewhere.seen == []


def test_retry_after_in_seconds_is_reported(serve: Callable[..., Server]) -> None:
    server = serve(Answer(503, headers={"Retry-After": "120"}))

    sent = post(server.destination(), BODY, HEADERS)

    assert (sent.status, sent.retry_after, sent.ok) == (503, 120, False)


def test_retry_after_as_an_http_date_is_reported_in_seconds(serve: Callable[..., Server]) -> None:
    server = serve(Answer(429, headers={"Retry-After": email.utils.formatdate(time.time() + 90, usegmt=True)}))

    sent = post(server.destination(), BODY, HEADERS)

    assert sent.status == 429
    assert sent.retry_after is not None and 88 <= sent.retry_after <= 91


def test_a_garbled_retry_after_is_ignored(serve: Callable[..., Server]) -> None:
    server = serve(Answer(503, headers={"Retry-After": "soon, maybe"}))

    assert post(server.destination(), BODY, HEADERS).retry_after is None


@pytest.mark.parametrize(("value", "seconds"), [
    ("0", 0), (" 7 ", 7), ("-5", None), ("1.5", None), ("", None), (None, None), ("١٢", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0),  # in the past: retry now
    ("Wed, 21 Oct 2015 07:28:00 -0000", None),  # no zone: not an HTTP-date
])
def test_retry_after_values(value: str | None, seconds: int | None) -> None:
    assert parse_retry_after(value) == seconds


def test_a_server_slower_than_the_timeout_is_a_timeout(serve: Callable[..., Server]) -> None:
    server = serve(Answer(wait=True))

    started = time.monotonic()
    sent = post(server.destination(), BODY, HEADERS, timeout=0.5)
    elapsed = time.monotonic() - started

    assert sent.status is None and not sent.ok
    assert sent.error == "timeout: no answer within 0.5 s"
    assert 0.4 <= elapsed < 2.0
    assert 400 <= sent.duration_ms < 2000


DEADLINE = 1.0  # seconds; each hostile receiver's answer would take 20 s


@pytest.mark.slow  # each waits out its deadline
@pytest.mark.parametrize("behaviour", [trickle_headers, trickle_body, stall_after_headers, stream_endlessly])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_receiver_cannot_hold_a_delivery_past_the_deadline(behaviour: Behaviour, scheme: str,
                                                             ca: trustme.CA) -> None:
    receiver = HostileReceiver(behaviour, tls=tls_server_context(ca, "hooks.test") if scheme == "https" else None)
    try:
        started = time.monotonic()
        sent = post(Destination(scheme, "hooks.test", receiver.port, "127.0.0.1", "/hooks"), BODY, HEADERS,
                    timeout=DEADLINE, ssl_context=trusting(ca))
        elapsed = time.monotonic() - started
    finally:
        receiver.close()

    assert receiver.requests == 1
    assert not sent.ok
    assert sent.error is not None and sent.error.startswith("timeout: "), sent.error
    assert elapsed < 2 * DEADLINE  # a bound on behaviour (the answer lasts 20 s), not a benchmark


def stream_fast() -> Iterator[bytes]:
    yield b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    while True:
        yield b"8000\r\n" + b"x" * 0x8000 + b"\r\n"


def test_an_endless_fast_body_is_read_only_up_to_the_limit() -> None:
    receiver = HostileReceiver(stream_fast)
    try:
        sent = post(Destination("http", "hooks.test", receiver.port, "127.0.0.1", "/hooks"), BODY, HEADERS,
                    timeout=5.0)
    finally:
        receiver.close()

    assert sent.ok, sent.error  # the status came in time, and no more than BODY_LIMIT of the body was waited for


def test_a_closed_port_is_a_connection_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused

        sent = post(Destination("http", "hooks.test", port, "127.0.0.1", "/"), BODY, HEADERS, timeout=2)

    assert sent.status is None and not sent.ok
    assert sent.error is not None and sent.error.startswith("connection_failed: ")
    assert "refused" in sent.error.lower()


def test_https_is_verified_against_the_url_host_while_connected_to_the_pinned_address(
        serve: Callable[..., Server], ca: trustme.CA, no_dns: list[str]) -> None:
    server = serve(tls=tls_server_context(ca, "hooks.test"))

    sent = post(server.destination(scheme="https"), BODY, HEADERS, ssl_context=trusting(ca))

    assert sent.ok, sent.error
    assert server.seen[0].headers["Host"] == f"hooks.test:{server.port}"
    assert no_dns == ["127.0.0.1"]


def test_https_trusts_a_ca_file_given_by_path(serve: Callable[..., Server], ca: trustme.CA, tmp_path: Path) -> None:
    server = serve(tls=tls_server_context(ca, "hooks.test"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))

    sent = post(server.destination(scheme="https"), BODY, HEADERS, ca_certs=str(tmp_path / "ca.pem"))

    assert sent.ok, sent.error


def test_https_with_a_certificate_for_another_name_fails(serve: Callable[..., Server], ca: trustme.CA) -> None:
    server = serve(tls=tls_server_context(ca, "other.test"))

    sent = post(server.destination(scheme="https"), BODY, HEADERS, ssl_context=trusting(ca))

    assert sent.status is None and not sent.ok
    assert sent.error is not None and sent.error.startswith("tls_failed: ")
    assert "hooks.test" in sent.error
    assert server.seen == []


def test_https_verifies_certificates_by_default(serve: Callable[..., Server], ca: trustme.CA) -> None:
    server = serve(tls=tls_server_context(ca, "hooks.test"))

    sent = post(server.destination(scheme="https"), BODY, HEADERS)  # certifi's CAs do not include ours

    assert sent.error is not None and "certificate verify failed" in sent.error
    assert server.seen == []


def test_consecutive_deliveries_reuse_the_connection(serve: Callable[..., Server]) -> None:
    server = serve()

    assert post(server.destination(), BODY, HEADERS).ok
    assert post(server.destination(), BODY, HEADERS).ok

    assert server.seen[0].client_port == server.seen[1].client_port


def test_a_long_answer_is_cut_short_and_the_next_delivery_still_works(serve: Callable[..., Server]) -> None:
    server = serve(Answer(200, body=b"x" * (transport.BODY_LIMIT * 4)))

    assert post(server.destination(), BODY, HEADERS).ok
    server.answer = Answer(202)
    second = post(server.destination(), BODY, HEADERS)

    assert second.ok and second.status == 202
    assert server.seen[1].body == BODY
    assert server.seen[0].client_port != server.seen[1].client_port  # unread bytes: the connection was not reused


def test_concurrent_deliveries_from_threads(serve: Callable[..., Server]) -> None:
    server = serve()
    results: list[Sent] = []

    def deliver() -> None:
        for _ in range(5):
            results.append(post(server.destination(), BODY, HEADERS))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(results) == 40 and all(sent.ok for sent in results)
    assert len(server.seen) == 40


def test_kept_connections_are_bounded(serve: Callable[..., Server]) -> None:
    server = serve()

    for i in range(transport.POOL_LIMIT + 8):
        assert post(server.destination(host=f"h{i}.test"), BODY, HEADERS).ok

    assert len(transport._pools) == transport.POOL_LIMIT
    assert server.seen[-1].headers["Host"] == f"h{transport.POOL_LIMIT + 7}.test:{server.port}"


def test_as_many_connections_are_kept_as_deliveries_run_at_once(serve: Callable[..., Server],
                                                                caplog: pytest.LogCaptureFixture) -> None:
    at_once = 3 * transport.CONNECTIONS_PER_POOL  # e.g. three worker threads, each sending a unit of work
    server = serve(Answer(gather=at_once))  # every answer waits until all the requests are in

    def burst() -> set[int]:
        before = len(server.seen)
        threads = [threading.Thread(target=lambda: results.append(post(server.destination(), BODY, HEADERS)))
                   for _ in range(at_once)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        return {seen.client_port for seen in server.seen[before:]}

    results: list[Sent] = []
    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
        burst()
        second = burst()
        third = burst()

    assert len(results) == 3 * at_once and all(sent.ok for sent in results)
    assert "Connection pool is full" not in caplog.text
    assert third <= second  # the connections of a burst are kept for the next one
