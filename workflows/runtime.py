"""The durable runtime: start enrollments and advance them in batches, recording every step.

The engine core decides (`workflows.engine.runner.run_enrollment`); this module makes its decisions durable.
A batch runs in one transaction: enrollments and their contacts are locked, each enrollment runs forward as far
as it can (until it waits, completes, exits or fails), and then the new states, step runs, contact changes,
events and analytics counters are written with a constant number of statements. Whatever a crash interrupts
rolls back as a whole and is run again from the last committed state.

Why one module of about 850 lines: starting enrollments and advancing them share the version cache, the
analytics counters and the status bookkeeping, and every function here is one named step of those two paths.
The seams for a split are its sections (versions, counters, starting, the step log, advancing, crashes).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.activity import ActivityReader
from contacts.models import Contact
from contacts.segments import segments_refresh
from contacts.selectors import contact_as_data
from events.models import Event
from events.services import NewEvent, events_store
from penguinflow.common.db import bulk_update_rows
from penguinflow.common.errors import storable_error_line
from penguinflow.common.states import transition
from templates.outbox import OutboxConflict
from workflows.engine.entry import entry_trigger
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.runner import reenrollment_allowed, run_enrollment
from workflows.engine.state import EnrollmentState, Resume, RunResult, StepRecord, WaitState, new_enrollment
from workflows.engine.statuses import INITIAL_STATUS, EnrollmentStatus
from workflows.engine.statuses import transition as status_transition
from workflows.live_ports import ContactBook, Origin, PendingEnrollment, live_ports
from workflows.models import Enrollment, StepRun, Workflow, WorkflowCounter, WorkflowVersion

logger = logging.getLogger(__name__)

RUNNING_WORKFLOW_STATUSES = (Workflow.Status.ACTIVE, Workflow.Status.ARCHIVED)


# --- published versions, cached: they never change ---------------------------------------------------------------


@dataclass(frozen=True)
class LiveVersion:
    id: UUID
    number: int | None
    workflow_id: UUID
    workspace_id: UUID
    graph: Graph
    settings: WorkflowSettings

    @property
    def origin(self) -> Origin:
        return Origin(workflow_id=str(self.workflow_id), version_id=str(self.id))


_version_cache: dict[UUID, LiveVersion] = {}
_version_lock = threading.Lock()


def versions_load(version_ids: Iterable[UUID]) -> dict[UUID, LiveVersion]:
    """Return the versions by id, loading the missing ones in two queries (published ones are cached for good)."""
    wanted = {UUID(str(v)) for v in version_ids}
    found = {vid: _version_cache[vid] for vid in wanted if vid in _version_cache}
    missing = wanted - set(found)
    if missing:
        rows = WorkflowVersion.objects.filter(pk__in=missing).select_related("workflow").prefetch_related(
            "steps", "connections"
        )
        for version in rows:
            live = LiveVersion(
                id=version.pk,
                number=version.number,
                workflow_id=version.workflow_id,
                workspace_id=version.workflow.workspace_id,
                graph=Graph.from_rows(list(version.steps.all()), list(version.connections.all())),
                settings=WorkflowSettings.parse(version.settings),
            )
            found[version.pk] = live
            if version.number is not None:
                with _version_lock:
                    if len(_version_cache) > 5000:
                        _version_cache.clear()
                    _version_cache[version.pk] = live
    return found


# --- analytics counters --------------------------------------------------------------------------------------------


class Counters:
    """Counter increments of one batch, written with one upsert."""

    def __init__(self) -> None:
        self.deltas: Counter[tuple[UUID, str]] = Counter()

    def add(self, version_id: UUID, key: str, amount: int = 1) -> None:
        if amount:
            self.deltas[(version_id, key)] += amount

    def flush(self) -> None:
        items = [(vid, key, value) for (vid, key), value in self.deltas.items() if value]
        self.deltas.clear()
        if not items:
            return
        placeholders = ", ".join(["(%s, %s, %s)"] * len(items))
        params: list[Any] = [p for item in sorted(items) for p in item]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {WorkflowCounter._meta.db_table} (version_id, key, value) VALUES {placeholders} "
                "ON CONFLICT (version_id, key) DO UPDATE SET value = "
                f"{WorkflowCounter._meta.db_table}.value + EXCLUDED.value",
                params,
            )


def _status_key(status: str) -> str:
    return f"enrollments.{status}"


# --- starting enrollments -------------------------------------------------------------------------------------------


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


def _entry_key(mode: str, entry: Entry) -> str:
    if mode == "never":
        return "once"
    if entry.event_id is not None:
        # The same event can start an entry once only, however often it is processed or replayed.
        return f"event:{entry.event_id}:{entry.trigger_node_id}"[:64]
    if entry.occasion is not None:
        return hashlib.sha256(f"{entry.trigger_node_id}:{entry.occasion}".encode()).hexdigest()[:64]
    return uuid.uuid4().hex


def _event_data(event: Mapping[str, Any] | None) -> dict[str, Any] | None:
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
    *, version: LiveVersion, entries: Sequence[Entry], now: datetime | None = None, counters: Counters | None = None
) -> StartReport:
    """Start enrollments of contacts in a published version, under its re-enrollment rule.

    One live enrollment per (workflow, contact) and `never` re-enrollment are unique constraints: concurrent
    starters cannot both succeed, and an event processed twice starts nothing the second time. `after` takes a
    transaction-scoped advisory lock per contact before it reads the last entry.
    """
    now = now or timezone.now()
    report = StartReport()
    status = Workflow.objects.filter(pk=version.workflow_id).values_list("status", flat=True).first()
    if status != Workflow.Status.ACTIVE:
        report.skipped = [(entry.contact_id, "workflow_not_active", f"The workflow is {status or 'deleted'}.")
                          for entry in entries]
        return report
    by_contact = _entries_by_contact(version, entries, report)
    if not by_contact:
        return report
    mode = version.settings.reenrollment.mode
    if mode == "after":
        _drop_entries_too_soon(version, by_contact, report, now)
    rows = [_enrollment_row(version, contact, entry, mode, now) for contact, entry in by_contact.items()]
    events = _insert_enrollments(version, rows, report)
    batch_counters = counters or Counters()
    batch_counters.add(version.id, _status_key(INITIAL_STATUS), len(report.started))
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
            report.skipped.append((entry.contact_id, "self_triggered", "The event was caused by this workflow."))
            continue
        if entry.contact_id in by_contact:
            report.skipped.append((entry.contact_id, "duplicate", "The contact is already entering in this batch."))
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
            report.skipped.append((contact_id, code, reason))
            del by_contact[contact_id]


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
        trigger_event=_event_data(entry.event),
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
    Enrollment.objects.bulk_create(rows, ignore_conflicts=True)
    inserted = set(Enrollment.objects.filter(pk__in=[row.pk for row in rows]).values_list("pk", flat=True))
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
            report.skipped.append((row.contact_id, "already_enrolled", "The contact is already in this workflow."))
        else:
            report.skipped.append(
                (row.contact_id, "reenrollment_not_allowed", "The workflow's re-enrollment rule does not allow it.")
            )
    return events


def published_version_of(workflow: Workflow) -> LiveVersion | None:
    if workflow.published_version is None:
        return None
    version_id = (
        WorkflowVersion.objects.filter(workflow=workflow, number=workflow.published_version)
        .values_list("pk", flat=True)
        .first()
    )
    return versions_load([version_id]).get(version_id) if version_id else None


def manual_entry_node(version: LiveVersion) -> str | None:
    return entry_trigger(version.graph)


# --- advancing enrollments -------------------------------------------------------------------------------------------


@dataclass
class AdvanceReport:
    ran: int = 0
    steps: int = 0
    held: int = 0
    by_status: Counter = field(default_factory=Counter)

    def add(self, other: AdvanceReport) -> None:
        self.ran, self.steps, self.held = self.ran + other.ran, self.steps + other.steps, self.held + other.held
        self.by_status.update(other.by_status)


# The step log's own statuses (StepRun.Status), by the outcome of the step: not an enrollment's status.
_STEP_STATUS = {"advance": "succeeded", "exit": "succeeded", "wait": "waiting", "retry": "failed", "fail": "failed"}


_json = msgspec.json.Encoder(decimal_format="number").encode


def _step_runs_insert(runs: list[tuple[UUID, StepRecord]]) -> None:
    """Write the step log of a batch in one statement (the hot path: one row per step executed).

    Rows go in list order, so the sequence column keeps the order of steps within each enrollment.
    """
    if not runs:
        return
    columns: list[list[Any]] = [[] for _ in range(13)]
    for enrollment_id, record in runs:
        error = record.error or {}
        detail = dict(record.detail)
        detail["outcome"] = record.outcome
        for column, value in zip(columns, (
            uuid.uuid4(), enrollment_id, record.node_id, record.type, record.attempt + 1, record.visit,
            _STEP_STATUS.get(record.outcome, "failed"), record.branch or "",
            _json(detail).decode(), str(error.get("type", ""))[:200], str(error.get("message", "")),
            str(error.get("traceback", "")), record.at,
        ), strict=True):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {StepRun._meta.db_table} (id, enrollment_id, node_id, type, attempt, visit, status, branch,
                detail, error_type, error_message, error_traceback, started_at, finished_at)
            SELECT id, enrollment_id, node_id, type, attempt, visit, status, branch, detail::jsonb, error_type,
                   error_message, error_traceback, at, at
            FROM unnest(%b::uuid[], %b::uuid[], %b::text[], %b::text[], %b::int[], %b::int[], %b::text[],
                        %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[])
                AS v(id, enrollment_id, node_id, type, attempt, visit, status, branch, detail, error_type,
                     error_message, error_traceback, at)
            """,
            columns,
        )


