"""Write events. `event_emit` is the one producer that every part of PenguinFlow calls.

Events are written inside the caller's transaction, so that an event and the change it reports commit (or roll
back) together. They start unprocessed: the dispatcher picks them up from PostgreSQL after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils import timezone

from events.models import Event


@dataclass(frozen=True)
class NewEvent:
    type: str
    contact_id: UUID | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    source: str = Event.Source.SYSTEM
    client_id: str | None = None
    flags: Mapping[str, Any] = field(default_factory=dict)


def events_emit(*, workspace, events: Iterable[NewEvent]) -> list[Event]:
    """Store several events of one workspace in one statement; return them with their ids."""
    now = timezone.now()
    rows = [
        Event(
            workspace=workspace,
            contact_id=item.contact_id,
            type=item.type,
            occurred_at=item.occurred_at or now,
            received_at=now,
            properties=dict(item.properties),
            source=item.source,
            client_id=item.client_id,
            flags=dict(item.flags),
        )
        for item in events
    ]
    if not rows:
        return []
    return Event.objects.bulk_create(rows)


def event_emit(
    *,
    workspace,
    type: str,
    contact_id: UUID | None = None,
    properties: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    source: str = Event.Source.SYSTEM,
    client_id: str | None = None,
) -> Event:
    """Store one event that PenguinFlow itself observed (contact, campaign, email, workflow changes)."""
    (event,) = events_emit(
        workspace=workspace,
        events=[
            NewEvent(
                type=type,
                contact_id=contact_id,
                properties=properties or {},
                occurred_at=occurred_at,
                source=source,
                client_id=client_id,
            )
        ],
    )
    return event
