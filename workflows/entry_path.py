"""The one entry path: which published versions an event, a time tick or an inbound webhook call starts, and for
which contacts.

Trigger node types decide (`workflows.engine.entry`); this module hands them what live runs know and makes
their decisions durable through `workflows.enrollment_starts.enrollments_start`:

- events (event, segment and score triggers, all keyed by the event types their node types listen to):
  `event_entries()` finds them with one index lookup per event (`workflows.trigger_index`); the batch's contacts
  are read once, and only when a filter reads them; their activity reader is built at the first filter that
  asks. `event_entries_start()` starts them. The simulator asks the same node types the same way.
- time ticks (schedule, date-field and inactivity triggers): `time_triggers_fire()`; each (version, trigger)
  keeps a cursor of how far it has fired, and every entry carries an occasion, so that firing twice (two
  schedulers, a crash between enrolling and moving the cursor) starts nothing twice.
- inbound webhooks: `webhook_entry_start()`.

Not entered, because: a trigger that could not judge a contact (a filter that cannot be evaluated, say about a
segment deleted since publishing) is logged as one `not_entered` line and counted on its version
(`trigger.<node id>.not_entered`), next to the version's other counters. A filter that simply does not hold is
the normal case and is not recorded.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from contacts.activity import ActivityReader
from contacts.models import Contact, Segment
from contacts.segments import rule_candidates, segment_contacts
from contacts.selectors import contact_as_data
from contacts.services import contact_create
from events.gateway import EventRecord
from events.models import Event
from events.services import event_emit
from penguinflow.common.errors import NotAllowedNow, NotFound
from workflows.counters import Counters
from workflows.engine.entry import (
    SegmentCheckedActivity,
    TriggerScope,
    TriggerType,
    trigger_decision,
    webhook_trigger,
)
from workflows.enrollment_starts import Entry, StartReport, enrollments_start
from workflows.live_versions import published_version_of, versions_load
from workflows.models import TriggerCursor, Workflow
from workflows.trigger_index import (
    TriggerIndex,
    TriggerStep,
    trigger_config,
    trigger_index,
    trigger_steps_active,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NotEntered:
    """A contact a trigger could not judge, and why."""

    version_id: UUID
    node_id: str
    contact_id: UUID | str
    reason: str
    event_id: int | None = None


@dataclass
class Entries:
    """The entries a batch offers, by version and in the order of its events, and the contacts not judged."""

    by_version: dict[UUID, list[Entry]] = field(default_factory=lambda: defaultdict(list))
    not_entered: list[NotEntered] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(entries) for entries in self.by_version.values())


def not_entered_record(skipped: Sequence[NotEntered]) -> None:
    """Log the contacts a trigger could not judge, one line per (version, trigger, reason) so that a filter broken
    for a whole audience is one line, not thousands; count each contact on the trigger's version."""
    if not skipped:
        return
    grouped: dict[tuple[UUID, str, str], list[NotEntered]] = defaultdict(list)
    for skip in skipped:
        grouped[(skip.version_id, skip.node_id, skip.reason)].append(skip)
    counters = Counters()
    for (version_id, node_id, reason), skips in grouped.items():
        contacts = [str(skip.contact_id) for skip in skips]
        events = [skip.event_id for skip in skips if skip.event_id is not None]
        logger.warning(
            "not_entered version=%s node=%s contacts=%d first=%s events=%s reason=%r", version_id, node_id,
            len(skips), contacts[:10], events[:10], f"Not entered, because {reason}.",
            extra={"version_id": str(version_id), "node_id": node_id, "contact_ids": contacts[:100],
                   "event_ids": events[:100], "not_entered": len(skips), "reason": reason},
        )
        counters.add(version_id, f"trigger.{node_id}.not_entered", len(skips))
    counters.flush()