def _parked_wait(state: EnrollmentState) -> WaitState | None:
    """Return the wait a waiting enrollment is parked in at a node (a retry's wait counts as no node's)."""
    wait = state.wait
    return wait if state.status == EnrollmentStatus.WAITING and wait and not wait.retry else None


def _count_run(counters: Counters, version_id: UUID, before: EnrollmentState, result: RunResult) -> None:
    after = result.state
    if before.status != after.status:
        counters.add(version_id, _status_key(before.status), -1)
        counters.add(version_id, _status_key(after.status), 1)
    parked_before = _parked_wait(before)
    for index, record in enumerate(result.records):
        continuation = index == 0 and (
            (parked_before is not None and parked_before.node_id == record.node_id)
            or record.attempt > 0
        )
        if not continuation:
            counters.add(version_id, f"node.{record.node_id}.entered")
        if record.outcome in ("advance", "exit"):
            counters.add(version_id, f"node.{record.node_id}.succeeded")
        elif record.outcome == "fail":
            counters.add(version_id, f"node.{record.node_id}.failed")
        if record.type == "split" and record.outcome == "advance" and not continuation:
            counters.add(version_id, f"split.{record.node_id}.{record.branch}.entered")
    if result.records and parked_before is not None:
        counters.add(version_id, f"node.{parked_before.node_id}.waiting", -1)
    parked_after = _parked_wait(after)
    if parked_after is not None and result.records:
        counters.add(version_id, f"node.{parked_after.node_id}.waiting", 1)
    if after.status == EnrollmentStatus.EXITED and after.goal and before.status != EnrollmentStatus.EXITED:
        counters.add(version_id, "goals.reached")


