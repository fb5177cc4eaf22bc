"""Delivery jobs on queue "sms": enqueued now or at a time, or, for rows written in a transaction, once it commits
(one job per transaction, however many rows it wrote). Jobs are named by path, so this imports no delivery code."""

from __future__ import annotations

import logging
from datetime import datetime

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from penguinflow.common.rq_schedule import not_before

logger = logging.getLogger(__name__)

QUEUE = "sms"
DELIVER_JOB = "sms.jobs.sms_deliver"


class _PendingDeliveries:
    """The SMS ids stored in one transaction: one on_commit callback enqueues them as batch jobs."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def __call__(self) -> None:
        conn = transaction.get_connection()
        if getattr(conn, "_pf_sms_pending", None) is self:
            conn._pf_sms_pending = None
        try:
            enqueue_delivery(self.ids)
        except Exception:  # Redis down: the rows are committed and `sms_sweep` enqueues them later
            logger.exception("Could not enqueue the delivery of %d SMS", len(self.ids))


def schedule_delivery(sms_id) -> None:
    """Enqueue the delivery of a new row once the caller's transaction commits (one job per transaction)."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        enqueue_delivery([str(sms_id)])
        return
    pending = getattr(conn, "_pf_sms_pending", None)
    # A savepoint or transaction rolled back since drops its on_commit callbacks: start a new batch then.
    if pending is None or not any(func is pending for _, func, _ in conn.run_on_commit):
        pending = _PendingDeliveries()
        conn._pf_sms_pending = pending
        transaction.on_commit(pending)
    pending.ids.append(str(sms_id))


def enqueue_delivery(sms_ids: list[str], *, at: datetime | None = None) -> None:
    """Enqueue `sms.jobs.sms_deliver` on queue "sms" in batches of SMS_DELIVERY_BATCH (at `at`, when given)."""
    queue = django_rq.get_queue(QUEUE)
    size = max(1, settings.SMS_DELIVERY_BATCH)
    for start in range(0, len(sms_ids), size):
        chunk = [str(i) for i in sms_ids[start : start + size]]
        if at is not None and at > timezone.now():
            queue.enqueue_at(not_before(at), DELIVER_JOB, chunk, result_ttl=60, failure_ttl=86400)
        else:
            queue.enqueue(DELIVER_JOB, chunk, result_ttl=60, failure_ttl=86400)
