"""Runtime test helpers: publish a graph (built with `tests.engine.graphs`), run what is due through the real
scheduler and a worker."""

from __future__ import annotations

from datetime import datetime

import django_rq
from django.test import TestCase
from rq.registry import FailedJobRegistry
from rq.worker import SimpleWorker


def publish(workspace, nodes, edges, settings: dict | None = None, name: str = "W"):
    from workflows.services import workflow_create, workflow_publish

    workflow = workflow_create(workspace=workspace, name=name, graph={"nodes": nodes, "edges": edges},
                               settings=settings or {})
    workflow_publish(workflow=workflow)
    workflow.refresh_from_db()
    return workflow


class EngineJobFailed(AssertionError):
    """A job of the engine's queue failed while a test ran what was due: its traceback, not a wrong count later."""


def run_due(now: datetime | None = None, rounds: int = 10) -> int:
    """Claim what is due (at `now`) and run it through a real RQ worker, until nothing is due; return claims.

    Raises EngineJobFailed when a job failed meanwhile: the runtime keeps a failing step's error on its enrollment,
    so a failed job is a defect of the runtime (or of the test), which would otherwise show only as a wrong count."""
    from workflows.scheduler import QUEUE, scheduler_tick

    queue = django_rq.get_queue(QUEUE)
    failed = FailedJobRegistry(queue=queue)
    failed_before = set(failed.get_job_ids())
    total = 0
    for _ in range(rounds):
        # django-rq enqueues on commit; inside a test's transaction, run those callbacks now.
        with TestCase.captureOnCommitCallbacks(execute=True):
            claimed = scheduler_tick(now=now)
        if not claimed:
            break
        total += claimed
        worker = SimpleWorker([queue], connection=django_rq.get_connection(QUEUE))
        worker.work(burst=True, with_scheduler=False)
        _raise_on_new_failures(queue, failed, failed_before)
    return total


def _raise_on_new_failures(queue, failed: FailedJobRegistry, before: set[str]) -> None:
    new = [job_id for job_id in failed.get_job_ids() if job_id not in before]
    if not new:
        return
    job = queue.fetch_job(new[0])
    info = (job.latest_result().exc_string if job and job.latest_result() else None) or "(no traceback kept)"
    raise EngineJobFailed(f"{len(new)} engine job(s) failed; the first:\n{info}")
