"""Reads of the event log: a batch of contacts' recent activity (conditions), and the API's listing.

`contact_activity` answers for a whole batch of contacts in one query; `ActivityReader` is the engine's
`ActivityPort` (CONTRACT §7 `event_count`, `email_event`, `in_segment`) on top of it, loading lazily, once per
event type, for every contact of the batch it was built for.

No Redis cache in front: `manage.py bench events` times the one-query read for 500 contacts (its `activity_*`
figures); a batch of the engine makes one such read per event type it asks about, and a cache would have to be
invalidated by every stored event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.db import connection
from django.utils import timezone


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


class ActivityReader:
    """An `ActivityPort` for a batch of contacts: each event type is read once, for all of them together.

    Build one per batch (it keeps what it read); `contacts` are (workspace id, contact id) pairs. A contact
    outside the batch is answered with a query of its own.
    """

    def __init__(self, *, contacts: Iterable[tuple[UUID, UUID]], now: datetime | None = None) -> None:
        self.now = now or timezone.now()
        self._workspace_of: dict[UUID, UUID] = {contact: workspace for workspace, contact in contacts}
        self._by_type: dict[str, dict[UUID, list[Activity]]] = {}
        self._memberships: set[tuple[UUID, UUID]] | None = None

    def _workspaces(self) -> dict[UUID, list[UUID]]:
        grouped: dict[UUID, list[UUID]] = defaultdict(list)
        for contact, workspace in self._workspace_of.items():
            grouped[workspace].append(contact)
        return grouped

    def _events(self, contact_id: str, event_type: str) -> list[Activity]:
        contact = UUID(str(contact_id))
        if contact not in self._workspace_of:
            from contacts.models import Contact

            workspace = Contact.objects.filter(pk=contact).values_list("workspace_id", flat=True).first()
            if workspace is None:
                return []
            found = contact_activity(workspace_id=workspace, contact_ids=[contact], since=None, types=[event_type])
            return found.get(contact, [])
        loaded = self._by_type.get(event_type)
        if loaded is None:
            loaded = {}
            for workspace, contacts in self._workspaces().items():
                loaded.update(contact_activity(workspace_id=workspace, contact_ids=contacts, since=None,
                                               types=[event_type]))
            self._by_type[event_type] = loaded
        return loaded.get(contact, [])

    def event_count(self, *, contact_id: str, type: str, since: datetime | None) -> int:
        return sum(1 for item in self._events(contact_id, type) if since is None or item.occurred_at >= since)

    def email_event(
        self, *, contact_id: str, event: str, node_id: str | None, url_contains: str | None, since: datetime | None
    ) -> bool:
        event_type = event if event.startswith("email.") else f"email.{event}"
        needle = url_contains.casefold() if url_contains else None
        for item in self._events(contact_id, event_type):
            if since is not None and item.occurred_at < since:
                break  # newest first: everything after this is older still
            if node_id is not None and item.node_id != node_id:
                continue
            if needle is not None and needle not in (item.url or "").casefold():
                continue
            return True
        return False

    def in_segment(self, *, contact_id: str, segment_id: str) -> bool:
        from contacts.models import SegmentMembership

        try:
            contact, segment = UUID(str(contact_id)), UUID(str(segment_id))
        except ValueError:
            return False
        if contact not in self._workspace_of:
            return SegmentMembership.objects.filter(contact_id=contact, segment_id=segment).exists()
        if self._memberships is None:
            self._memberships = set(
                SegmentMembership.objects.filter(contact_id__in=list(self._workspace_of)).values_list(
                    "segment_id", "contact_id"
                )
            )
        return (segment, contact) in self._memberships


def events_readable(queryset):
    """Return the events of `queryset` that Python can read, with their properties as text in `properties_text`
    (for `penguinflow.common.validators.StoredJSONField`), not decoded by the ORM.

    Ingestion once accepted what no reader could take back, and one such row failed every page it was on: an
    `occurred_at` outside the years 1-9999 in UTC (psycopg refuses to load it: such rows are left out) and
    properties Python's json refuses (an integer of over 4300 digits: read as text, then decoded leniently).
    """
    from django.db.models import TextField
    from django.db.models.functions import Cast

    return (
        queryset.filter(occurred_at__gte=datetime.min.replace(tzinfo=UTC),
                        occurred_at__lte=datetime.max.replace(tzinfo=UTC))
        .defer("properties")
        .annotate(properties_text=Cast("properties", output_field=TextField()))
    )