def _split_variants(enrollment_id: UUID, records: list[StepRecord]) -> list[tuple[str, str]]:
    seen = {(r.node_id, r.branch) for r in records if r.type == "split" and r.outcome == "advance" and r.branch}
    seen |= set(
        StepRun.objects.filter(enrollment_id=enrollment_id, type="split", status="succeeded")
        .values_list("node_id", "branch")
    )
    return sorted(seen)


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
    arguments = {"lease_owner": lease_owner, "resumes": resumes, "now": now, "activity": activity}
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


_INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError)
# A crashing enrollment is run again after 10 s, 20 s, 40 s, 80 s, then failed (visibly, with one-click retry).
MAX_CRASHES = 5
CRASH_RETRY_BASE_SECONDS = 10


@transaction.atomic
def enrollment_crash_record(*, enrollment_id: UUID | str, lease_owner: str, error: BaseException) -> None:
    """Record that running this enrollment raised: run it again after a backoff, or fail it after `MAX_CRASHES`.

    Only while the lease is still ours (or ran out unclaimed): another owner's run is theirs to judge.
    """
    now = timezone.now()
    enrollment = (
        Enrollment.objects.select_for_update()
        .filter(pk=enrollment_id, status__in=Enrollment.LIVE_STATUSES)
        .filter(Q(lease_owner=lease_owner) | Q(lease_expires_at__lt=now))
        .first()
    )
    if enrollment is None:
        return
    crashes = enrollment.crashes + 1
    message = storable_error_line(error)
    values: dict[str, Any] = {
        "crashes": crashes, "lease_owner": "", "lease_expires_at": None, "updated_at": now,
        "error": {"type": "crash", "message": message, "node_id": enrollment.current_node_id, "crashes": crashes},
    }
    if crashes < MAX_CRASHES:
        retry_at = now + timedelta(seconds=CRASH_RETRY_BASE_SECONDS * 2 ** (crashes - 1))
        values["next_run_at"] = max(enrollment.next_run_at or retry_at, retry_at)
        Enrollment.objects.filter(pk=enrollment.pk).update(**values)
        logger.warning("Enrollment %s crashed (%d of %d), run again at %s: %s", enrollment.pk, crashes,
                       MAX_CRASHES, retry_at.isoformat(), message)
        return
    _fail_crashed(enrollment, values, now)
    logger.error("Enrollment %s failed after %d crashes: %s", enrollment.pk, crashes, message)


