"""The durable runtime: advance enrollments in batches, recording every step.

The engine core decides (`workflows.engine.runner.run_enrollment`); this module makes its decisions durable.
A batch runs in one transaction: enrollments and their contacts are locked, each enrollment runs forward as far
as it can (until it waits, completes, exits or fails), and then the new states, step runs, contact changes,
events and analytics counters are written with a constant number of statements. Whatever a crash interrupts
rolls back as a whole and is run again from the last committed state.

What a batch builds on lives beside it, each in a module of its own: the published versions it runs
(`workflows.live_versions`), the analytics counters (`workflows.counters`), starting enrollments
(`workflows.enrollment_starts`: a batch starts those its enroll_in_workflow steps ask for), the step log
(`workflows.step_log`) and enrollments whose run crashed (`workflows.crashes`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contacts.activity import ActivityReader
from contacts.models import Contact
from contacts.segments import segments_refresh
from contacts.selectors import contact_as_data
from events.models import Event
from events.services import NewEvent, events_store
from penguinflow.common.db import CONNECTION_ERRORS, bulk_update_rows
from templates.outbox import OutboxConflict
from workflows.batch_calls import BatchCalls
from workflows.counters import Counters, count_run, split_goal_key
from workflows.crashes import enrollment_crash_record
from workflows.engine.runner import run_enrollment
from workflows.engine.state import EnrollmentState, Resume, RunResult, StepRecord
from workflows.engine.statuses import EnrollmentStatus
from workflows.engine.statuses import transition as status_transition
from workflows.enrollment_starts import event_data, pending_enrollments_start
from workflows.live_ports import ContactBook, PendingEnrollment, live_ports
from workflows.live_updates import executions_changed
from workflows.live_versions import LiveVersion, versions_load
from workflows.models import Enrollment, StepRun, Workflow
from workflows.step_log import step_runs_insert

logger = logging.getLogger(__name__)

RUNNING_WORKFLOW_STATUSES = (Workflow.Status.ACTIVE, Workflow.Status.ARCHIVED)


@dataclass
class AdvanceReport:
    ran: int = 0
    steps: int = 0
    held: int = 0
    by_status: Counter = field(default_factory=Counter)

    def add(self, other: AdvanceReport) -> None:
        self.ran, self.steps, self.held = self.ran + other.ran, self.steps + other.steps, self.held + other.held
        self.by_status.update(other.by_status)


def _goal_credits(enrollment_id: UUID, records: list[StepRecord], goal: str = "") -> list[str]:
    """Return the counters a goal conversion credits: each step the enrollment went through
    (`node.<id>.goal_reached`) and each split variant it took (`split.<id>.<variant>.goal_reached`, and per goal
    `split_goal_key`, which optimizing splits learn from), read from its step log and this batch's steps in one
    query."""
    taken = {(r.node_id, r.type, r.branch if r.outcome == "advance" else "") for r in records}
    logged = StepRun.objects.filter(enrollment_id=enrollment_id).values_list("node_id", "type", "branch", "status")
    taken |= {(node_id, type_, branch if status == "succeeded" else "")
              for node_id, type_, branch, status in logged.distinct()}
    nodes = sorted({node_id for node_id, _, _ in taken})
    variants = sorted({(node_id, branch) for node_id, type_, branch in taken if type_ == "split" and branch})
    return [f"node.{node_id}.goal_reached" for node_id in nodes] + [
        f"split.{node_id}.{variant}.goal_reached" for node_id, variant in variants] + [
        split_goal_key(node_id, variant, goal) for node_id, variant in variants if goal]


def _finish_events(version: LiveVersion, enrollment: Enrollment, state: EnrollmentState) -> list[NewEvent]:
    properties = {"workflow_id": str(version.workflow_id), "enrollment_id": str(enrollment.pk),
                  "version": version.number}
    if state.status == EnrollmentStatus.COMPLETED:
        return [NewEvent(type="workflow.completed", contact_id=enrollment.contact_id, properties=properties)]
    if state.status == EnrollmentStatus.EXITED:
        properties.update(reason=state.exit_reason, goal=state.goal)
        return [NewEvent(type="workflow.exited", contact_id=enrollment.contact_id, properties=properties)]
    if state.status == EnrollmentStatus.FAILED:
        properties.update(error=state.error)
        return [NewEvent(type="workflow.failed", contact_id=enrollment.contact_id, properties=properties)]
    return []


def _error_of(state: EnrollmentState, records: list[StepRecord]) -> dict[str, Any] | None:
    if state.status != EnrollmentStatus.FAILED:
        return None
    last = next((r for r in reversed(records) if r.error), None)
    error = dict(last.error) if last and last.error else {"type": "WorkflowError"}
    error.setdefault("message", state.error or "")
    error["message"] = state.error or error["message"]
    error.pop("traceback", None)
    if last is not None:
        error["node_id"] = last.node_id
    return error


def enrollments_advance(
    *,
    enrollment_ids: Sequence[UUID | str],
    lease_owner: str | None = None,
    resumes: Mapping[UUID, Resume] | None = None,
    now: datetime | None = None,
    activity=None,
) -> AdvanceReport:
    """Run the given live enrollments forward in one transaction and record everything they did.

    With `lease_owner`, only enrollments still leased to that owner run (a job whose lease was taken over
    quietly skips them); their lease is released. Enrollments of paused workflows are held in place.
    `resumes` maps enrollment ids to an arriving event (waiting ones without one resume as a due timer).

    A scheduled batch (with `lease_owner`) that raises is run again one enrollment at a time, so that one
    enrollment that cannot run (a bug, data no step can hold) does not hold back the others; each that still
    raises has the crash recorded (`enrollment_crash_record`). Without a lease owner the caller (event
    processing) owns the failure.
    """
    # One budget for inline calls per job, not per try: a batch run again (send by send, or one by one) spends
    # the same job's time, and an endpoint silent in the first try is silent in the next.
    arguments = {"lease_owner": lease_owner, "resumes": resumes, "now": now, "activity": activity,
                 "calls": BatchCalls.from_settings()}
    try:
        return _advance_with_outbox_fallback(enrollment_ids, arguments)
    except _INFRASTRUCTURE_ERRORS:
        raise  # not the enrollments' fault: their leases expire and the batch is claimed again
    except Exception as error:
        if lease_owner is None:
            raise
        if len(enrollment_ids) == 1:
            enrollment_crash_record(enrollment_id=enrollment_ids[0], lease_owner=lease_owner, error=error)
            return AdvanceReport()
        logger.warning("A batch of %d enrollments failed (%s: %s); running them one by one", len(enrollment_ids),
                       type(error).__name__, error)
    report = AdvanceReport()
    for enrollment_id in enrollment_ids:
        try:
            report.add(_advance_with_outbox_fallback([enrollment_id], arguments))
        except _INFRASTRUCTURE_ERRORS:
            raise
        except Exception as error:
            enrollment_crash_record(enrollment_id=enrollment_id, lease_owner=lease_owner, error=error)
    return report


def _advance_with_outbox_fallback(enrollment_ids: Sequence[UUID | str], arguments: dict[str, Any]) -> AdvanceReport:
    """The batch's emails go into the outbox in one statement at its end. If one of their keys was already there
    (a step re-run by hand, say), that statement cannot keep what the sends answered, so the transaction rolls
    back and the batch runs again with one INSERT per send, which answers "exists" for such keys."""
    try:
        return _advance(enrollment_ids=enrollment_ids, **arguments, batch_outbox=True)
    except OutboxConflict as conflict:
        logger.info("Outbox keys already existed (%s); running the batch again send by send", conflict)
        return _advance(enrollment_ids=enrollment_ids, **arguments, batch_outbox=False)


_INFRASTRUCTURE_ERRORS = CONNECTION_ERRORS


def _advance(
    *,
    enrollment_ids: Sequence[UUID | str],
    lease_owner: str | None,
    resumes: Mapping[UUID, Resume] | None,
    now: datetime | None,
    activity,
    batch_outbox: bool,
    calls: BatchCalls,
) -> AdvanceReport:
    """Run one batch in one transaction: lock it, run each enrollment, then write everything it did."""
    report = AdvanceReport()
    resumes = resumes or {}
    with transaction.atomic():
        enrollments = _lock_live(enrollment_ids, lease_owner)
        if not enrollments:
            return report
        now, opened = now or timezone.now(), time.monotonic()
        running = _hold_paused(enrollments, lease_owner, report)
        if not running:
            return report
        batch = _Batch.open(
            running, now=now, opened=opened, lease_owner=lease_owner, activity=activity, batch_outbox=batch_outbox,
            calls=calls,
        )
        for enrollment in running:
            _run_one(batch, enrollment, resumes.get(enrollment.pk), report)
        batch.write()
    return report


def _lock_live(enrollment_ids: Sequence[UUID | str], lease_owner: str | None) -> list[Enrollment]:
    """Lock and return the live ones of the enrollments (with their workflow and workspace), in id order."""
    queryset = Enrollment.objects.select_for_update(of=("self",)).filter(
        pk__in=list(enrollment_ids), status__in=Enrollment.LIVE_STATUSES
    )
    if lease_owner is not None:
        # Ours, or a lease that ran out and nobody took since: we hold the row locks now, so running it is
        # safe. A lease another owner holds and that is still valid is theirs.
        queryset = queryset.filter(Q(lease_owner=lease_owner) | Q(lease_expires_at__lt=timezone.now()))
    enrollments = list(queryset.order_by("pk"))
    # Their workflows (and workspaces) once each, not once per enrollment through a join: a batch has one workflow
    # or a few, and each row of them costs a model and its JSON settings decoded in Python.
    workflows = Workflow.objects.select_related("workspace").in_bulk({e.workflow_id for e in enrollments})
    for enrollment in enrollments:
        enrollment.workflow = workflows[enrollment.workflow_id]
    return enrollments


def _hold_paused(
    enrollments: list[Enrollment], lease_owner: str | None, report: AdvanceReport
) -> list[Enrollment]:
    """Return the enrollments whose workflow runs; the others stay where they are (their lease released)."""
    running = [e for e in enrollments if e.workflow.status in RUNNING_WORKFLOW_STATUSES]
    held = [e for e in enrollments if e.workflow.status not in RUNNING_WORKFLOW_STATUSES]
    report.held = len(held)
    if held and lease_owner is not None:
        Enrollment.objects.filter(pk__in=[e.pk for e in held]).update(lease_owner="", lease_expires_at=None)
    return running


@dataclass
class _Batch:
    """What one batch reads once and collects while its enrollments run, written at its end by `write`."""

    now: datetime
    opened: float  # time.monotonic() when `now` was read
    lease_owner: str | None
    versions: dict[UUID, LiveVersion]
    book: ContactBook
    activity: Any
    # The time the job's inline calls (webhook, http_request) may take, and the endpoints silent in it: so that
    # a hanging receiver cannot hold the batch past its job's timeout. The job's, not the batch's own (a batch run
    # again in the same job spends the same time): `enrollments_advance` makes it.
    calls: BatchCalls
    counters: Counters = field(default_factory=Counters)
    contact_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    ports_by_version: dict[UUID, Any] = field(default_factory=dict)
    pending: list[PendingEnrollment] = field(default_factory=list)
    updated: list[Enrollment] = field(default_factory=list)
    step_runs: list[tuple[UUID, StepRecord]] = field(default_factory=list)
    workflow_events: list[NewEvent] = field(default_factory=list)
    goal_exits: list[tuple[LiveVersion, Enrollment, list[StepRecord]]] = field(default_factory=list)

    def failure_moment(self) -> datetime:
        """Now on the batch's clock: its `now` plus the time since (its calls may have taken seconds)."""
        return self.now + timedelta(seconds=time.monotonic() - self.opened)

    @classmethod
    def open(
        cls,
        running: list[Enrollment],
        *,
        now: datetime,
        opened: float,
        lease_owner: str | None,
        activity: Any,
        batch_outbox: bool,
        calls: BatchCalls,
    ) -> _Batch:
        """Load the batch's versions and lock its contacts."""
        versions = versions_load({e.version_id for e in running})
        book = ContactBook.lock((e.contact_id for e in running), batch_outbox=batch_outbox)
        if activity is None:
            activity = _activity_port(running)
        return cls(now=now, opened=opened, lease_owner=lease_owner, versions=versions, book=book,
                   activity=activity, calls=calls)

    def contact(self, contact_key: str) -> dict[str, Any]:
        """Return the contact's data as rules see it, made once per batch (actions keep it up to date)."""
        data = self.contact_data.get(contact_key)
        if data is None:
            data = self.contact_data[contact_key] = contact_as_data(self.book.contacts[contact_key])
        return data

    def ports(self, version: LiveVersion, enrollment: Enrollment):
        """Return the live ports of the version's enrollments (one set per version and batch)."""
        ports = self.ports_by_version.get(version.id)
        if ports is None:
            ports = self.ports_by_version[version.id] = live_ports(
                book=self.book, origin=version.origin, workspace=enrollment.workflow.workspace,
                pending=self.pending, activity=self.activity, now=self.now, calls=self.calls,
            )
        return ports

    def write(self) -> None:
        """Write what the batch did: rows, outbox, step log, contacts, counters, new enrollments, events."""
        bulk_update_rows(self.updated, _MIRRORED_FIELDS)
        executions_changed([(e.workspace_id, e.workflow_id, e.pk, e.status) for e in self.updated])
        self.book.flush_outbox()
        self.book.ledger.flush()
        step_runs_insert(self.step_runs)
        changed_contacts = self.book.flush()
        for version, enrollment, records in self.goal_exits:
            for key in _goal_credits(enrollment.pk, records, enrollment.goal):
                self.counters.add(version.id, key)
        pending_enrollments_start(self.pending, self.counters, self.now)
        self.counters.flush()
        _events_store_by_workspace(self.book, self.book.events + self.workflow_events)
        _refresh_segments(changed_contacts)