def _start(by_version: dict[UUID, list[Entry]], now: datetime) -> None:
    if not by_version:
        return
    versions = versions_load(by_version)
    # In one order in every transaction: each version's start writes its counter rows, and two event batches that
    # started the same versions in arrival order would lock them crosswise (a deadlock `bench soak` met).
    for version_id, entries in sorted(by_version.items(), key=lambda item: str(item[0])):
        version = versions.get(version_id)
        if version is not None:
            enrollments_start(version=version, entries=entries, now=now)


# --- events ----------------------------------------------------------------------------------------------------------


def event_record_data(event: EventRecord) -> dict[str, Any]:
    """Return a processed event as entries and resumes carry it (`occurred_at` stays a datetime)."""
    return {"id": event.id, "type": event.type, "properties": dict(event.properties or {}),
            "occurred_at": event.occurred_at}


class _BatchActivity:
    """The history of a batch's contacts, as trigger filters read it: the `ActivityReader` is built at the first
    question (most batches ask none), and a segment that does not exist cannot be asked about."""

    def __init__(self, contacts: set[tuple[UUID, UUID]], now: datetime) -> None:
        self._contacts, self._now = contacts, now
        self._reader: ActivityReader | None = None
        self._workspace_of = {str(contact): workspace for workspace, contact in contacts}
        self._segments: set[tuple[UUID, str]] | None = None
        self.port = SegmentCheckedActivity(self, segment_exists=self._segment_exists)

    def _segment_exists(self, contact_id: str, segment_id: str) -> bool:
        if self._segments is None:
            workspaces = set(self._workspace_of.values())
            self._segments = {(workspace, str(segment)) for workspace, segment in
                              Segment.objects.filter(workspace_id__in=workspaces).values_list("workspace_id", "pk")}
        return (self._workspace_of.get(str(contact_id)), str(segment_id)) in self._segments

    def _read(self) -> ActivityReader:
        if self._reader is None:
            self._reader = ActivityReader(contacts=self._contacts, now=self._now)
        return self._reader

    def in_segment(self, **question: Any) -> bool:
        return self._read().in_segment(**question)

    def event_count(self, **question: Any) -> int:
        return self._read().event_count(**question)

    def email_event(self, **question: Any) -> bool:
        return self._read().email_event(**question)

    def message_event(self, **question: Any) -> bool:
        return self._read().message_event(**question)


def _contacts_data(pairs: set[tuple[UUID, UUID]]) -> dict[UUID, dict[str, Any]]:
    if not pairs:
        return {}
    wanted = {contact_id: workspace_id for workspace_id, contact_id in pairs}
    found = Contact.objects.filter(pk__in=list(wanted)).prefetch_related("scores")
    return {c.pk: contact_as_data(c) for c in found if wanted.get(c.pk) == c.workspace_id}


def event_entries(events: Sequence[EventRecord], *, now: datetime, index: TriggerIndex | None = None) -> Entries:
    """Return the entries that `events` offer to the published versions' event, segment and score triggers.

    Bot hits and events without a contact start nothing. Filters see `{event, contact}`, the contact's history
    and `now`. A trigger that could not judge its event is in `not_entered`, with the reason.
    """
    index = index if index is not None else trigger_index()
    candidates = []
    readers: set[tuple[UUID, UUID]] = set()
    for event in events:
        if event.contact_id is None or event.is_bot:
            continue
        triggers = index.triggers_for(event.workspace_id, event.type)
        if triggers:
            reads = any(trigger.reads_contact for trigger in triggers)
            candidates.append((event, triggers, reads))
            if reads:
                readers.add((event.workspace_id, event.contact_id))
    found = Entries()
    if not candidates:
        return found
    contacts = _contacts_data(readers)
    activity = _BatchActivity(readers, now).port if readers else None
    for event, triggers, reads in candidates:
        data, contact_id = event.as_data(), str(event.contact_id)
        plain = TriggerScope(event=data, contact=None, contact_id=contact_id, activity=None, now=now)
        contact = contacts.get(event.contact_id) if reads else None
        full = None if contact is None else TriggerScope(
            event=data, contact=contact, contact_id=contact_id, activity=activity, now=now)
        for trigger in triggers:
            scope = full if trigger.reads_contact else plain
            if scope is None:
                continue  # erased or never existed: nothing to enroll
            decision = trigger_decision(trigger.trigger, trigger.config, scope)
            if decision.entered:
                found.by_version[trigger.version_id].append(Entry(
                    contact_id=event.contact_id, trigger_node_id=trigger.node_id, event=event_record_data(event),
                    event_id=event.id))
            elif decision.error is not None:
                found.not_entered.append(NotEntered(trigger.version_id, trigger.node_id, event.contact_id,
                                                    decision.reason, event.id))
    return found


