"""penguinflow.common.workers.Worker, the worker every PenguinFlow worker process runs: a job after PostgreSQL
dropped the connection of the worker (a restart, a failover, pg_terminate_backend) runs on a new connection (RQ's
SimpleWorker kept the dead one, and every later job of the process failed), and the scheduler process it forks
stops when the worker is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench._support import process_children, process_exited
from penguinflow.common.workers import Worker
from tests.chaos import backend_pid, backend_terminate, process_env, wait_for

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_scheduler_a_worker_forked_stops_and_frees_its_lock_when_the_worker_is_killed(queue):
    """RQ's own scheduler process outlived a worker killed with SIGKILL: an orphan per kill, holding the scheduler
    lock of the worker's queues, so that the replacement worker scheduled nothing."""
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "default", "--worker-class", "penguinflow.common.workers.Worker",
         "--with-scheduler"], cwd=ROOT, env=process_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = f"rq:scheduler-lock:{queue.name}"
    try:
        wait_for(lambda: queue.connection.exists(lock) and process_children(worker.pid),
                 what="the worker's scheduler")
        [scheduler] = process_children(worker.pid)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    try:
        wait_for(lambda: process_exited(scheduler), what="the orphaned scheduler to stop")
    finally:
        if not process_exited(scheduler):  # the defect: do not leave it running after the test
            os.kill(scheduler, signal.SIGKILL)
    assert not queue.connection.exists(lock)  # released, not left to expire: a replacement can schedule at once
