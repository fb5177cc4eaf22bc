"""Retention of the event log: whole weekly partitions are dropped, never row-by-row deletes of big tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from events import partitions
from events.models import EventKey


@dataclass
class RetentionResult:
    horizon: datetime
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    default_rows: int = 0
    keys: int = 0


def events_retention_apply(
    *, now: datetime | None = None, retention_days: int | None = None, weeks_ahead: int = 8, dry_run: bool = False
) -> RetentionResult:
    """Drop the partitions entirely older than the horizon, create the coming ones, delete the DEFAULT
    partition's expired rows and the expired dedupe keys. With `dry_run`, only report what would happen."""
    now = now or timezone.now()
    retention_days = settings.EVENT_RETENTION_DAYS if retention_days is None else retention_days
    horizon = now - timedelta(days=retention_days)
    result = RetentionResult(horizon=horizon)
    with transaction.atomic(), connection.cursor() as cursor:
        if dry_run:
            plan = partitions.plan(existing=partitions.existing_partitions(cursor), now=now,
                                   retention_days=retention_days, weeks_ahead=weeks_ahead)
            cursor.execute("SELECT count(*) FROM events_event_default WHERE occurred_at < %s", [horizon])
            result.default_rows = cursor.fetchone()[0]
            result.keys = EventKey.objects.filter(created_at__lt=horizon).count()
        else:
            # Expired rows leave the DEFAULT partition first: a new partition cannot be attached while the
            # DEFAULT one holds rows of its range.
            cursor.execute("DELETE FROM events_event_default WHERE occurred_at < %s", [horizon])
            result.default_rows = cursor.rowcount
            plan = partitions.ensure(cursor, now=now, retention_days=retention_days, weeks_ahead=weeks_ahead,
                                     drop=True)
            result.keys, _ = EventKey.objects.filter(created_at__lt=horizon).delete()
    result.created = [name for name, _, _ in plan.create]
    result.dropped = list(plan.drop)
    return result
