"""Recovery of SMS that got stuck: the sweep marks those whose worker died mid-send `unknown` (never re-sent
blindly) and enqueues again those whose delivery job was lost; a person may resend one deliberately."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from penguinflow.common.outbox_sweep import SweepReport, sweep_outbox
from penguinflow.common.states import transition
from sms.delivery_queue import enqueue_delivery, schedule_delivery
from sms.models import SmsMessage

logger = logging.getLogger(__name__)

Status = SmsMessage.Status


def sms_sweep(*, now: datetime | None = None, grace_seconds: int | None = None) -> SweepReport:
    """Mark rows stuck in `sending` past SMS_SEND_LEASE_SECONDS as `unknown`; re-enqueue queued rows due for
    `grace_seconds` (default SMS_SWEEP_GRACE_SECONDS) whose job was lost. A duplicate job is harmless: the claim
    is conditional. The scheduler runs it with the email outbox's sweep."""
    result = sweep_outbox(
        model=SmsMessage, now=now or timezone.now(), lease_seconds=settings.SMS_SEND_LEASE_SECONDS,
        grace_seconds=settings.SMS_SWEEP_GRACE_SECONDS if grace_seconds is None else grace_seconds, what="the SMS",
    )  # fmt: skip
    if result.lost_ids:
        enqueue_delivery(result.lost_ids)
    if result.unknown:
        logger.warning("%d SMS are now 'unknown' (their worker died mid-send)", result.unknown)
    return SweepReport(unknown=result.unknown, requeued=len(result.lost_ids))


def sms_resend(*, message: SmsMessage) -> SmsMessage:
    """Queue an `unknown` or `failed` SMS again, deliberately (a person decided). InvalidTransition otherwise."""
    with transaction.atomic():
        message = transition(
            message, to=Status.QUEUED, allowed=SmsMessage.TRANSITIONS,
            extra={"next_attempt_at": timezone.now(), "error": f"Resent deliberately (was {message.status})."},
        )  # fmt: skip
        schedule_delivery(message.pk)
    return message
