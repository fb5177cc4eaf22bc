"""Starting enrollments: contacts entering a published version at a trigger, under its re-enrollment rule.

`enrollments_start` is the one way in, for every trigger (events, segments, schedules, webhooks, by hand, a
backfill, enroll_in_workflow steps): it inserts the new enrollments, emits their `workflow.enrolled` events,
counts them, and reports every contact it skipped with the reason. `pending_enrollments_start` starts those
that a batch's enroll_in_workflow steps (and on_exit_enroll on goal exits) asked for. Running them is
`workflows.runtime`'s.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from events.services import NewEvent, events_store
from penguinflow.common.outbox_insert import insert_new
from workflows.counters import Counters, skipped_key, status_key
from workflows.engine.runner import reenrollment_allowed
from workflows.engine.state import new_enrollment
from workflows.engine.statuses import INITIAL_STATUS
from workflows.live_ports import PendingEnrollment
from workflows.live_versions import LiveVersion, manual_entry_node, published_version_of
from workflows.models import Enrollment, Workflow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One contact entering a version at a trigger, possibly because of an event."""

    contact_id: UUID
    trigger_node_id: str
    event: Mapping[str, Any] | None = None
    event_id: int | None = None
    # What makes this entry the same entry when it is offered again (a schedule occurrence, a date): time-based
    # triggers set it so that firing twice, or after a crash, starts nothing twice.
    occasion: str | None = None


@dataclass
class StartReport:
    started: list[UUID] = field(default_factory=list)
    # (contact id, reason code, sentence)
    skipped: list[tuple[UUID, str, str]] = field(default_factory=list)
    # How many entries each trigger lost to each reason: counted on the version (`trigger.<node>.skipped.<code>`),
    # so that "why did this contact's event start nothing?" has an answer beside the entries.
    skipped_by_trigger: Counter[tuple[str, str]] = field(default_factory=Counter)

    def skip(self, contact_id: UUID, trigger_node_id: str, code: str, sentence: str) -> None:
        self.skipped.append((contact_id, code, sentence))
        self.skipped_by_trigger[(trigger_node_id, code)] += 1


def _entry_key(mode: str, entry: Entry) -> str:
    if mode == "never":
        return "once"
    if entry.event_id is not None:
        # The same event can start an entry once only, however often it is processed or replayed.
        return f"event:{entry.event_id}:{entry.trigger_node_id}"[:64]
    if entry.occasion is not None:
        return hashlib.sha256(f"{entry.trigger_node_id}:{entry.occasion}".encode()).hexdigest()[:64]
    return uuid.uuid4().hex


