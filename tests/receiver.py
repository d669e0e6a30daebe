"""A merchant's webhook receiver for tests: a real HTTP server on 127.0.0.1 that
records what it is sent and answers as told."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # a worker opens many connections at once; the default backlog is 5


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._replies: deque[Reply] = deque()
        self.default = Reply()
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a merchant's server would
            # The answer goes out in one write when the handler flushes: a second small write
            # would wait on the sender's delayed ACK (Nagle), 40 ms a request.
            wbufsize = 64 * 1024

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    reply = receiver._replies.popleft() if receiver._replies else receiver.default
                if reply.delay:
                    time.sleep(reply.delay)
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body, time.time()))
                    receiver._lock.notify_all()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender timed out and left

            def log_message(self, *_args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def reply(self, *replies: Reply) -> None:
        """The next answers, in order; after them, ``default``."""
        with self._lock:
            self._replies.extend(replies)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.time() + timeout
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"received {len(self.received)} requests, expected {count}")
                self._lock.wait(left)
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