def event_entries_start(events: Sequence[EventRecord], *, now: datetime) -> Entries:
    """Start the entries that `events` offer (under each version's re-enrollment rule); record those not judged."""
    entries = event_entries(events, now=now)
    not_entered_record(entries.not_entered)
    _start(entries.by_version, now)
    return entries


# --- time ticks ------------------------------------------------------------------------------------------------------


class _Contact:
    """A stored contact as time-based triggers read it; `data` (what rules see) is built when first read."""

    __slots__ = ("_data", "_row", "fields", "id", "timezone")

    def __init__(self, row: Contact) -> None:
        self._row, self._data = row, None
        self.id, self.timezone, self.fields = str(row.pk), row.timezone, row.fields or {}

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = contact_as_data(self._row)
        return self._data


class _StoredContacts:
    """The subscribed contacts of one workspace, read in chunks, as time-based triggers ask for them.

    With an `audience_rule` (a schedule's audience), only the contacts its SQL form may hold for are read: the
    trigger still evaluates the rule on each of them."""

    def __init__(self, workspace_id: UUID, *, audience_rule: Any = None, now: datetime | None = None) -> None:
        self.workspace_id = workspace_id
        self.audience_rule, self.now = audience_rule, now

    def _subscribed(self):
        return Contact.objects.filter(workspace_id=self.workspace_id, status=Contact.Status.SUBSCRIBED)

    def subscribed(self, *, segment_id: str | None) -> Iterator[_Contact]:
        contacts = self._subscribed()
        if segment_id:
            try:
                segment = Segment.objects.filter(workspace_id=self.workspace_id, pk=UUID(str(segment_id))).first()
            except ValueError:
                segment = None
            if segment is None:
                return iter(())
            contacts = segment_contacts(segment=segment).filter(status=Contact.Status.SUBSCRIBED)
        if self.audience_rule is not None:
            candidates = rule_candidates(workspace_id=self.workspace_id, rule=self.audience_rule,
                                         now=self.now or timezone.now())
            if candidates is not None:
                contacts = contacts.filter(pk__in=RawSQL(*candidates))
                if connection.in_atomic_block:  # as in contacts.segments.rule_members: no JIT for this expression
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL jit = off")
        return (_Contact(row) for row in contacts.prefetch_related("scores").iterator(chunk_size=2000))

    def with_field(self, *, field: str) -> Iterator[_Contact]:
        contacts = self._subscribed().filter(fields__has_key=field)
        return (_Contact(row) for row in contacts.iterator(chunk_size=2000))

    def inactive(self, *, events: Sequence[str], since: datetime) -> list[tuple[str, datetime | None]]:
        # One probe of each contact's events, newest first (events_event_ws_contact_occurred): its last such
        # event says both whether it is quiet and which spell of quiet this is.
        last = Event.objects.filter(workspace_id=self.workspace_id, contact_id=OuterRef("pk"),
                                    type__in=list(events)).order_by("-occurred_at").values("occurred_at")[:1]
        quiet = (self._subscribed().filter(created_at__lt=since).annotate(last_active=Subquery(last))
                 .filter(Q(last_active__lt=since) | Q(last_active__isnull=True)))
        return [(str(pk), last_active) for pk, last_active in quiet.values_list("pk", "last_active")]