# The columns `_mirror_state` sets, written for the whole batch in one statement.
_MIRRORED_FIELDS = [
    "status", "current_node_id", "next_run_at", "waiting_for", "step_count", "context", "finished_at", "goal",
    "error", "updated_at", "lease_owner", "lease_expires_at",
]


def _run_one(batch: _Batch, enrollment: Enrollment, resume: Resume | None, report: AdvanceReport) -> None:
    """Run one enrollment of the batch as far as it goes and collect what it did (written with the batch)."""
    version = batch.versions.get(enrollment.version_id)
    if version is None:
        return
    contact_key = str(enrollment.contact_id)
    if contact_key not in batch.book.contacts:
        return  # erased meanwhile: its enrollments go with it
    data = batch.contact(contact_key)
    ports = batch.ports(version, enrollment)
    before = EnrollmentState.from_dict(enrollment.context)
    batch.book.template_context[str(enrollment.pk)] = {
        "event": before.trigger_event or {},
        "enrollment": {"id": str(enrollment.pk), "entered_at": before.entered_at.isoformat(),
                       "workflow_id": str(version.workflow_id), "version": version.number, "vars": before.vars},
    }
    shown = batch.book.template_context[str(enrollment.pk)]["enrollment"]
    if resume is None and before.status == EnrollmentStatus.WAITING:
        resume = Resume.timer(at=batch.now)
    now = batch.now
    result = run_enrollment(
        graph=version.graph,
        settings=version.settings,
        state=before,
        contact=data,
        ports=ports,
        clock=lambda: now,
        resume=resume,
        # Templates rendered by later steps of this run (emails, webhooks) see the variables earlier ones wrote.
        vars_changed=lambda variables: shown.__setitem__("vars", variables),
        retry_scale=settings.WORKFLOW_STEP_RETRY_SCALE,
        # A step that fails late in a batch of slow calls waits its backoff from its failure, not from `now`.
        failure_clock=batch.failure_moment,
    )
    _collect_run(batch, version, enrollment, before, result, report)


