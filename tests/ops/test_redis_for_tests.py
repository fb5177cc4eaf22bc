"""Test processes claim their Redis databases: a database another live test process holds is never shared (its
workers would take this run's jobs and run them against the wrong test database), a dead holder's is taken over,
and the claim ends with the process. Against a Redis server of the test's own: the shared one's markers belong to
the test processes running now."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from penguinflow.settings import redis_for_tests
from tests.workflows.test_chaos import RedisProcess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def server(tmp_path):
    process = RedisProcess(tmp_path)
    process.start()
    yield f"redis://127.0.0.1:{process.port}"
    process.kill()


def _marker(url: str, database: int) -> str | None:
    value = redis.Redis.from_url(url, db=database).get(redis_for_tests.MARKER)
    return value.decode() if value is not None else None


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_database_a_live_process_holds_is_skipped(server):
    redis.Redis.from_url(server, db=4).set(redis_for_tests.MARKER, str(os.getppid()))  # pytest's parent: alive

    assert redis_for_tests.claim(server, preferred=4) == 5
    assert _marker(server, 5) == str(os.getpid())
    assert _marker(server, 4) == str(os.getppid())


def test_the_search_wraps_around_the_test_databases_and_never_reaches_the_benches(server):
    for database in (9, 10):
        redis.Redis.from_url(server, db=database).set(redis_for_tests.MARKER, str(os.getppid()))

    assert redis_for_tests.claim(server, preferred=9) == 1


def test_a_dead_holders_database_is_taken_over(server):
    redis.Redis.from_url(server, db=3).set(redis_for_tests.MARKER, str(_dead_pid()))

    assert redis_for_tests.claim(server, preferred=3) == 3
    assert _marker(server, 3) == str(os.getpid())


def test_a_database_asked_for_by_name_and_held_is_refused_with_its_holder(server):
    redis.Redis.from_url(server, db=2).set(redis_for_tests.MARKER, str(os.getppid()))

    with pytest.raises(redis_for_tests.DatabaseHeld, match=f"held by the live test process {os.getppid()}"):
        redis_for_tests.claim(server, preferred=2, exact=True)


def test_the_claim_ends_with_the_process(server):
    code = f"from penguinflow.settings import redis_for_tests; print(redis_for_tests.claim({server!r}, preferred=6))"
    claimed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert claimed.stdout.strip() == "6"
    assert _marker(server, 6) is None


def test_an_xdist_worker_claims_its_own_and_a_process_a_test_starts_uses_its_tests(server):
    run = {"PENGUINFLOW_TEST_REDIS_DB": "7", "PENGUINFLOW_TEST_REDIS_HOLDER": "1", "PENGUINFLOW_TEST_REDIS_WORKER": ""}
    redis.Redis.from_url(server, db=7).set(redis_for_tests.MARKER, str(os.getppid()))  # the run's first process
    worker = {**run, "PYTEST_XDIST_WORKER": "gw1"}

    assert redis_for_tests.database_of_this_process(server, worker) == 9  # 7 + 1 + its index
    assert worker["PENGUINFLOW_TEST_REDIS_WORKER"] == "gw1" and worker["PENGUINFLOW_TEST_REDIS_DB"] == "9"
    started_by_a_test = dict(worker)
    assert redis_for_tests.database_of_this_process(server, started_by_a_test) == 9
    assert started_by_a_test == worker
    assert _marker(server, 9) == str(os.getpid())


def test_without_redis_the_preferred_database_is_used_unclaimed():
    assert redis_for_tests.claim("redis://127.0.0.1:1", preferred=5) == 5