def _cursor(step: TriggerStep, now: datetime) -> TriggerCursor:
    cursor, _ = TriggerCursor.objects.select_for_update().get_or_create(
        version_id=step.version_id, node_id=step.node_id, defaults={"fired_until": step.published_at or now},
    )
    return cursor


def _time_trigger_fire(step: TriggerStep, trigger: TriggerType, config: Any, now: datetime) -> int:
    """Fire one time-based trigger if it is due; return how many enrollments started. Caller holds a transaction."""
    cursor = _cursor(step, now)
    if trigger.scan_interval is not None and now - cursor.fired_until < trigger.scan_interval:
        return 0
    version = versions_load([step.version_id]).get(step.version_id)
    if version is None:
        return 0
    firing = trigger.fire(config, fired_until=cursor.fired_until, now=now,
                          contacts=_StoredContacts(step.workspace_id, now=now,
                                                   audience_rule=getattr(getattr(config, "audience", None), "rule", None)),
                          timezone=version.settings.timezone)
    if firing is None:
        return 0
    not_entered_record([NotEntered(step.version_id, step.node_id, contact_id, reason)
                        for contact_id, reason in firing.not_entered])
    started = 0
    if firing.entries:
        entries = [Entry(contact_id=UUID(contact_id), trigger_node_id=step.node_id, occasion=occasion)
                   for contact_id, occasion in firing.entries]
        started = len(enrollments_start(version=version, entries=entries, now=now,
                                        count_skips=not trigger.reoffers).started)
    cursor.fired_until = firing.fired_until
    cursor.save(update_fields=["fired_until"])
    return started


def time_triggers_fire(*, now: datetime | None = None) -> int:
    """Fire every due time-based trigger of the active versions; return how many enrollments started.

    The scheduler calls this periodically. Each trigger fires in a transaction of its own.
    """
    now = now or timezone.now()
    started = 0
    for step in trigger_steps_active(entered_by="time"):
        parsed = trigger_config(step)
        if parsed is None:
            continue
        with transaction.atomic():
            started += _time_trigger_fire(step, *parsed, now)
    return started


# --- inbound webhooks ------------------------------------------------------------------------------------------------


def webhook_entry_start(*, workflow, contact: dict[str, Any], properties: dict[str, Any]) -> StartReport:
    """Enter a contact (by id, email or external id; a new email creates the contact) at the workflow's webhook
    trigger, storing the call as its `webhook.received` event. Refused (422) when the workflow does not take
    webhook entries now (not active, or no webhook trigger); 404 when no contact has the id or external id."""
    version = published_version_of(workflow) if workflow.status == Workflow.Status.ACTIVE else None
    node = webhook_trigger(version.graph) if version else None
    if version is None or node is None:
        raise NotAllowedNow("This workflow does not take webhook entries now (not active, or no webhook trigger).",
                            code="workflow_not_active")
    with transaction.atomic():
        person = _webhook_contact(workflow, contact)
        event = event_emit(
            workspace=workflow.workspace, type="webhook.received", contact_id=person.pk,
            properties={**properties, "workflow_id": str(workflow.pk)}, source=Event.Source.WEBHOOK,
        )
        # The entry's event is the body as given: the stored one names this workflow, which would read as the
        # workflow's own echo.
        return enrollments_start(version=version, entries=[Entry(
            contact_id=person.pk, trigger_node_id=node, event_id=event.id,
            event={"id": event.id, "type": event.type, "occurred_at": event.occurred_at, "properties": properties},
        )])


def _webhook_contact(workflow, given: dict[str, Any]) -> Contact:
    scope = Contact.objects.for_workspace(workflow.workspace)
    if "id" in given:
        contact = scope.filter(pk=given["id"]).first()
    elif "external_id" in given:
        contact = scope.filter(external_id=given["external_id"]).first()
    else:
        contact = scope.filter(email=given["email"].strip().lower()).first() or contact_create(
            workspace=workflow.workspace, email=given["email"], source=Event.Source.WEBHOOK
        )
    if contact is None:
        raise NotFound("No contact matches the given id or external_id.")
    return contact
