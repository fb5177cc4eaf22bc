"""The envelope every webhook carries (CONTRACT §14), built in one place for deliveries and for samples.

    {"id": "msg_...", "type": "email.opened", "occurred_at": "...Z", "workspace_id": "...",
     "data": {...the event as GET /api/v1/events shows it..., "contact": {...} | null}}

`id` is the `webhook-id` header's value: the same for every subscription, attempt and replay of one event, so a
receiver deduplicates on either. The contact is the contact as it was when the event was fanned out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from penguinflow.outbound.signing import message_id

__all__ = ["StoredEvent", "envelope", "envelope_text", "event_message_id", "iso"]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event row's columns that the envelope shows."""

    id: int
    workspace_id: UUID
    type: str
    contact_id: UUID | None
    occurred_at: datetime
    received_at: datetime
    properties: dict[str, Any]
    source: str
    client_id: str | None
    processed_at: datetime | None


def iso(moment: datetime | None) -> str | None:
    """A timestamp as the API writes it (DRF's format: UTC with `Z`)."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def event_message_id(workspace_id: UUID | str, event_id: int) -> str:
    return message_id(str(workspace_id), f"event:{event_id}")


def envelope(event: StoredEvent, contact: dict[str, Any] | None) -> dict[str, Any]:
    occurred_at = iso(event.occurred_at)
    return {
        "id": event_message_id(event.workspace_id, event.id),
        "type": event.type,
        "occurred_at": occurred_at,
        "workspace_id": str(event.workspace_id),
        "data": {
            "id": event.id,
            "type": event.type,
            "contact_id": str(event.contact_id) if event.contact_id else None,
            "occurred_at": occurred_at,
            "received_at": iso(event.received_at),
            "properties": event.properties,
            "source": event.source,
            "client_id": event.client_id,
            "processed_at": iso(event.processed_at),
            "contact": contact,
        },
    }


def envelope_text(body: dict[str, Any]) -> str:
    """The bytes signed and sent: compact JSON, non-ASCII as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
