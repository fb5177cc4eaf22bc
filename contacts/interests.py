"""What each contact clicks: the topics and links they engage with (`contact.interests`, issue 20 item 5).

Event processing hands each batch here (`RuntimeGateway.process`). A person's click (`email.clicked`,
`push.clicked`; a scanner's, flagged `bot`, is left out) adds one to the contact's link (host and path of the
clicked URL, no query) and to its topic: the event's `topic` property (push messages carry theirs), else the first
segment of the clicked URL's path (`https://shop.example/shoes/red` → `shoes`), the way most sites file their pages.
The counts live in `ContactInterest` (one upsert per batch); the contact's summary (the top topics with their
share and the top links) is then rewritten for the batch's clicking contacts only, in one statement right after
the processing transaction commits, so templates,
conditions and segments read `contact.interests` from the contact row like any attribute: sending reads nothing more.
`interests_rebuild` (command `interests_rebuild`) recounts a workspace from its stored clicks: for history from
before this existed, or after an explicit replay of events (which counts its clicks again).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.db import connection, transaction

from contacts.models import Contact, ContactInterest
from events.gateway import EventRecord
from events.models import Event

__all__ = ["CLICKS", "TOP", "interest_keys", "interests_rebuild", "interests_record", "interests_summaries", "interests_summaries_write"]

CLICKS = frozenset({"email.clicked", "push.clicked"})
TOP = 5  # topics and links kept in a contact's summary
_TOPIC = re.compile(r"^[a-z][a-z0-9_-]{1,40}$")


def interest_keys(event: Any) -> tuple[str | None, str | None]:
    """Return the (topic, link) a click event counts for, each None when it has none (or is not a person's click)."""
    if event.type not in CLICKS or event.contact_id is None or (event.flags or {}).get("bot"):
        return None, None
    properties = event.properties or {}
    topic = str(properties.get("topic") or "").strip().lower()[:64] or None
    link = None
    url = properties.get("url")
    if isinstance(url, str) and url:
        parts = urlsplit(url)
        host = (parts.hostname or "").removeprefix("www.")
        if host:
            link = f"{host}{parts.path.rstrip('/') or '/'}"[:200]
            first = parts.path.strip("/").split("/", 1)[0].lower()
            if topic is None and _TOPIC.match(first):
                topic = first
    return topic, link


def interests_record(events: Sequence[Any]) -> int:
    """Add the clicks among ``events`` (event records) to their contacts' interest counts and rewrite those
    contacts' summaries; return how many clicks counted."""
    counts: Counter[tuple[str, str, str]] = Counter()
    clicks: Counter[str] = Counter()
    for event in events:
        topic, link = interest_keys(event)
        if topic or link:
            clicks[str(event.contact_id)] += 1
        if topic:
            counts[(str(event.contact_id), ContactInterest.Kind.TOPIC, topic)] += 1
        if link:
            counts[(str(event.contact_id), ContactInterest.Kind.LINK, link)] += 1
    if not counts:
        return 0
    table = ContactInterest._meta.db_table
    rows = sorted(counts.items())  # the same lock order in every batch: no deadlock between two of them
    with connection.cursor() as cursor:
        # Arrays rather than a VALUES list (one parameter per column, not per value: cheaper to send and parse);
        # the join keeps out a contact erased meanwhile (its row would break the foreign key).
        cursor.execute(
            f"INSERT INTO {table} (contact_id, kind, key, count) "
            "SELECT u.contact_id, u.kind, u.key, u.count "
            "FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::int[]) WITH ORDINALITY AS u(contact_id, kind, key, count, n) "
            f"JOIN {Contact._meta.db_table} c ON c.id = u.contact_id ORDER BY u.n ON CONFLICT (contact_id, kind, key) DO UPDATE SET count = {table}.count + EXCLUDED.count "
            "RETURNING contact_id",
            [[UUID(c) for (c, _, _), _ in rows], [str(k) for (_, k, _), _ in rows], [key for (_, _, key), _ in rows],
             [n for _, n in rows]],
        )
        touched = sorted({str(row[0]) for row in cursor.fetchall()})
    if not touched:
        return 0
    # The contact rows are written after the processing transaction commits, in one short statement of their
    # own: a workflow batch holds its contacts' row locks while it may wait on an enrollment this transaction
    # resumed, so taking contact locks in here could deadlock with it. A crash in between leaves the summary one
    # batch behind its counts, until the contact's next click.
    transaction.on_commit(lambda: interests_summaries_write(touched))
    return sum(clicks[contact_id] for contact_id in touched)


def interests_summaries_write(contact_ids: Sequence[str]) -> None:
    """Rewrite the contacts' `interests` from their counts (contacts in id order: the lock order of every writer)."""
    summaries = interests_summaries(contact_ids)
    if not summaries:
        return
    with connection.cursor() as cursor:
        ordered = sorted(summaries)
        cursor.execute(
            f"UPDATE {Contact._meta.db_table} AS c SET interests = v.data FROM unnest(%s::uuid[], %s::jsonb[]) "
            "AS v(id, data) WHERE c.id = v.id",
            [[UUID(pk) for pk in ordered], [json.dumps(summaries[pk]) for pk in ordered]],
        )


def interests_summaries(contact_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return each contact's summary from its counts: the top ``TOP`` topics (count and share of the topic
    clicks) and links, and the number of clicks on links."""
    summaries: dict[str, dict[str, Any]] = {}
    ids = [UUID(str(pk)) for pk in contact_ids]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_id, kind, key, count, total FROM ("
            " SELECT contact_id, kind, key, count, sum(count) OVER (PARTITION BY contact_id, kind) AS total,"
            " row_number() OVER (PARTITION BY contact_id, kind ORDER BY count DESC, key) AS rank"
            f" FROM {ContactInterest._meta.db_table} WHERE contact_id = ANY(%s)) AS ranked WHERE rank <= %s "
            "ORDER BY contact_id, kind, rank",
            [ids, TOP],
        )
        for contact_id, kind, key, count, total in cursor.fetchall():
            summary = summaries.setdefault(str(contact_id), {"topics": [], "links": [], "clicks": 0})
            if kind == ContactInterest.Kind.TOPIC:
                summary["topics"].append({"topic": key, "count": count, "share": round(count / total, 3)})
            else:
                summary["links"].append({"link": key, "count": count})
                summary["clicks"] = int(total)
    return summaries



REBUILD_CHUNK = 5000


def interests_rebuild(*, workspace, since, dry_run: bool = False) -> int:
    """Recount the workspace's interests from its clicks since ``since`` (replacing the counts and summaries);
    return how many clicks counted. With ``dry_run``, count and change nothing."""
    rows = (
        Event.objects.filter(workspace=workspace, type__in=sorted(CLICKS), occurred_at__gte=since,
                             contact_id__isnull=False)
        .values_list("id", "contact_id", "type", "occurred_at", "properties", "flags")
        .iterator(chunk_size=REBUILD_CHUNK)
    )  # fmt: skip
    counted = 0
    with transaction.atomic():
        if not dry_run:
            ContactInterest.objects.filter(contact__workspace=workspace).delete()
            Contact.objects.filter(workspace=workspace).exclude(interests={}).update(interests={})
        chunk: list[EventRecord] = []
        for event_id, contact_id, type_, occurred_at, properties, flags in rows:
            chunk.append(EventRecord(id=event_id, workspace_id=workspace.pk, contact_id=contact_id, type=type_,
                                     occurred_at=occurred_at, properties=properties or {}, flags=flags or {}))
            if len(chunk) == REBUILD_CHUNK:
                counted += _count(chunk, dry_run)
                chunk = []
        counted += _count(chunk, dry_run)
    return counted


def _count(chunk: list[EventRecord], dry_run: bool) -> int:
    if dry_run:
        return sum(1 for event in chunk if interest_keys(event) != (None, None))
    return interests_record(chunk)
