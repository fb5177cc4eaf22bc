"""A hostile HTTP endpoint on 127.0.0.1 (a thread per connection, raw sockets): it reads the request, then answers
in a way no honest server does, until the client hangs up or the server stops.

- `trickle_headers`: a status line, then one byte of a header every TICK seconds, forever;
- `trickle_body`: a complete head, then a chunked body of one byte every TICK seconds, forever;
- `endless`: a complete head, then a chunked body as fast as the client reads it, forever.

Each byte resets a socket timeout, so only a deadline on the whole exchange stops the first two.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

TICK = 0.2
MODES = ("trickle_headers", "trickle_body", "endless")


@dataclass
class Hostile:
    mode: str
    url: str = ""
    requests: int = 0
    hung_up: int = 0  # connections the client ended while the answer was still going
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _read_request(conn: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        body += chunk
    return True


def _answer(hostile: Hostile, conn: socket.socket) -> None:
    if hostile.mode == "trickle_headers":
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        piece, pause = b"x", TICK
    else:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece, pause = (b"1\r\nx\r\n", TICK) if hostile.mode == "trickle_body" else (b"400\r\n" + b"x" * 1024 + b"\r\n", 0)
    while not hostile.stop.wait(pause):
        conn.sendall(piece)


def _serve_one(hostile: Hostile, conn: socket.socket) -> None:
    with conn:
        try:
            if not _read_request(conn):
                return
            with hostile.lock:
                hostile.requests += 1
            _answer(hostile, conn)
        except OSError:
            with hostile.lock:
                hostile.hung_up += 1


@contextlib.contextmanager
def hostile_server(mode: str) -> Iterator[Hostile]:
    """Serve ``mode`` (one of MODES) on a free port of 127.0.0.1 until the block ends."""
    assert mode in MODES, mode
    hostile = Hostile(mode)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    hostile.url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def accept() -> None:
        while not hostile.stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=_serve_one, args=(hostile, conn), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield hostile
    finally:
        hostile.stop.set()
        thread.join(timeout=5)
        listener.close()
