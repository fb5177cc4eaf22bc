"""The RQ worker every PenguinFlow worker process runs (`manage.py rqworker --worker-class
penguinflow.common.workers.Worker`, the default in settings.RQ).

It is RQ's SimpleWorker (jobs run in the worker process, no fork per job), which keeps its database connection from
one job to the next. A connection PostgreSQL dropped (a backend terminated, a server restarted or failed over) would
then fail every later job of the process, for good: nothing else in a worker gives it back. So each job starts and
ends the way a Django request does, with `close_old_connections()`: a broken connection is closed and the next
query opens a new one; with the connection pool (settings.DATABASE_POOL) each job also hands its connection back.
The job that met the broken connection failed; its lease brings its work back (ARCHITECTURE.md, "Guarantees").

With `--with-scheduler`, RQ forks a scheduler process from the worker (it moves jobs enqueued for later onto their
queues). RQ's own outlives a worker killed with SIGKILL (an OOM kill, `kill -9`): an orphan per kill, still holding
the scheduler locks of its queues, so the supervisor's replacement worker schedules nothing of its own. Ours stops
within a second of its worker's death and releases its locks (`WorkerBoundScheduler`).
"""

from __future__ import annotations

import os

from django.db import close_old_connections
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler
from rq.worker import SimpleWorker


class WorkerBoundScheduler(RQScheduler):
    """RQ's scheduler that stops when the worker that forked it is gone: it checks once per round (each second)."""

    _worker_pid: int | None = None  # set by `start`, in the worker, before the fork

    def start(self):
        self._worker_pid = os.getpid()  # read before the fork: in the child this is the parent's pid
        return super().start()

    def heartbeat(self):
        if self._worker_pid is not None and os.getppid() != self._worker_pid:  # orphaned: adopted by init
            self.log.warning("Scheduler: worker %s is gone; stopping and releasing the locks", self._worker_pid)
            self.request_stop()
        super().heartbeat()


class Worker(SimpleWorker):
    def perform_job(self, job, queue) -> bool:
        close_old_connections()
        try:
            return super().perform_job(job, queue)
        finally:
            close_old_connections()

    def _start_scheduler(self, burst=False, logging_level="INFO", date_format=DEFAULT_LOGGING_DATE_FORMAT,
                         log_format=DEFAULT_LOGGING_FORMAT) -> None:
        """RQ's own (rq 2.x), with `WorkerBoundScheduler` in place of RQScheduler: RQ names the class inside this
        method and offers no setting for it."""
        self.scheduler = WorkerBoundScheduler(
            self.queues, connection=self.connection, serializer=self.serializer, date_format=date_format,
            logging_level=logging_level if logging_level is not None else self.log.level, log_format=log_format,
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if not burst:
            self.scheduler.start()
            return
        try:
            self.scheduler.register_birth()
            self.scheduler.enqueue_scheduled_jobs()
        finally:
            self.scheduler.release_locks()
            self.scheduler.register_death()