def event_data(event: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if event is None:
        return None
    occurred = event.get("occurred_at")
    return {
        "id": event.get("id"),
        "type": event.get("type"),
        "properties": dict(event.get("properties") or {}),
        "occurred_at": occurred.isoformat() if isinstance(occurred, datetime) else occurred,
    }


@transaction.atomic
def enrollments_start(
    *, version: LiveVersion, entries: Sequence[Entry], now: datetime | None = None, counters: Counters | None = None,
    count_skips: bool = True,
) -> StartReport:
    """Start enrollments of contacts in a published version, under its re-enrollment rule.

    The entries skipped are reported, and counted on the version by trigger and reason unless `count_skips` is
    false (a trigger that offers the same contacts on every scan).

    One live enrollment per (workflow, contact) and `never` re-enrollment are unique constraints: concurrent
    starters cannot both succeed, and an event processed twice starts nothing the second time. `after` takes a
    transaction-scoped advisory lock per contact before it reads the last entry.
    """
    now = now or timezone.now()
    report = StartReport()
    status = Workflow.objects.filter(pk=version.workflow_id).values_list("status", flat=True).first()
    if status != Workflow.Status.ACTIVE:
        # Not counted: a paused or archived workflow says why by its status, and a deleted one has no counters.
        report.skipped = [(entry.contact_id, "workflow_not_active", f"The workflow is {status or 'deleted'}.")
                          for entry in entries]
        return report
    by_contact = _entries_by_contact(version, entries, report)
    events: list[NewEvent] = []
    if by_contact:
        mode = version.settings.reenrollment.mode
        if mode == "after":
            _drop_entries_too_soon(version, by_contact, report, now)
        rows = [_enrollment_row(version, contact, entry, mode, now) for contact, entry in by_contact.items()]
        events = _insert_enrollments(version, rows, report)
    batch_counters = counters or Counters()
    batch_counters.add(version.id, status_key(INITIAL_STATUS), len(report.started))
    batch_counters.add(version.id, "entries", len(report.started))  # also by day: the analytics' time series
    for (node_id, code), skipped in report.skipped_by_trigger.items() if count_skips else ():
        batch_counters.add(version.id, skipped_key(node_id, code), skipped)
    if events:
        events_store(workspace=version.workspace_id, events=events)
    if counters is None:
        batch_counters.flush()
    return report


def _entries_by_contact(
    version: LiveVersion, entries: Sequence[Entry], report: StartReport
) -> dict[UUID, Entry]:
    """Return each contact's first entry; skip the others, and those that this workflow's own actions caused."""
    by_contact: dict[UUID, Entry] = {}
    for entry in entries:
        origin = ((entry.event or {}).get("properties") or {}).get("workflow_id")
        if origin and str(origin) == str(version.workflow_id):
            # A workflow's own action (a tag it added) must not start it again: that is how loops begin.
            report.skip(entry.contact_id, entry.trigger_node_id, "self_triggered",
                        "The event was caused by this workflow.")
            continue
        if entry.contact_id in by_contact:
            report.skip(entry.contact_id, entry.trigger_node_id, "duplicate",
                        "The contact is already entering in this batch.")
            continue
        by_contact[entry.contact_id] = entry
    return by_contact


def _drop_entries_too_soon(
    version: LiveVersion, by_contact: dict[UUID, Entry], report: StartReport, now: datetime
) -> None:
    """Under re-enrollment `after`: skip the contacts that are in the workflow, or entered it too recently.

    Each contact's advisory lock is taken first, so two starters cannot both read "long enough ago".
    """
    workflow_id = version.workflow_id
    with connection.cursor() as cursor:
        for contact_id in sorted(by_contact, key=str):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{workflow_id}:{contact_id}"])
    previous: dict[UUID, list[datetime]] = defaultdict(list)
    for contact_id, entered_at in Enrollment.objects.filter(
        workflow_id=workflow_id, contact_id__in=list(by_contact)
    ).values_list("contact_id", "entered_at"):
        previous[contact_id].append(entered_at)
    live = set(
        Enrollment.objects.filter(
            workflow_id=workflow_id, contact_id__in=list(by_contact), status__in=Enrollment.LIVE_STATUSES
        ).values_list("contact_id", flat=True)
    )
    for contact_id in list(by_contact):
        allowed, reason = reenrollment_allowed(
            version.settings, previous_entries=previous[contact_id], has_live=contact_id in live, now=now
        )
        if not allowed:
            code = "already_enrolled" if contact_id in live else "reenrollment_not_allowed"
            report.skip(contact_id, by_contact.pop(contact_id).trigger_node_id, code, reason)


def _enrollment_row(
    version: LiveVersion, contact_id: UUID, entry: Entry, mode: str, now: datetime
) -> Enrollment:
    """Return the (unsaved) row of a new enrollment at the entry's trigger, with its engine state."""
    enrollment_id = uuid.uuid4()
    state = new_enrollment(
        enrollment_id=str(enrollment_id),
        contact_id=str(contact_id),
        trigger_node=entry.trigger_node_id,
        entered_at=now,
        trigger_event=event_data(entry.event),
        seed=enrollment_id.int % 2**31,
    )
    return Enrollment(
        id=enrollment_id,
        workspace_id=version.workspace_id,
        workflow_id=version.workflow_id,
        version_id=version.id,
        contact_id=contact_id,
        status=state.status,
        current_node_id=entry.trigger_node_id,
        trigger_node_id=entry.trigger_node_id,
        entered_at=now,
        next_run_at=now,
        context=state.to_dict(),
        trigger_event_id=entry.event_id,
        entry_key=_entry_key(mode, entry),
    )


def _insert_enrollments(version: LiveVersion, rows: list[Enrollment], report: StartReport) -> list[NewEvent]:
    """Insert the rows the unique constraints let in; report them started and the others skipped (and why).

    Return the `workflow.enrolled` events of those started.
    """
    # One statement that also says which rows went in (the live enrollment's partial unique constraint refuses
    # the others), where bulk_create needed a second query to tell.
    inserted = {pk for (pk,) in insert_new(Enrollment, rows, unique=("id",), any_constraint=True)}
    live_now = set(
        Enrollment.objects.filter(
            workflow_id=version.workflow_id,
            contact_id__in=[row.contact_id for row in rows if row.pk not in inserted],
            status__in=Enrollment.LIVE_STATUSES,
        ).values_list("contact_id", flat=True)
    )
    events = []
    for row in rows:
        if row.pk in inserted:
            report.started.append(row.pk)
            events.append(NewEvent(type="workflow.enrolled", contact_id=row.contact_id, properties={
                "workflow_id": str(version.workflow_id), "enrollment_id": str(row.pk), "version": version.number,
            }))
        elif row.contact_id in live_now:
            report.skip(row.contact_id, row.trigger_node_id, "already_enrolled",
                        "The contact is already in this workflow.")
        elif row.entry_key != "once":
            # Outside `never`, only an event's or an occasion's own key can be taken: it started this entry before
            # (an event processed again, a schedule fired twice).
            report.skip(row.contact_id, row.trigger_node_id, "already_started",
                        "This event or occasion already started the contact's enrollment.")
        else:
            report.skip(row.contact_id, row.trigger_node_id, "reenrollment_not_allowed",
                        "The workflow's re-enrollment rule does not allow it.")
    return events


def pending_enrollments_start(pending: list[PendingEnrollment], counters: Counters, now: datetime) -> None:
    """Start the enrollments asked for by enroll_in_workflow steps and by on_exit_enroll on goal exits."""
    # on_exit_enroll arrives here too: the runner asks the WorkflowsPort on a goal exit.
    wanted: list[tuple[str, str]] = [(p.workflow_id, p.contact_id) for p in pending]
    if not wanted:
        return
    by_workflow: dict[str, list[str]] = defaultdict(list)
    for workflow_id, contact_id in wanted:
        by_workflow[workflow_id].append(contact_id)
    workflows = {str(w.pk): w for w in Workflow.objects.filter(pk__in=_valid_uuids(by_workflow))}
    for workflow_id, contact_ids in by_workflow.items():
        workflow = workflows.get(workflow_id)
        version = published_version_of(workflow) if workflow else None
        node = manual_entry_node(version) if version else None
        if version is None or node is None:
            logger.warning("enroll_in_workflow: workflow %s has no published version to enter", workflow_id)
            continue
        enrollments_start(
            version=version,
            entries=[Entry(contact_id=UUID(contact_id), trigger_node_id=node) for contact_id in contact_ids],
            now=now,
            counters=counters,
        )


def _valid_uuids(values: Iterable[str]) -> list[str]:
    valid = []
    for value in values:
        try:
            valid.append(str(UUID(str(value))))
        except ValueError:
            continue
    return valid
