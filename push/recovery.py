"""Recovery of push messages that got stuck: the sweep marks those whose worker died mid-send `unknown` (never
re-sent blindly) and enqueues again those whose delivery job was lost; a person may resend one deliberately."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from penguinflow.common.errors import InvalidTransition
from penguinflow.common.outbox_sweep import SweepReport, sweep_outbox
from push.delivery_queue import enqueue_delivery, schedule_delivery
from push.models import PushMessage

logger = logging.getLogger(__name__)

Status = PushMessage.Status


def push_sweep(*, now: datetime | None = None, grace_seconds: int | None = None) -> SweepReport:
    """Mark rows stuck in `sending` past PUSH_SEND_LEASE_SECONDS `unknown`; re-enqueue queued rows due for longer
    than `grace_seconds` (their job was lost: Redis flushed, enqueue failed). Rows another transaction holds are
    skipped, never waited for; the next sweep sees them again."""
    result = sweep_outbox(
        model=PushMessage, now=now or timezone.now(), lease_seconds=settings.PUSH_SEND_LEASE_SECONDS,
        grace_seconds=settings.PUSH_SWEEP_GRACE_SECONDS if grace_seconds is None else grace_seconds,
        what="the message",
    )  # fmt: skip
    if result.lost_ids:
        enqueue_delivery(result.lost_ids)
    if result.unknown:
        logger.warning("%d push messages are now 'unknown' (their worker died mid-send)", result.unknown)
    return SweepReport(unknown=result.unknown, requeued=len(result.lost_ids))


def push_resend(*, message: PushMessage) -> PushMessage:
    """Queue an `unknown` or `failed` message again, deliberately (a person decided). InvalidTransition otherwise."""
    with transaction.atomic():
        updated = PushMessage.objects.filter(
            pk=message.pk, status__in=[Status.UNKNOWN, Status.FAILED]
        ).update(
            status=Status.QUEUED,
            next_attempt_at=timezone.now(),
            updated_at=timezone.now(),
            error=f"Resent deliberately (was {message.status}).",
        )
        if not updated:
            raise InvalidTransition(f"A push message in status '{message.status}' cannot be resent.")
        schedule_delivery(message.pk)
    message.refresh_from_db()
    return message
