"""The RQ worker every PenguinFlow worker process runs (`manage.py rqworker --worker-class
penguinflow.common.workers.Worker`, the default in settings.RQ).

It is RQ's SimpleWorker (jobs run in the worker process, no fork per job), which keeps its database connection from
one job to the next. A connection PostgreSQL dropped (a backend terminated, a server restarted or failed over) would
then fail every later job of the process, for good: nothing else in a worker gives it back. So each job starts and
ends the way a Django request does, with `close_old_connections()`: a broken connection is closed and the next
query opens a new one; with the connection pool (settings.DATABASE_POOL) each job also hands its connection back.
The job that met the broken connection failed; its lease brings its work back (ARCHITECTURE.md, "Guarantees").
"""

from __future__ import annotations

from django.db import close_old_connections
from rq.worker import SimpleWorker


class Worker(SimpleWorker):
    def perform_job(self, job, queue) -> bool:
        close_old_connections()
        try:
            return super().perform_job(job, queue)
        finally:
            close_old_connections()