def _collect_run(
    batch: _Batch,
    version: LiveVersion,
    enrollment: Enrollment,
    before: EnrollmentState,
    result: RunResult,
    report: AdvanceReport,
) -> None:
    """Count a run, mirror its new state into the row, and keep its steps and events for the batch to write."""
    state = result.state
    report.ran += 1
    report.steps += len(result.records)
    report.by_status[state.status] += 1
    batch.step_runs += [(enrollment.pk, record) for record in result.records]
    count_run(batch.counters, version.id, before, result)
    _mirror_state(enrollment, state, result.records, batch.now, batch.lease_owner)
    batch.updated.append(enrollment)
    if before.status != state.status:
        batch.workflow_events += _finish_events(version, enrollment, state)
    if state.status == EnrollmentStatus.EXITED and state.goal and before.status != EnrollmentStatus.EXITED:
        batch.goal_exits.append((version, enrollment, result.records))


def _mirror_state(
    enrollment: Enrollment,
    state: EnrollmentState,
    records: list[StepRecord],
    now: datetime,
    lease_owner: str | None,
) -> None:
    """Copy the runner's new state into the row's columns (`_MIRRORED_FIELDS`)."""
    if enrollment.status != state.status:
        enrollment.status = status_transition(enrollment.status, state.status)
    enrollment.current_node_id = state.current_node or ""
    enrollment.next_run_at = state.next_run_at
    enrollment.waiting_for = (state.awaited_event or "")[:128]
    enrollment.step_count = state.step_count
    enrollment.context = state.to_dict()
    enrollment.finished_at = state.finished_at
    enrollment.goal = state.goal or ""
    enrollment.error = _error_of(state, records)
    enrollment.updated_at = now
    if lease_owner is not None:
        enrollment.lease_owner, enrollment.lease_expires_at = "", None


