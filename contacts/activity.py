"""What the engine's conditions ask about a contact's past: CONTRACT §7 `event_count`, `email_event`, `in_segment`,
and §13 `sms_event`, `push_event`.

`ActivityReader` is the engine's `ActivityPort` for a batch of contacts, on top of `events.selectors.
contact_activity` (one query for the whole batch per event type, loaded lazily, once) and of the contacts' segment
memberships (one query for the batch). It lives with the contacts because it reads both the event log, which is
below this app, and the memberships, which are this app's (why no cache: `events.selectors`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from django.utils import timezone

from contacts.models import Contact, SegmentMembership
from events.selectors import Activity, contact_activity


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

    def message_event(self, *, contact_id: str, event: str, node_id: str | None, since: datetime | None) -> bool:
        for item in self._events(contact_id, event):
            if since is not None and item.occurred_at < since:
                break  # newest first
            if node_id is None or item.node_id == node_id:
                return True
        return False

    def in_segment(self, *, contact_id: str, segment_id: str) -> bool:
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
