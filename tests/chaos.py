"""What the chaos tests share (workers killed with kill -9, real processes on a shared machine): waiting on a
condition by a generous deadline, never a fixed sleep; the environment that points a child process (an RQ
worker, the scheduler) at the test run's own database and Redis; and PostgreSQL dropping a connection
(`pg_terminate_backend`, as an administrator, a failover or a restart does), at a moment the test chooses."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

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


def backend_pid() -> int:
    """The pid of the PostgreSQL backend behind this thread's Django connection (opened if need be)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def backend_terminate(pid: int, *, timeout: float = 60.0) -> None:
    """Drop the backend `pid` with `pg_terminate_backend`, from a connection of its own, and return once it is
    gone (the signal is asynchronous: the next statement of its client must find it dead, not still running)."""
    import psycopg
    from django.db import connection

    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or "postgres",
                         dbname="postgres", autocommit=True) as admin:  # fmt: skip
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        wait_for(lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() == (0,),
                 what=f"backend {pid} to exit", timeout=timeout)  # fmt: skip


class AcceptingProvider(Protocol):
    """A local provider (the SMTP recorder, the Twilio stand-in, the push service) that calls `on_accepted` once
    it has taken a message, before it answers."""

    on_accepted: Callable[[], None] | None


@contextlib.contextmanager
def connection_dropped_when(*, accepted_by: AcceptingProvider) -> Iterator[list[int]]:
    """Within the block, terminate the backend of this thread's Django connection when `accepted_by` has taken
    the first message, before it answers: the sender learns the message went out with the connection that is to
    record it already dropped. Yield the pids terminated (one, once it happened)."""
    pid, dropped, lock = backend_pid(), [], threading.Lock()

    def drop() -> None:
        with lock:
            if not dropped:
                backend_terminate(pid)
                dropped.append(pid)

    accepted_by.on_accepted = drop
    try:
        yield dropped
    finally:
        accepted_by.on_accepted = None
