"""The dispatcher: claim due deliveries from PostgreSQL and hand them to workers in batches (RQ queue
`webhooks`), as events and enrollments are claimed. Redis carries only the jobs: a job lost with Redis, or a
worker that died, leaves a lease (`claimed_until`) that expires, and the deliveries are claimed again.

An ordered subscription's delivery is claimable only when no earlier delivery for the same contact is pending
(waiting, or being attempted): a contact's events go out one at a time, in the order they were processed. A
disabled subscription has no pending deliveries (they are cancelled when it is disabled).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.utils import timezone

from penguinflow.common.db import prepared_cursor
from penguinflow.common.queues import kept_queue

logger = logging.getLogger(__name__)

QUEUE = "webhooks"
BATCH_SIZE = 200
# Longer than the longest a batch can take in a worker: its attempts stop starting after CHUNK_DEADLINE_S, and
# the last one started ends within its timeout.
LEASE = timedelta(seconds=120)

_CLAIM_SQL = """
    WITH due AS (
        SELECT d.id FROM webhooks_webhookdelivery d
        JOIN webhooks_webhooksubscription s ON s.id = d.subscription_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s
          AND (d.claimed_until IS NULL OR d.claimed_until < %(now)s)
          AND (NOT s.ordered OR d.contact_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM webhooks_webhookdelivery e
                WHERE e.subscription_id = d.subscription_id AND e.contact_id = d.contact_id
                  AND e.status = 'pending' AND e.event_id < d.event_id))
        ORDER BY d.next_attempt_at
        LIMIT %(limit)s
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhooks_webhookdelivery d SET claimed_until = %(until)s FROM due WHERE d.id = due.id
    RETURNING d.id
"""


def deliveries_claim(*, batch_size: int = BATCH_SIZE, now: datetime | None = None,
                     lease: timedelta = LEASE) -> tuple[list, datetime]:
    """Claim up to ``batch_size`` due deliveries for ``lease``; return their ids and the lease's end (the job
    attempts only deliveries still claimed until exactly then: a lease that expired and was claimed again
    belongs to the newer claim)."""
    now = now or timezone.now()
    until = now + lease
    # Prepared on the connection: the dispatcher runs this 20 times a second, and planning it cost more than the
    # claim when nothing is due.
    with transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": now, "until": until, "limit": batch_size}, prepare=True)
        return [row[0] for row in cursor.fetchall()], until


def _enqueue(delivery_ids: list, until: datetime) -> None:
    kept_queue(QUEUE).enqueue("webhooks.jobs.deliver_batch", [str(i) for i in delivery_ids], until,
                              job_timeout=int(LEASE.total_seconds()), result_ttl=0, failure_ttl=3600)


def deliveries_dispatch(*, batch_size: int = BATCH_SIZE, max_batches: int = 20, now: datetime | None = None,
                        enqueue: Callable[[list, datetime], None] | None = None) -> int:
    """Claim due deliveries in batches and enqueue one job per batch; return how many were handed out."""
    enqueue = enqueue or _enqueue
    handed = 0
    for _ in range(max_batches):
        claimed, until = deliveries_claim(batch_size=batch_size, now=now)
        if not claimed:
            break
        try:
            enqueue(claimed, until)
        except Exception:
            logger.exception("Could not enqueue %d webhook deliveries; they go when the lease expires", len(claimed))
            break
        handed += len(claimed)
        if len(claimed) < batch_size:
            break
    return handed


def _queued() -> int:
    return kept_queue(QUEUE).count


def deliveries_dispatch_forever(*, interval: float = 0.05, batch_size: int = BATCH_SIZE,
                                should_stop: Callable[[], bool] = lambda: False) -> None:
    """Dispatch continuously (the scheduler runs this in a thread): at most WEBHOOKS_DISPATCH_MAX_QUEUED
    batches wait in the queue, the rest waits in PostgreSQL."""
    max_queued = settings.WEBHOOKS_DISPATCH_MAX_QUEUED
    try:
        while not should_stop():
            close_old_connections()
            handed = 0
            try:
                if max_queued <= 0 or _queued() < max_queued:
                    handed = deliveries_dispatch(batch_size=batch_size, max_batches=1)
            except Exception:
                logger.exception("Webhook dispatch failed; retrying")
            if handed < batch_size:
                time.sleep(interval if handed == 0 else min(interval, 0.02))
    finally:
        connections.close_all()
