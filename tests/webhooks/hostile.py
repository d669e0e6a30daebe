"""Webhook receivers that try to hold the sender: real TCP servers on 127.0.0.1 that
read the request, then answer as slowly as they like (SPEC §4: the 10 s bound the
whole exchange). Each one stops when the test closes it or the sender hangs up."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Final

# One byte of the answer every STEP seconds: each socket read gets its byte well
# within any read timeout, so only a bound on the whole exchange ends it.
STEP: Final = 0.05
_STATUS: Final = b"HTTP/1.1 200 OK\r\n"
_PADDING: Final = b"X-Padding: " + b"p" * 400 + b"\r\n"  # 20 s of headers at STEP


def trickle_headers() -> Iterator[bytes]:
    """The status line and headers, one byte at a time (about 20 s), then an empty body."""
    for byte in _STATUS + _PADDING + b"Content-Length: 0\r\n\r\n":
        yield bytes([byte])


def trickle_body() -> Iterator[bytes]:
    """Headers at once, then a 400-byte body one byte at a time (about 20 s)."""
    yield _STATUS + b"Content-Length: 400\r\n\r\n"
    for _ in range(400):
        yield b"x"


def stall_after_headers() -> Iterator[bytes]:
    """Headers at once announcing a body that never comes."""
    yield _STATUS + b"Content-Length: 100\r\n\r\n"
    while True:
        yield b""  # nothing, for ever


def stream_endlessly() -> Iterator[bytes]:
    """A chunked body that never ends, a small chunk at a time."""
    yield _STATUS + b"Transfer-Encoding: chunked\r\n\r\n"
    while True:
        yield b"1\r\nx\r\n"


Behaviour = Callable[[], Iterator[bytes]]


class HostileReceiver:
    """Accepts connections, reads one request on each, and answers with ``behaviour``:
    one piece every :data:`STEP` seconds; over TLS when given a server ``tls`` context."""

    def __init__(self, behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self.tls = tls
        self.closed = threading.Event()
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(STEP)  # accept() looks at ``closed`` this often
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def close(self) -> None:
        self.closed.set()
        for thread in [self._accepting, *self._threads]:
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._answer, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, connection: socket.socket) -> None:
        if self.tls is not None:
            try:
                connection.settimeout(10)
                connection = self.tls.wrap_socket(connection, server_side=True)
            except OSError:
                connection.close()
                return
        with connection:
            if not self._read_request(connection):
                return
            self.requests += 1
            for piece in self.behaviour():
                if self.closed.wait(STEP):
                    return
                try:
                    if piece:
                        connection.sendall(piece)
                except OSError:
                    return  # the sender gave up

    @staticmethod
    def _read_request(connection: socket.socket) -> bool:
        data = b""
        connection.settimeout(10)
        try:
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return False
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                chunk = connection.recv(65536)
                if not chunk:
                    return False
                body += chunk
        except OSError:
            return False
        return True
