from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events import partitions
from events.models import Event


def partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM events_event WHERE id = %s", [event_id])
        return cursor.fetchone()[0]


def test_events_table_is_range_partitioned_by_occurred_at(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat, a.attname FROM pg_partitioned_table p "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE p.partrelid = 'events_event'::regclass"
        )
        assert cursor.fetchone() == ("r", "occurred_at")


def test_partitions_exist_ahead_of_time(db):
    with connection.cursor() as cursor:
        existing = partitions.existing_partitions(cursor)
    now = datetime.now(UTC)
    assert partitions.partition_name(partitions.week_start(now + timedelta(weeks=4))) in existing
    assert partitions.partition_name(partitions.week_start(now - timedelta(days=80))) in existing


def test_event_lands_in_its_week_and_very_old_ones_in_the_default(workspace):
    from events.services import event_emit

    now = timezone.now()
    recent = event_emit(workspace=workspace, type="page.viewed", occurred_at=now)
    ancient = event_emit(workspace=workspace, type="page.viewed", occurred_at=now - timedelta(days=3000))
    assert partition_of(recent.id) == partitions.partition_name(partitions.week_start(now))
    assert partition_of(ancient.id) == "events_event_default"
    assert Event.objects.filter(pk=ancient.pk).exists()


def test_plan_creates_missing_weeks_and_drops_only_fully_expired_ones():
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    old = partitions.week_start(now - timedelta(days=120))
    edge = partitions.week_start(now - timedelta(days=90))
    existing = {partitions.partition_name(old): old, partitions.partition_name(edge): edge}
    plan = partitions.plan(existing=existing, now=now, retention_days=90, weeks_ahead=2)
    assert plan.drop == [partitions.partition_name(old)]
    created = [name for name, _, _ in plan.create]
    assert partitions.partition_name(partitions.week_start(now)) in created
    assert partitions.partition_name(edge) not in created
    assert all(end - start == timedelta(weeks=1) for _, start, end in plan.create)


@pytest.mark.parametrize("moment", [datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 29, 23, 59, tzinfo=UTC)])
def test_week_start_is_monday_midnight_utc(moment):
    assert partitions.week_start(moment) == datetime(2026, 11, 23, tzinfo=UTC)
