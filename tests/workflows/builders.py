"""Runtime test helpers: publish a graph (built with `tests.engine.graphs`), run what is due through the real
scheduler and a worker."""

from __future__ import annotations

from datetime import datetime

import django_rq
from django.test import TestCase
from rq.worker import SimpleWorker


def publish(workspace, nodes, edges, settings: dict | None = None, name: str = "W"):
    from workflows.services import workflow_create, workflow_publish

    workflow = workflow_create(workspace=workspace, name=name, graph={"nodes": nodes, "edges": edges},
                               settings=settings or {})
    workflow_publish(workflow=workflow)
    workflow.refresh_from_db()
    return workflow


def run_due(now: datetime | None = None, rounds: int = 10) -> int:
    """Claim what is due (at `now`) and run it through a real RQ worker, until nothing is due; return claims."""
    from workflows.scheduler import QUEUE, scheduler_tick

    total = 0
    for _ in range(rounds):
        # django-rq enqueues on commit; inside a test's transaction, run those callbacks now.
        with TestCase.captureOnCommitCallbacks(execute=True):
            claimed = scheduler_tick(now=now)
        if not claimed:
            break
        total += claimed
        worker = SimpleWorker([django_rq.get_queue(QUEUE)], connection=django_rq.get_connection(QUEUE))
        worker.work(burst=True, with_scheduler=False)
    return total
