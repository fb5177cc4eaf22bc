"""CRM changes into events: each change becomes an event of the contact with its email in the connector's
workspace, written through the one producer (`events.services.events_emit`), so triggers, goals, waits and
conditions see it as any other event. A change is recorded once (``client_id`` ``crm:<connector>:<change key>``:
a webhook delivered twice, or a poll that overlaps the last, adds nothing). A change about an email no contact
of the workspace has is skipped: CRM records are not contacts until they are."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models.functions import Lower

from connectors.crm.protocol import CrmChange
from connectors.models import Connector
from contacts.models import Contact
from events.models import Event
from events.services import NewEvent, events_emit

__all__ = ["Recorded", "changes_record"]


@dataclass(frozen=True)
class Recorded:
    recorded: int
    duplicates: int
    unmatched: int


def _client_id(connector: Connector, key: str) -> str:
    client_id = f"crm:{connector.pk}:{key}"
    return client_id if len(client_id) <= 128 else f"crm:{connector.pk}:" + hashlib.sha256(key.encode()).hexdigest()[:80]


def changes_record(*, connector: Connector, changes: Iterable[CrmChange], source: str = Event.Source.WEBHOOK
                   ) -> Recorded:
    """Record the changes as events of the matching contacts; ``source``: webhook, or system for a poll."""
    changes = list(changes)
    emails = {change.email.strip().lower() for change in changes if change.email}
    ids = dict(Contact.objects.for_workspace(connector.workspace).annotate(lowered=Lower("email"))
               .filter(lowered__in=emails).values_list("lowered", "pk"))
    matched = [change for change in changes if change.email.strip().lower() in ids]
    events = [NewEvent(type=change.type, contact_id=ids[change.email.strip().lower()],
                       properties={**change.properties, "connector_id": str(connector.pk)},
                       occurred_at=datetime.fromisoformat(change.occurred_at) if change.occurred_at else None,
                       source=source, client_id=_client_id(connector, change.key))
              for change in matched]
    with transaction.atomic():
        stored = events_emit(workspace=connector.workspace_id, events=events)
    return Recorded(recorded=len(stored), duplicates=len(events) - len(stored),
                    unmatched=len(changes) - len(matched))
