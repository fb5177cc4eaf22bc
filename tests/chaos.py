"""What the chaos tests share (workers killed with kill -9, real processes on a shared machine): waiting on a
condition by a generous deadline, never a fixed sleep; and the environment that points a child process (an RQ
worker, the scheduler) at the test run's own database and Redis."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], object], *, what: str, timeout: float = 120.0, poll: float = 0.05) -> None:
    """Return as soon as `condition()` is true; fail naming `what` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def process_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that works on the test database (and the test run's Redis, which the
    test settings put in REDIS_URL), with `extra` variables."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "penguinflow.settings.test",
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        **extra,
    }


def read_through_outages(read: Callable[[], T], *, timeout: float = 120.0) -> T:
    """`read()`, tried again on a fresh connection while the database is unreachable (a terminated backend, a
    restarting server) for up to `timeout` seconds: the chaos tests watch the runtime through the faults they
    inflict on it."""
    from django.db import connection

    from penguinflow.common.db import CONNECTION_ERRORS

    deadline = time.monotonic() + timeout
    while True:
        try:
            return read()
        except CONNECTION_ERRORS:
            if time.monotonic() > deadline:
                raise
            with contextlib.suppress(Exception):
                connection.close()  # a broken connection is dropped; the next read opens a new one
            time.sleep(0.2)
