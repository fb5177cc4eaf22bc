"""Recovery of outbox messages that got stuck: the sweep marks those whose worker died mid-send `unknown` (never
re-sent blindly) and enqueues again those whose delivery job was lost; a person may resend one deliberately.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from penguinflow.common.states import transition
from templates.delivery_queue import enqueue_delivery, schedule_delivery
from templates.models import OutboxMessage

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status


@dataclass(frozen=True)
class SweepReport:
    unknown: int
    requeued: int


_OUTBOX = OutboxMessage._meta.db_table
_SWEEP_STALE_SQL = f"""
UPDATE {_OUTBOX} SET status = %(unknown)s, updated_at = %(now)s, error = %(error)s
WHERE id IN (SELECT id FROM {_OUTBOX} WHERE status = %(sending)s AND claimed_at < %(lease)s
             FOR NO KEY UPDATE SKIP LOCKED)
  AND status = %(sending)s
"""
_SWEEP_LOST_SQL = f"""
UPDATE {_OUTBOX} SET next_attempt_at = %(touched)s, updated_at = %(now)s
WHERE id IN (SELECT id FROM {_OUTBOX} WHERE status = %(queued)s AND next_attempt_at < %(lost_before)s
             ORDER BY next_attempt_at LIMIT 10000 FOR NO KEY UPDATE SKIP LOCKED)
  AND status = %(queued)s
RETURNING id
"""


def outbox_sweep(*, now: datetime | None = None, grace_seconds: int | None = None, dry_run: bool = False) -> SweepReport:
    """Mark rows stuck in `sending` past their lease as `unknown`; re-enqueue queued rows whose job was lost.

    Run it every EMAIL_SWEEP_INTERVAL_SECONDS (the scheduler, or `manage.py email_outbox --sweep`). A queued row
    is "lost" when it has been due for `grace_seconds` (default EMAIL_SWEEP_GRACE_SECONDS; Redis flushed, enqueue
    failed): a duplicate job is harmless, since the claim is conditional.

    Both updates skip rows another transaction holds (a delivery claiming or recording them), so the sweep
    never waits for a row lock. It reads rows through the (status, next_attempt_at) index while delivery locks
    them by id: were it to wait, the two would lock the same rows in opposite orders and deadlock, and a failed
    sweep re-enqueues nothing. A row it skipped is busy now; the next sweep sees it again.
    """
    now = now or timezone.now()
    if grace_seconds is None:
        grace_seconds = settings.EMAIL_SWEEP_GRACE_SECONDS
    lease = now - timedelta(seconds=settings.EMAIL_SEND_LEASE_SECONDS)
    lost_before = now - timedelta(seconds=grace_seconds)
    if dry_run:
        return SweepReport(
            unknown=OutboxMessage.objects.filter(status=Status.SENDING, claimed_at__lt=lease).count(),
            requeued=OutboxMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lt=lost_before).count(),
        )
    assert Status.UNKNOWN in OutboxMessage.TRANSITIONS[Status.SENDING]
    with connection.cursor() as cursor:
        cursor.execute(_SWEEP_STALE_SQL, {
            "unknown": str(Status.UNKNOWN), "sending": str(Status.SENDING), "now": now, "lease": lease,
            "error": "The worker stopped between hand-off and record: the message may have been sent. Not re-sent.",
        })  # fmt: skip
        unknown = cursor.rowcount
        # Due now (so the job sends them) and not "lost" again before another `grace_seconds`.
        cursor.execute(_SWEEP_LOST_SQL, {
            "queued": str(Status.QUEUED), "touched": min(now, timezone.now()), "now": now, "lost_before": lost_before,
        })  # fmt: skip
        ids = [str(pk) for (pk,) in cursor.fetchall()]
    if ids:
        enqueue_delivery(ids)
    if unknown:
        logger.warning("%d outbox messages are now 'unknown' (their worker died mid-send)", unknown)
    return SweepReport(unknown=unknown, requeued=len(ids))


def outbox_resend(*, message: OutboxMessage) -> OutboxMessage:
    """Queue an `unknown` or `failed` message again, deliberately (a person decided); same Message-ID.

    Raises InvalidTransition for any other status.
    """
    with transaction.atomic():
        message = transition(
            message, to=Status.QUEUED, allowed=OutboxMessage.TRANSITIONS,
            extra={"next_attempt_at": timezone.now(), "error": f"Resent deliberately (was {message.status})."},
        )  # fmt: skip
        schedule_delivery(message.pk)
    return message
