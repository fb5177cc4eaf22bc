"""The local HTTP endpoint the webhook benches send to: an asyncio server in a thread of the bench's process.

HTTP/1.1 with keep-alive (a worker's calls share connections); it records when each request's key (read from the
JSON body) first arrived, by the wall clock the step log and the events use, and answers 200, at once or after
`hang` seconds (an endpoint that hangs). Written here rather than taken from a framework: it must add nothing
measurable per request, and these forty lines are the whole of what is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any


class Receiver:
    def __init__(self, key: Callable[[dict[str, Any]], Any], *, hang: float = 0.0) -> None:
        self.key = key
        self.hang = hang
        self.arrived: dict[Any, float] = {}
        self.requests = 0
        self.port = 0
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer the requests of one connection until the client closes it."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                now = time.time()
                self.requests += 1
                self.arrived.setdefault(self.key(json.loads(body)), now)
                if self.hang:
                    await asyncio.sleep(self.hang)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, KeyError):
            pass
        except asyncio.CancelledError:
            # stop() cancels a hanging answer: end quietly (asyncio logs a traceback for a handler that ends
            # cancelled).
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        async def main() -> None:
            server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=2048)
            self.port = server.sockets[0].getsockname()[1]
            self.ready.set()
            async with server:
                await server.serve_forever()

        self.loop = asyncio.new_event_loop()
        with contextlib.suppress(asyncio.CancelledError):  # stop() cancels the server and its connections
            self.loop.run_until_complete(main())

    def start(self) -> Receiver:
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)
        return self

    def stop(self) -> None:
        """Close the server and its open connections (a hanging answer included), without noise at exit."""
        if self.loop is None:
            return

        async def cancel_all() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=10)
