"""Recovery of SMS that got stuck: the sweep marks those whose worker died mid-send `unknown` (never re-sent
blindly) and enqueues again those whose delivery job was lost; a person may resend one deliberately."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from penguinflow.common.states import transition
from sms.delivery_queue import enqueue_delivery, schedule_delivery
from sms.models import SmsMessage

logger = logging.getLogger(__name__)

Status = SmsMessage.Status


@dataclass(frozen=True)
class SweepReport:
    unknown: int
    requeued: int


_TABLE = SmsMessage._meta.db_table
# Both statements skip rows another transaction holds (a delivery claiming or recording them): the sweep reads
# through the status index while delivery locks by id, and waiting would lock in opposite orders (see
# templates.recovery).
_SWEEP_STALE_SQL = f"""
UPDATE {_TABLE} SET status = %(unknown)s, updated_at = %(now)s, error = %(error)s
WHERE id IN (SELECT id FROM {_TABLE} WHERE status = %(sending)s AND claimed_at < %(lease)s
             FOR NO KEY UPDATE SKIP LOCKED)
  AND status = %(sending)s
"""
_SWEEP_LOST_SQL = f"""
UPDATE {_TABLE} SET next_attempt_at = %(touched)s, updated_at = %(now)s
WHERE id IN (SELECT id FROM {_TABLE} WHERE status = %(queued)s AND next_attempt_at < %(lost_before)s
             ORDER BY next_attempt_at LIMIT 10000 FOR NO KEY UPDATE SKIP LOCKED)
  AND status = %(queued)s
RETURNING id
"""


def sms_sweep(*, now: datetime | None = None, grace_seconds: int | None = None) -> SweepReport:
    """Mark rows stuck in `sending` past SMS_SEND_LEASE_SECONDS as `unknown`; re-enqueue queued rows due for
    `grace_seconds` (default SMS_SWEEP_GRACE_SECONDS) whose job was lost. A duplicate job is harmless: the claim
    is conditional. The scheduler runs it with the email outbox's sweep."""
    now = now or timezone.now()
    grace = settings.SMS_SWEEP_GRACE_SECONDS if grace_seconds is None else grace_seconds
    lease = now - timedelta(seconds=settings.SMS_SEND_LEASE_SECONDS)
    assert Status.UNKNOWN in SmsMessage.TRANSITIONS[Status.SENDING]
    with connection.cursor() as cursor:
        cursor.execute(_SWEEP_STALE_SQL, {
            "unknown": str(Status.UNKNOWN), "sending": str(Status.SENDING), "now": now, "lease": lease,
            "error": "The worker stopped between hand-off and record: the SMS may have been sent. Not re-sent.",
        })  # fmt: skip
        unknown = cursor.rowcount
        cursor.execute(_SWEEP_LOST_SQL, {"queued": str(Status.QUEUED), "touched": min(now, timezone.now()),
                                         "now": now, "lost_before": now - timedelta(seconds=grace)})  # fmt: skip
        ids = [str(pk) for (pk,) in cursor.fetchall()]
    if ids:
        enqueue_delivery(ids)
    if unknown:
        logger.warning("%d SMS are now 'unknown' (their worker died mid-send)", unknown)
    return SweepReport(unknown=unknown, requeued=len(ids))


def sms_resend(*, message: SmsMessage) -> SmsMessage:
    """Queue an `unknown` or `failed` SMS again, deliberately (a person decided). InvalidTransition otherwise."""
    with transaction.atomic():
        message = transition(
            message, to=Status.QUEUED, allowed=SmsMessage.TRANSITIONS,
            extra={"next_attempt_at": timezone.now(), "error": f"Resent deliberately (was {message.status})."},
        )  # fmt: skip
        schedule_delivery(message.pk)
    return message
