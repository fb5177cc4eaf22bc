"""A real HTTP server on 127.0.0.1 (a thread) that records the requests it gets and answers as a test scripts it."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int = 0  # tells one connection from another


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    body: bytes = b'{"ok": true}'
    hold: threading.Event | None = None  # answer only once this is set (a receiver that hangs)
    delay: float = 0.0  # seconds the receiver takes before it answers (a slow one)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: list[Answer] = []  # used in turn; the last one stays
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, *answers: Answer) -> None:
        self.answers = list(answers)

    def next_answer(self) -> Answer:
        with self.lock:
            if len(self.answers) > 1:
                return self.answers.pop(0)
            return self.answers[0] if self.answers else Answer()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with receiver.lock:
                receiver.requests.append(Received(self.command, self.path, dict(self.headers.items()), body,
                                                  self.client_address[1]))
            answer = receiver.next_answer()
            if answer.hold is not None:
                answer.hold.wait(30)
            if answer.delay:
                time.sleep(answer.delay)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may stop reading a long body (the cap)
                self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, *args) -> None:
            pass

    return Handler


@contextlib.contextmanager
def http_serving(handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1 (over TLS with ``tls``, a server-side context) from a thread;
    yield the base URL; stop serving at the end. The local stand-ins of other services (webhook receivers, CRMs,
    social networks) all run this way."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def receiver_server(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """Serve on a free port of 127.0.0.1 (over TLS with ``tls``, a server-side context)."""
    receiver = Receiver()
    with http_serving(_handler(receiver), tls) as url:
        receiver.url = url
        yield receiver
