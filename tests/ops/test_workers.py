"""penguinflow.common.workers.Worker, the worker every PenguinFlow worker process runs: a job after PostgreSQL
dropped the connection of the worker (a restart, a failover, pg_terminate_backend) runs on a new connection.
RQ's SimpleWorker kept the dead one, and every later job of the process failed."""

from __future__ import annotations

import pytest

from penguinflow.common.workers import Worker
from tests.chaos import backend_pid, backend_terminate


def backend_pid_job() -> int:
    return backend_pid()


@pytest.fixture
def queue():
    from tests.conftest import _emptied_queue

    yield from _emptied_queue("default")


@pytest.mark.django_db(transaction=True)
def test_a_job_after_postgres_dropped_the_workers_connection_runs_on_a_new_one(queue):
    worker = Worker([queue], connection=queue.connection)
    first = queue.enqueue(backend_pid_job, result_ttl=60)
    worker.work(burst=True)
    dropped = first.return_value()
    backend_terminate(dropped)  # the connection the worker used (held, or idle in the pool)

    second = queue.enqueue(backend_pid_job, result_ttl=60)
    worker.work(burst=True)
    assert queue.failed_job_registry.get_job_ids() == []
    assert second.return_value() not in (None, dropped)