def _events_store_by_workspace(book: ContactBook, events: list[NewEvent]) -> None:
    """Store the batch's events, one statement per workspace (a contact's workspace is the event's)."""
    by_workspace: dict[UUID, list[NewEvent]] = defaultdict(list)
    workspace_of_contact = {str(c.pk): c.workspace_id for c in book.contacts.values()}
    for event in events:
        by_workspace[workspace_of_contact[str(event.contact_id)]].append(event)
    for workspace_id, workspace_events in by_workspace.items():
        events_store(workspace=workspace_id, events=workspace_events)


def _activity_port(enrollments: Sequence[Enrollment]):
    return ActivityReader(contacts={(e.workspace_id, e.contact_id) for e in enrollments})


def _refresh_segments(contacts: list[Contact]) -> None:
    if not contacts:
        return

    by_workspace: dict[UUID, list[UUID]] = defaultdict(list)
    for contact in contacts:
        by_workspace[contact.workspace_id].append(contact.pk)
    for workspace_id, ids in by_workspace.items():
        segments_refresh(workspace=workspace_id, contact_ids=ids)


def event_as_resume(event: Event | Mapping[str, Any], *, now: datetime) -> Resume:
    data = event if isinstance(event, Mapping) else {
        "id": event.id, "type": event.type, "properties": event.properties, "occurred_at": event.occurred_at,
    }
    return Resume.event_arrived(event=event_data(data), at=now)
