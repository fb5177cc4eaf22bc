"""Recovery of push messages that got stuck: the sweep marks those whose worker died mid-send `unknown` (never
re-sent blindly) and enqueues again those whose delivery job was lost; a person may resend one deliberately."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from penguinflow.common.errors import InvalidTransition
from push.delivery_queue import enqueue_delivery, schedule_delivery
from push.models import PushMessage

logger = logging.getLogger(__name__)

Status = PushMessage.Status


@dataclass(frozen=True)
class SweepReport:
    unknown: int
    requeued: int


def push_sweep(*, now: datetime | None = None, grace_seconds: int | None = None) -> SweepReport:
    """Mark rows stuck in `sending` past PUSH_SEND_LEASE_SECONDS `unknown`; re-enqueue queued rows due for longer
    than `grace_seconds` (their job was lost: Redis flushed, enqueue failed). Rows another transaction holds are
    skipped, never waited for; the next sweep sees them again."""
    now = now or timezone.now()
    grace = settings.PUSH_SWEEP_GRACE_SECONDS if grace_seconds is None else grace_seconds
    lease = now - timedelta(seconds=settings.PUSH_SEND_LEASE_SECONDS)
    with transaction.atomic():
        stale = list(PushMessage.objects.filter(status=Status.SENDING, claimed_at__lt=lease)
                     .select_for_update(skip_locked=True).values_list("pk", flat=True)[:10000])  # fmt: skip
        unknown = PushMessage.objects.filter(pk__in=stale, status=Status.SENDING).update(
            status=Status.UNKNOWN,
            updated_at=now,
            error="The worker stopped between hand-off and record: the message may have been sent. Not re-sent.",
        )
        lost = list(PushMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lt=now - timedelta(seconds=grace))
                    .select_for_update(skip_locked=True).order_by("next_attempt_at")
                    .values_list("pk", flat=True)[:10000])  # fmt: skip
        # Due at once (never later than the real now, whatever `now` says), and not "lost" again for `grace`.
        PushMessage.objects.filter(pk__in=lost).update(
            next_attempt_at=min(now, timezone.now()), updated_at=now
        )
    if lost:
        enqueue_delivery([str(pk) for pk in lost])
    if unknown:
        logger.warning("%d push messages are now 'unknown' (their worker died mid-send)", unknown)
    return SweepReport(unknown=unknown, requeued=len(lost))


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
