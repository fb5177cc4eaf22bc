"""Which Redis database a test process uses: one that no other live test process on this machine holds.

Tests enqueue real RQ jobs and run them with real workers. Two processes on one Redis database share queues: one's
workers take the other's jobs and run them against their own test database, where the rows do not exist, so the
jobs do nothing and the other's tests wait on work that never happens. Picking a database by pid alone made that
rare, not impossible (two runs on one machine, or a run beside a bench). So a test process claims its database:
a marker key set only if absent (SET NX), holding its pid; a marker whose pid is gone (a run killed with -9) is
taken over; the marker is removed at exit.

Databases: 0 is a running PenguinFlow's and the benches use 11-13 (BENCH_REDIS_DB), so tests claim among 1-10.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import MutableMapping

import redis

TEST_DATABASES = tuple(range(1, 11))
MARKER = "penguinflow:test-process"

# Compare-and-set in one step: two processes that both find a dead holder must not both take its database.
_TAKE_OVER = "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2]) return 1 end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def database_of_this_process(url: str, environ: MutableMapping[str, str]) -> int:
    """The Redis database this test process uses, claimed where it is the first of its kind; `environ` carries the
    choice to the processes it starts.

    - The first process of a test run (pytest, or a command under the test settings) claims one:
      PENGUINFLOW_TEST_REDIS_DB, when set, names it (refused if another live test process holds it).
    - Each pytest-xdist worker (gw0, gw1, ...) claims one of its own: tests empty and flush their queues.
    - A process a test started (a worker, a scheduler) uses its test's.
    """
    asked, worker = environ.get("PENGUINFLOW_TEST_REDIS_DB"), environ.get("PYTEST_XDIST_WORKER", "")
    if "PENGUINFLOW_TEST_REDIS_HOLDER" not in environ:
        database = claim(url, preferred=int(asked) if asked else 1 + os.getpid() % len(TEST_DATABASES),
                         exact=bool(asked))
    elif worker.startswith("gw") and environ.get("PENGUINFLOW_TEST_REDIS_WORKER") != worker:
        database = claim(url, preferred=1 + (int(asked or 0) + int(worker[2:])) % len(TEST_DATABASES))
    else:
        return int(asked or 0)
    environ.update(PENGUINFLOW_TEST_REDIS_DB=str(database), PENGUINFLOW_TEST_REDIS_HOLDER=str(os.getpid()),
                   PENGUINFLOW_TEST_REDIS_WORKER=worker)
    return database


class DatabaseHeld(RuntimeError):
    """The Redis database asked for by name is held by another live test process."""


def claim(url: str, *, preferred: int, exact: bool = False) -> int:
    """Claim a test database for this process, trying `preferred` first, then the others in turn (with `exact`,
    only `preferred`: it was asked for by name). Returns its number; it is released when this process exits."""
    order = [preferred] if exact else _search_order(preferred)
    for database in order:
        client = redis.Redis.from_url(url, db=database)
        try:
            taken = _take(client)
        except redis.ConnectionError:  # no Redis: nothing to share either; what needs it says so when it runs
            return preferred
        if taken:
            atexit.register(_release, client, str(os.getpid()))
            return database
    if exact:
        raise DatabaseHeld(f"Redis database {preferred} (PENGUINFLOW_TEST_REDIS_DB) is held by the live test "
                           f"process {_holder(redis.Redis.from_url(url, db=preferred))}: choose another, or unset it")
    raise DatabaseHeld(f"every test Redis database ({TEST_DATABASES[0]}-{TEST_DATABASES[-1]}) is held by a live "
                       "test process")


def _search_order(preferred: int) -> list[int]:
    start = TEST_DATABASES.index(preferred) if preferred in TEST_DATABASES else 0
    return [*TEST_DATABASES[start:], *TEST_DATABASES[:start]]


def _take(client: redis.Redis) -> bool:
    pid = str(os.getpid())
    if client.set(MARKER, pid, nx=True):
        return True
    holder = _holder(client)
    if holder is None:  # released between our SET and GET: try once more
        return bool(client.set(MARKER, pid, nx=True))
    if holder == pid or not holder.isdigit() or not _alive(int(holder)):
        return bool(client.eval(_TAKE_OVER, 1, MARKER, holder, pid))
    return False


def _holder(client: redis.Redis) -> str | None:
    value = client.get(MARKER)
    return value.decode() if value is not None else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _release(client: redis.Redis, pid: str) -> None:
    with contextlib.suppress(redis.RedisError):  # Redis gone at exit: the next claim finds the pid dead
        client.eval(_RELEASE, 1, MARKER, pid)
