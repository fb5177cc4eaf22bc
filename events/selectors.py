"""Reads of the event log: a batch of contacts' recent activity (conditions), and the API's listing.

`contact_activity` answers for a whole batch of contacts in one query; the engine's `ActivityPort` on top of it
is `contacts.activity.ActivityReader` (it also reads segment memberships, which belong to the contacts app).

No Redis cache in front: `manage.py bench events` times the one-query read for 500 contacts (its `activity_*`
figures); a batch of the engine makes one such read per event type it asks about, and a cache would have to be
invalidated by every stored event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from events.models import Event


@dataclass(frozen=True, slots=True)
class Activity:
    type: str
    occurred_at: datetime
    node_id: str | None
    url: str | None


def contact_activity(
    *, workspace_id: UUID, contact_ids: Collection[UUID], since: datetime | None, types: Collection[str] | None = None
) -> dict[UUID, list[Activity]]:
    """Return the events of these contacts since `since` (all stored when None), newest first, in one query.

    Bot-flagged events (link scanners, prefetching proxies) are not activity and are left out.
    """
    if not contact_ids:
        return {}
    # One descent per contact of the (workspace, contact, occurred_at) index, whatever the planner's estimates
    # (statistics may not be gathered yet on a fresh weekly partition):
    # - a plain `contact_id = ANY(...)` may be planned as a walk over every event of the workspace in the window;
    # - OFFSET 0 keeps the lateral subquery from being flattened into a join that reads every event of the type;
    # - the type is filtered outside the subquery, so that the (workspace, type, occurred_at) index cannot be
    #   chosen inside it: that plan read every event of the type once per contact (minutes for 500 contacts).
    conditions = ["e.workspace_id = %s", "e.contact_id = c.id", "NOT e.flags @> '{\"bot\": true}'"]
    params: list = [list(set(contact_ids)), workspace_id]
    if since is not None:
        conditions.append("e.occurred_at >= %s")
        params.append(since)
    sql = [
        "SELECT c.id, a.type, a.occurred_at, a.node_id, a.url FROM unnest(%s::uuid[]) AS c(id)",
        "CROSS JOIN LATERAL (SELECT e.type, e.occurred_at, e.properties->>'node_id' AS node_id,",
        "e.properties->>'url' AS url FROM events_event e WHERE " + " AND ".join(conditions) + " OFFSET 0) AS a",
    ]
    if types is not None:
        sql.append("WHERE a.type = ANY(%s::text[])")
        params.append(list(types))
    found: dict[UUID, list[Activity]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(" ".join(sql), params)
        for contact_id, type_, occurred_at, node_id, url in cursor.fetchall():
            found[contact_id].append(Activity(type_, occurred_at, node_id, url))
    for items in found.values():
        items.sort(key=lambda item: item.occurred_at, reverse=True)
    return dict(found)


def events_readable(queryset):
    """Return the events of `queryset` that Python can read, with their properties as text in `properties_text`
    (for `penguinflow.common.validators.StoredJSONField`), not decoded by the ORM.

    Ingestion once accepted what no reader could take back, and one such row failed every page it was on: an
    `occurred_at` outside the years 1-9999 in UTC (psycopg refuses to load it: such rows are left out) and
    properties Python's json refuses (an integer of over 4300 digits: read as text, then decoded leniently).
    """
    return (
        queryset.filter(occurred_at__gte=datetime.min.replace(tzinfo=UTC),
                        occurred_at__lte=datetime.max.replace(tzinfo=UTC))
        .defer("properties")
        .annotate(properties_text=Cast("properties", output_field=TextField()))
    )


def contact_recent_events(*, workspace_id: UUID, contact_id: UUID, type: str | None = None,
                          limit: int = 20) -> list[dict]:
    """Return the contact's latest `limit` events (of `type`, if given), newest first, as
    `{type, properties, occurred_at}` (bot-flagged ones left out, as for conditions). One descent of the
    (workspace, contact, occurred_at) index."""
    queryset = Event.objects.filter(workspace_id=workspace_id, contact_id=contact_id,
                                    occurred_at__gte=datetime.min.replace(tzinfo=UTC),
                                    occurred_at__lte=datetime.max.replace(tzinfo=UTC))
    if type:
        queryset = queryset.filter(type=type)
    rows = (queryset.exclude(flags__contains={"bot": True}).order_by("-occurred_at")
            .values("type", "properties", "occurred_at")[:limit])
    return [{**row, "occurred_at": row["occurred_at"].isoformat()} for row in rows]