def _fail_crashed(enrollment: Enrollment, values: dict[str, Any], now: datetime) -> None:
    counters = Counters()
    counters.add(enrollment.version_id, _status_key(enrollment.status), -1)
    counters.add(enrollment.version_id, _status_key(EnrollmentStatus.FAILED), 1)
    extra = {**values, "next_run_at": None, "finished_at": now}
    context = _failed_context(enrollment, values["error"]["message"], now, counters)
    if context is not None:
        extra["context"] = context
    transition(enrollment, to=Enrollment.Status.FAILED, allowed=Enrollment.TRANSITIONS, extra=extra)
    counters.flush()


def _failed_context(enrollment: Enrollment, message: str, now: datetime, counters: Counters) -> dict | None:
    """Return the stored state, failed with ``message``; None when it cannot be read or fail (it may be what
    crashed the run: then it stays as it is, for a person to read)."""
    try:
        state = EnrollmentState.from_dict(enrollment.context)
        parked = _parked_wait(state)
        state.move_to(EnrollmentStatus.FAILED)
    except Exception:
        return None
    if parked is not None:
        counters.add(enrollment.version_id, f"node.{parked.node_id}.waiting", -1)
    state.error, state.finished_at, state.wait = message, now, None
    return state.to_dict()


def _advance(
    *,
    enrollment_ids: Sequence[UUID | str],
    lease_owner: str | None,
    resumes: Mapping[UUID, Resume] | None,
    now: datetime | None,
    activity,
    batch_outbox: bool,
) -> AdvanceReport:
    """Run one batch in one transaction: lock it, run each enrollment, then write everything it did."""
    report = AdvanceReport()
    resumes = resumes or {}
    with transaction.atomic():
        enrollments = _lock_live(enrollment_ids, lease_owner)
        if not enrollments:
            return report
        now = now or timezone.now()
        running = _hold_paused(enrollments, lease_owner, report)
        if not running:
            return report
        batch = _Batch.open(
            running, now=now, lease_owner=lease_owner, activity=activity, batch_outbox=batch_outbox
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
    return list(queryset.select_related("workflow__workspace").order_by("pk"))


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
    lease_owner: str | None
    versions: dict[UUID, LiveVersion]
    book: ContactBook
    activity: Any
    counters: Counters = field(default_factory=Counters)
    contact_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    ports_by_version: dict[UUID, Any] = field(default_factory=dict)
    pending: list[PendingEnrollment] = field(default_factory=list)
    updated: list[Enrollment] = field(default_factory=list)
    step_runs: list[tuple[UUID, StepRecord]] = field(default_factory=list)
    workflow_events: list[NewEvent] = field(default_factory=list)
    goal_exits: list[tuple[LiveVersion, Enrollment, list[StepRecord]]] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        running: list[Enrollment],
        *,
        now: datetime,
        lease_owner: str | None,
        activity: Any,
        batch_outbox: bool,
    ) -> _Batch:
        """Load the batch's versions and lock its contacts."""
        versions = versions_load({e.version_id for e in running})
        book = ContactBook.lock((e.contact_id for e in running), batch_outbox=batch_outbox)
        if activity is None:
            activity = _activity_port(running)
        return cls(now=now, lease_owner=lease_owner, versions=versions, book=book, activity=activity)

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
                pending=self.pending, activity=self.activity,
            )
        return ports

    def write(self) -> None:
        """Write what the batch did: rows, outbox, step log, contacts, counters, new enrollments, events."""
        bulk_update_rows(self.updated, _MIRRORED_FIELDS)
        self.book.flush_outbox()
        _step_runs_insert(self.step_runs)
        changed_contacts = self.book.flush()
        for version, enrollment, records in self.goal_exits:
            for node_id, variant in _split_variants(enrollment.pk, records):
                self.counters.add(version.id, f"split.{node_id}.{variant}.goal_reached")
        _start_pending(self.pending, self.counters, self.now)
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
                       "workflow_id": str(version.workflow_id), "version": version.number},
    }
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
    _count_run(batch.counters, version.id, before, result)
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
    enrollment.waiting_for = state.awaited_event or ""
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


def _start_pending(pending: list[PendingEnrollment], counters: Counters, now: datetime) -> None:
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
    return Resume.event_arrived(event=_event_data(data), at=now)
