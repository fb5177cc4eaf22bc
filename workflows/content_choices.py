"""The evidence of content recommendations (`workflows.engine.content`): which candidate template each send step
chose for each contact, the contact's top topic then, and whether the contact clicked.

A choice is recorded by the step (`LiveOptimization.content_choice_record`, in the batch's transaction, once per
effect key); a click is credited by event processing (`RuntimeGateway.process`): an `email.clicked` of a person
names its outbox message, whose key is the step's effect key, so the click marks that one choice (a second click
on the same message changes nothing: rates are per message, not per click).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from django.db import connection

from templates.models import OutboxMessage
from workflows.models import ContentChoice

__all__ = ["content_choice_record", "content_clicks_record", "content_stats_read"]


def content_choice_record(*, workflow_id: Any, node_id: str, key: str, template_id: str, topic: str | None) -> str:
    """Record the choice for ``key`` unless one is recorded; return the template recorded for ``key``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ContentChoice._meta.db_table} (workflow_id, node_id, key, template_id, topic, clicked, "
            "chosen_at) VALUES (%s, %s, %s, %s, %s, false, now()) ON CONFLICT (key) DO NOTHING RETURNING template_id",
            [workflow_id, node_id, key, template_id, topic or ""],
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute(f"SELECT template_id FROM {ContentChoice._meta.db_table} WHERE key = %s", [key])
            row = cursor.fetchone()
    return row[0]


def content_stats_read(workflow_id: Any, node_id: str) -> dict[str, dict[str, tuple[int, int]]]:
    """Return topic ('' for all contacts) -> template id -> (sent, clicked) of the step's choices (every
    version of the workflow: the node keeps learning across publishes)."""
    stats: dict[str, dict[str, tuple[int, int]]] = {"": {}}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT template_id, topic, count(*), count(*) FILTER (WHERE clicked) "
            f"FROM {ContentChoice._meta.db_table} WHERE workflow_id = %s AND node_id = %s GROUP BY template_id, topic",
            [workflow_id, node_id],
        )
        for template_id, topic, sent, clicked in cursor.fetchall():
            all_sent, all_clicked = stats[""].get(template_id, (0, 0))
            stats[""][template_id] = (all_sent + sent, all_clicked + clicked)
            if topic:
                stats.setdefault(topic, {})[template_id] = (sent, clicked)
    return stats


def content_clicks_record(events: Sequence[Any]) -> int:
    """Mark the choices whose message a person clicked among ``events``; return how many were newly marked."""
    messages = set()
    for event in events:
        properties = event.properties or {}
        if event.type == "email.clicked" and properties.get("node_id") and not (event.flags or {}).get("bot"):
            try:
                messages.add(UUID(str(properties.get("message_id"))))
            except ValueError:
                continue
    if not messages:
        return 0
    keys = list(OutboxMessage.objects.filter(pk__in=messages).values_list("key", flat=True))
    if not keys:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ContentChoice._meta.db_table} SET clicked = true WHERE key = ANY(%s) AND NOT clicked",
            [sorted(keys)],
        )
        return cursor.rowcount
