"""A small supervisor for development: start child processes, restart crashed ones, stop all on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field


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
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for child in children:
        child.start()
        out.write(f"started {child.name} (pid {child.process.pid})\n")
    out.flush()
    exit_code = 0
    while not stopping:
        time.sleep(0.5)
        for child in children:
            code = child.process.poll()
            if code is None or stopping:
                continue
            now = time.monotonic()
            child.restarts = [t for t in child.restarts if now - t < 60] + [now]
            if len(child.restarts) > max_restarts_per_minute:
                out.write(f"{child.name} exited {max_restarts_per_minute} times in a minute (code {code}); stopping\n")
                stopping, exit_code = True, 1
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
