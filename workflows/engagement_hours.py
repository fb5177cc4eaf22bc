"""The evidence of send-time optimization: engagements by contact, channel and local hour of the week.

Event processing hands each batch here (`RuntimeGateway.process`); the batch's engagements are added up and
written with one upsert per table (`EngagementHour`, `WorkspaceEngagementHour`), in the processing transaction.
What counts as engaging: an email opened by a person (an open flagged as a machine's, such as Apple Mail Privacy
Protection's prefetch, or as a scanner's, is left out: it says when the mail server fetched, not when the person
read), an email click, a push click, an SMS reply. The hour is the contact's local hour (their zone, else the
workspace's) when the engagement happened.

An explicit replay of events (`events_replay`) counts them again: the counts are evidence for a prior, where a
few doubled engagements shift nothing that matters, and keeping them exact would cost a lookup per event.
`engagement_hours_rebuild` (command `engagement_hours_rebuild`) recounts a workspace from its stored events: for
history from before this existed, or to wash out replays.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from django.db import connection, transaction

from contacts.models import Contact
from events.gateway import EventRecord
from events.models import Event
from workflows.engine.send_time import HOURS_OF_WEEK, HourCounts, hour_of_week
from workflows.engine.timing import zone_or
from workflows.models import EngagementHour, WorkspaceEngagementHour

__all__ = [
    "ENGAGING",
    "engagement_hours_read",
    "engagement_hours_rebuild",
    "engagement_hours_record",
    "is_engagement",
    "workspace_engagement_hours",
]

ENGAGING: dict[str, str] = {
    "email.opened": "email",
    "email.clicked": "email",
    "push.clicked": "push",
    "sms.received": "sms",
}
# The workspace's distribution moves slowly: read it again after this many seconds (per process).
WORKSPACE_TTL = 300.0
_workspace_cache: dict[tuple[str, str], tuple[float, tuple[int, ...], int]] = {}


def is_engagement(event: Any) -> str | None:
    """Return the channel an event is a person's engagement on, or None (not one, or a bot's or machine's)."""
    channel = ENGAGING.get(event.type)
    flags = event.flags or {}
    if channel is None or event.contact_id is None or flags.get("bot") or flags.get("machine_open"):
        return None
    return channel


def engagement_hours_record(events: Sequence[Any]) -> int:
    """Add the engagements among ``events`` (event records) to the contacts' and workspaces' hour counts; return
    how many were counted."""
    engaging = [(event, channel) for event in events if (channel := is_engagement(event)) is not None]
    if not engaging:
        return 0
    zones = dict(
        (str(pk), zone_or(own, fallback=workspace_zone or "UTC"))
        for pk, own, workspace_zone in Contact.objects.filter(
            pk__in={event.contact_id for event, _ in engaging}
        ).values_list("pk", "timezone", "workspace__timezone")
    )
    by_contact: Counter[tuple[str, str, int]] = Counter()
    by_workspace: Counter[tuple[str, str, int]] = Counter()
    for event, channel in engaging:
        tz = zones.get(str(event.contact_id))
        if tz is None:
            continue  # the contact was erased meanwhile
        hour = hour_of_week(event.occurred_at, tz)
        by_contact[(str(event.contact_id), channel, hour)] += 1
        by_workspace[(str(event.workspace_id), channel, hour)] += 1
    # Sorted, so two batches upserting the same rows take their locks in the same order (no deadlock).
    _upsert(EngagementHour._meta.db_table, "contact_id", sorted(by_contact.items()))
    # The workspace's rows are hot (every batch of a campaign's opens hits the same hours): updated after the
    # processing transaction commits, in one short statement, so concurrent batches never wait on each other's
    # whole transaction. A crash in between loses those increments from the prior, which a rebuild restores.
    workspace_rows = sorted(by_workspace.items())
    transaction.on_commit(lambda: _upsert(WorkspaceEngagementHour._meta.db_table, "workspace_id", workspace_rows))
    return sum(by_contact.values())


def _upsert(table: str, owner: str, rows: list[tuple[tuple[str, str, int], int]]) -> None:
    if not rows:
        return
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    params = [value for (pk, channel, hour), count in rows for value in (UUID(pk), channel, hour, count)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({owner}, channel, hour, count) VALUES {values} "
            f"ON CONFLICT ({owner}, channel, hour) DO UPDATE SET count = {table}.count + EXCLUDED.count",
            params,
        )


def engagement_hours_read(contact_ids: Iterable[str], channel: str) -> dict[str, dict[int, int]]:
    """Return each contact's engagements on ``channel`` by hour of week (contacts without any are left out)."""
    found: dict[str, dict[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT contact_id, hour, count FROM {EngagementHour._meta.db_table} "
            "WHERE contact_id = ANY(%s) AND channel = %s",
            [[UUID(str(pk)) for pk in contact_ids], channel],
        )
        for contact_id, hour, count in cursor.fetchall():
            found.setdefault(str(contact_id), {})[hour] = count
    return found


def workspace_engagement_hours(workspace_id: str, channel: str) -> tuple[tuple[int, ...], int]:
    """Return the workspace's 168 hour counts on ``channel`` and their sum (cached for ``WORKSPACE_TTL``)."""
    key = (str(workspace_id), channel)
    cached = _workspace_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < WORKSPACE_TTL:
        return cached[1], cached[2]
    counts = [0] * HOURS_OF_WEEK
    for hour, count in WorkspaceEngagementHour.objects.filter(workspace_id=workspace_id, channel=channel).values_list(
        "hour", "count"
    ):
        counts[hour] = count
    _workspace_cache[key] = (time.monotonic(), tuple(counts), sum(counts))
    return tuple(counts), sum(counts)


def hour_counts(contact: dict[int, int] | None, workspace: tuple[tuple[int, ...], int]) -> HourCounts:
    return HourCounts(contact=contact or {}, workspace=workspace[0], workspace_total=workspace[1])


REBUILD_CHUNK = 5000


def engagement_hours_rebuild(*, workspace, since, dry_run: bool = False) -> int:
    """Recount the workspace's engagement hours from its events since ``since`` (replacing what the tables held);
    return how many engagements were counted. With ``dry_run``, count and change nothing."""
    rows = (
        Event.objects.filter(workspace=workspace, type__in=list(ENGAGING), occurred_at__gte=since,
                              contact_id__isnull=False)
        .values_list("id", "contact_id", "type", "occurred_at", "flags")
        .iterator(chunk_size=REBUILD_CHUNK)
    )
    counted = 0
    with transaction.atomic():
        if not dry_run:
            EngagementHour.objects.filter(contact__workspace=workspace).delete()
            WorkspaceEngagementHour.objects.filter(workspace=workspace).delete()
        chunk: list[EventRecord] = []
        for event_id, contact_id, type_, occurred_at, flags in rows:
            chunk.append(EventRecord(id=event_id, workspace_id=workspace.pk, contact_id=contact_id, type=type_,
                                     occurred_at=occurred_at, flags=flags or {}))  # fmt: skip
            if len(chunk) == REBUILD_CHUNK:
                counted += _count(chunk, dry_run)
                chunk = []
        counted += _count(chunk, dry_run)
    _workspace_cache.clear()
    return counted


def _count(chunk: list[EventRecord], dry_run: bool) -> int:
    if dry_run:
        return sum(1 for event in chunk if is_engagement(event) is not None)
    return engagement_hours_record(chunk)
