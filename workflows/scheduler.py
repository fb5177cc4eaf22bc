"""Claim due enrollments and hand them to workers, one RQ job per batch.

Timers are rows: an enrollment is due when `next_run_at <= now` and it is live. The claim takes a batch with
FOR UPDATE SKIP LOCKED and stamps a lease on it, so several schedulers on several machines never hand the same
enrollment to two jobs. A lease that expires (the job was lost with Redis, or its worker died) makes the
enrollment claimable again: the same query is the reaper.

The claim walks the due index in `next_run_at` order and stops at its LIMIT. Two things keep it on that walk
whatever the table's statistics say (a busy queue table is often unanalyzed, or vacuumed far behind its updates):
- a paused workflow's enrollments are skipped by a per-row lookup of the workflow's status. Written as a join
  ("workflow IN (running workflows)", or an anti-join), PostgreSQL may hash the workflows and sort every due
  entry afterwards, or loop over every active workflow with a bitmap scan of all due entries each: 3 s per claim
  with 1,000 active workflows (bench runtime);
- bitmap and sequential scans are off for the claim (penguinflow.common.db.claim_by_index_walk says why).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from penguinflow.common.db import claim_by_index_walk, prepared_cursor
from workflows.engine.statuses import LIVE_STATUSES
from workflows.jobs import execute_batch
from workflows.models import Enrollment, Workflow
from workflows.runtime import RUNNING_WORKFLOW_STATUSES

logger = logging.getLogger(__name__)

QUEUE = "engine"


def _sql_list(values: Iterable[str]) -> str:
    """Return the values as an SQL list of string literals (they are our own constants, never input)."""
    return ", ".join("'" + str(value).replace("'", "''") + "'" for value in values)


# Written into the SQL once, at import, from the status tables (the statement stays a constant string, and the
# live list matches the partial index enrollment_due_live that the claim walks).
_LIVE = _sql_list(LIVE_STATUSES)
_RUNNING_WORKFLOWS = _sql_list(RUNNING_WORKFLOW_STATUSES)

_CLAIM_SQL = f"""
WITH due AS (
    SELECT e.id FROM {Enrollment._meta.db_table} e
    WHERE e.status IN ({_LIVE})
      AND e.next_run_at <= %(now)s
      AND (e.lease_expires_at IS NULL OR e.lease_expires_at < %(now)s)
      AND (SELECT w.status FROM {Workflow._meta.db_table} w WHERE w.id = e.workflow_id) IN ({_RUNNING_WORKFLOWS})
    ORDER BY e.next_run_at
    LIMIT %(limit)s
    FOR UPDATE OF e SKIP LOCKED
)
UPDATE {Enrollment._meta.db_table} e
SET lease_owner = %(owner)s, lease_expires_at = %(expires)s
FROM due WHERE e.id = due.id
RETURNING e.id
"""


def new_lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def enrollments_claim_due(
    *, limit: int, owner: str, now: datetime | None = None, lease: timedelta | None = None
) -> list:
    """Lease up to `limit` due enrollments to `owner` and return their ids (oldest due first)."""
    now = now or timezone.now()
    lease = lease or timedelta(seconds=settings.ENGINE_LEASE_SECONDS)
    # Prepared on the connection: the scheduler claims up to 20 times a second.
    with transaction.atomic(), prepared_cursor() as cursor:
        claim_by_index_walk(cursor)
        cursor.execute(_CLAIM_SQL, {"now": now, "limit": limit, "owner": owner, "expires": now + lease}, prepare=True)
        return [row[0] for row in cursor.fetchall()]


def scheduler_tick(*, batch_size: int = 100, max_batches: int = 50, now: datetime | None = None) -> int:
    """Claim due enrollments in batches and enqueue one job per batch; return how many were claimed."""

    queue = django_rq.get_queue(QUEUE)
    # Backpressure: claim only what the workers can start soon. A batch that waits in the queue longer than its
    # lease is claimed again, and the first job then finds its lease taken; claiming faster than the workers
    # drain would only pile up such jobs.
    room = settings.ENGINE_MAX_QUEUED_BATCHES - queue.count
    claimed = 0
    for _ in range(min(max_batches, max(room, 0))):
        owner = new_lease_owner()
        ids = enrollments_claim_due(limit=batch_size, owner=owner, now=now)
        if not ids:
            break
        claimed += len(ids)
        try:
            queue.enqueue(
                execute_batch, [str(i) for i in ids], owner, now.isoformat() if now else None,
                job_timeout=300, result_ttl=0,
            )
        except Exception:  # Redis away: the leases expire and the batch is claimed again later
            logger.exception("Could not enqueue a batch of %d enrollments; their leases will expire", len(ids))
            break
        if len(ids) < batch_size:
            break
    return claimed
