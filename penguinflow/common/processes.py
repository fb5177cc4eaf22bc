"""Long-running processes: stopping on a signal, and a small supervisor for development (start child processes,
restart crashed ones, stop all on Ctrl-C)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field


def stop_on_signals() -> threading.Event:
    """Return an event that SIGTERM or SIGINT sets: a loop polls it to finish its current round and stop."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
    return stopping


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv)


def supervise(children: list[Child], *, out=sys.stdout, max_restarts_per_minute: int = 5) -> int:
    """Run the children until a signal arrives; restart one that dies, unless it keeps dying."""
    stopping = stop_on_signals()
    for child in children:
        child.start()
        out.write(f"started {child.name} (pid {child.process.pid})\n")
    out.flush()
    exit_code = 0
    while not stopping.is_set():
        time.sleep(0.5)
        for child in children:
            code = child.process.poll()
            if code is None or stopping.is_set():
                continue
            now = time.monotonic()
            child.restarts = [t for t in child.restarts if now - t < 60] + [now]
            if len(child.restarts) > max_restarts_per_minute:
                out.write(f"{child.name} exited {max_restarts_per_minute} times in a minute (code {code}); stopping\n")
                stopping.set()
                exit_code = 1
                break
            out.write(f"{child.name} exited with code {code}; restarting\n")
            child.start()
        out.flush()
    for child in children:
        if child.process and child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + 10
    for child in children:
        if child.process:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
    return exit_code
