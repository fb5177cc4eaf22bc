"""Recovery of outbox messages that got stuck: the sweep marks those whose worker died mid-send `unknown` (never
re-sent blindly) and enqueues again those whose delivery job was lost; a person may resend one deliberately.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from penguinflow.common.outbox_sweep import SweepReport, count_stuck, sweep_outbox
from penguinflow.common.states import transition
from templates.delivery_queue import enqueue_delivery, schedule_delivery
from templates.models import OutboxMessage

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status


def outbox_sweep(*, now: datetime | None = None, grace_seconds: int | None = None, dry_run: bool = False) -> SweepReport:
    """Mark rows stuck in `sending` past their lease as `unknown`; re-enqueue queued rows whose job was lost.

    Run it every EMAIL_SWEEP_INTERVAL_SECONDS (the scheduler, or `manage.py email_outbox --sweep`). A queued row
    is "lost" when it has been due for `grace_seconds` (default EMAIL_SWEEP_GRACE_SECONDS; Redis flushed, enqueue
    failed): a duplicate job is harmless, since the claim is conditional. Rows another transaction holds are
    skipped, never waited for (see `penguinflow.common.outbox_sweep`).
    """
    now = now or timezone.now()
    if grace_seconds is None:
        grace_seconds = settings.EMAIL_SWEEP_GRACE_SECONDS
    window = {"model": OutboxMessage, "now": now, "lease_seconds": settings.EMAIL_SEND_LEASE_SECONDS,
              "grace_seconds": grace_seconds}  # fmt: skip
    if dry_run:
        return count_stuck(**window)
    result = sweep_outbox(**window, what="the message")
    if result.lost_ids:
        enqueue_delivery(result.lost_ids)
    if result.unknown:
        logger.warning("%d outbox messages are now 'unknown' (their worker died mid-send)", result.unknown)
    return SweepReport(unknown=result.unknown, requeued=len(result.lost_ids))


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
