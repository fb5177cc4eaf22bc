"""RQ jobs of the `webhooks` queue. A job takes ids, re-fetches, and is safe to run twice."""

from __future__ import annotations

import logging
import os
from datetime import datetime

from webhooks.attempts import attempts_load
from webhooks.dispatch import LEASE
from webhooks.sending import process_sender

logger = logging.getLogger(__name__)


def deliver_batch(delivery_ids: list[str], claimed_until: datetime) -> int:
    """Attempt the deliveries of one claimed batch that are still pending and still under this claim."""
    items = attempts_load(delivery_ids=delivery_ids, claimed_until=claimed_until)
    if not items:
        return 0
    sender = process_sender()
    taken = sender.run(items)
    # A forking worker's work horse exits when the job returns, and its sender threads with it: wait for them
    # here (slower, one batch at a time; run the queue with SimpleWorker, as run_all does).
    if _in_forked_work_horse() and not sender.idle(timeout=LEASE.total_seconds() - 10):
        logger.warning("A forked webhook job ended before its attempts; their leases bring them back")
    return taken


def _in_forked_work_horse() -> bool:
    from rq import Worker, get_current_job

    job = get_current_job()
    if job is None or not job.worker_name:
        return False  # called directly (tests, a shell)
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name, connection=job.connection)
    return worker is not None and worker.pid is not None and worker.pid != os.getpid()
