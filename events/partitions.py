"""Create and drop the weekly partitions of the events table.

Partitions cover Monday 00:00 UTC to the next Monday. A DEFAULT partition catches anything outside the created
range so that an accepted event is never refused for its timestamp; retention also trims it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PARENT = "events_event"
_NAME = re.compile(r"^events_event_p(\d{8})$")


def week_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    monday = moment - timedelta(days=moment.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def partition_name(start: datetime) -> str:
    return f"{PARENT}_p{start:%Y%m%d}"


@dataclass(frozen=True)
class PartitionPlan:
    create: list[tuple[str, datetime, datetime]]
    drop: list[str]


def existing_partitions(cursor) -> dict[str, datetime]:
    cursor.execute(
        """
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = %s
        """,
        [PARENT],
    )
    found = {}
    for (name,) in cursor.fetchall():
        match = _NAME.match(name)
        if match:
            found[name] = datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC)
    return found


def plan(
    *, existing: dict[str, datetime], now: datetime, retention_days: int, weeks_ahead: int = 8
) -> PartitionPlan:
    """Decide which weekly partitions to create (from the retention horizon to `weeks_ahead`) and drop."""
    horizon = now - timedelta(days=retention_days)
    first = week_start(horizon)
    last = week_start(now) + timedelta(weeks=weeks_ahead)
    create = []
    start = first
    while start <= last:
        name = partition_name(start)
        if name not in existing:
            create.append((name, start, start + timedelta(weeks=1)))
        start += timedelta(weeks=1)
    # A partition is dropped only when every moment it covers is older than the horizon.
    drop = [name for name, start in existing.items() if start + timedelta(weeks=1) <= horizon]
    return PartitionPlan(create=create, drop=sorted(drop))


def apply(cursor, partition_plan: PartitionPlan) -> None:
    for name, start, end in partition_plan.create:
        cursor.execute(
            f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF {PARENT} '
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    for name in partition_plan.drop:
        cursor.execute(f'DROP TABLE IF EXISTS "{name}"')


def ensure(cursor, *, now: datetime, retention_days: int, weeks_ahead: int = 8, drop: bool = False) -> PartitionPlan:
    """Create the missing partitions (and drop expired ones when `drop`); return what was planned."""
    partition_plan = plan(
        existing=existing_partitions(cursor), now=now, retention_days=retention_days, weeks_ahead=weeks_ahead
    )
    if not drop:
        partition_plan = PartitionPlan(create=partition_plan.create, drop=[])
    apply(cursor, partition_plan)
    return partition_plan
