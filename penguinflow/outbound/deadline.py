"""The one deadline of an outbound exchange, enforced from outside the thread that makes it.

A socket timeout bounds each wait for data, not the exchange: a receiver that sends a byte of its headers or of
its body every few seconds resets it at every byte and can hold the calling thread for days (a webhook sender
thread, a workflow step). So each exchange is watched: when its deadline passes while it still runs, a watchdog
thread (one per process) shuts its connection's socket down, which wakes the blocked read at once; the caller
sees `expired` and reports a timeout.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator

__all__ = ["Exchange", "watched"]

# How late past its deadline an exchange may be ended (the watchdog's resolution).
TICK = 0.1


class Exchange:
    """One request and its answer: its deadline (time.monotonic) and the connection it runs on, once it has one."""

    __slots__ = ("connection", "deadline", "done", "expired", "lock")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.connection = None  # a urllib3 connection: its `sock` is what is shut down
        self.done = False
        self.expired = False
        self.lock = threading.Lock()

    def expire(self) -> None:
        """Called by the watchdog at the deadline: end the exchange unless it has ended already."""
        with self.lock:
            if self.done:
                return
            self.expired = True
            sock = getattr(self.connection, "sock", None)
            if isinstance(sock, socket.socket):
                # The base class's shutdown, also for a TLS socket: it only closes the descriptor's two
                # directions, which the blocked read notices; SSLSocket's own would drop its TLS state under it.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def finish(self) -> None:
        with self.lock:
            self.done = True


class _Watchdog:
    """Exchanges by deadline, and the thread that expires them (started on first use; a forked child starts its
    own, as threads do not survive a fork)."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Exchange]] = []
        self.order = itertools.count()
        self.changed = threading.Condition()
        self.thread: threading.Thread | None = None

    def watch(self, exchange: Exchange) -> None:
        with self.changed:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="outbound-deadline", daemon=True)
                self.thread.start()
            heapq.heappush(self.heap, (exchange.deadline, next(self.order), exchange))
            if self.heap[0][2] is exchange:
                self.changed.notify()

    def _loop(self) -> None:
        while True:
            with self.changed:
                while not self.heap or self.heap[0][0] > time.monotonic():
                    # At most one wake-up a TICK however many requests end: most end long before their
                    # deadline, and waking for each would take the GIL from the threads making them.
                    self.changed.wait(max(self.heap[0][0] - time.monotonic(), TICK) if self.heap else None)
                now = time.monotonic()
                due = []
                while self.heap and self.heap[0][0] <= now:
                    due.append(heapq.heappop(self.heap)[2])
            for exchange in due:
                if not exchange.done:
                    exchange.expire()


_watchdog = _Watchdog()


def _forget_in_child() -> None:
    """A forked child (RQ's work horse) starts with no watchdog thread and maybe a lock held at the fork."""
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_forget_in_child)


@contextlib.contextmanager
def watched(deadline: float) -> Iterator[Exchange]:
    """Watch an exchange that must end by ``deadline`` (time.monotonic()); attach its connection to the yielded
    Exchange as soon as it has one."""
    exchange = Exchange(deadline)
    _watchdog.watch(exchange)
    try:
        yield exchange
    finally:
        exchange.finish()
