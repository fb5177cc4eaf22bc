"""Retry and cancel executions, one or many: the single service behind the API, the admin and `retry_failed`.

Bulk actions go in batches of `BATCH` enrollments, each in its own transaction: the batch's rows are locked
(FOR UPDATE), the new states are computed in Python, and written with ONE statement (an UPDATE from arrays), with
the analytics counters in one more. 10,000 failed executions are 10 statements of each kind, not 10,000 saves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from penguinflow.common.db import bulk_update_rows, prepared_cursor
from penguinflow.common.errors import Conflict
from workflows.counters import Counters
from workflows.engine.state import EnrollmentState, new_enrollment
from workflows.engine.statuses import LIVE_STATUSES, EnrollmentStatus
from workflows.live_updates import executions_changed
from workflows.models import Enrollment, Step, Workflow, WorkflowVersion

BATCH = 1000
RetryFrom = Literal["failed_step", "start"]
RetryVersion = Literal["own", "latest"]
_json = msgspec.json.Encoder(decimal_format="number").encode
_CANCEL_FIELDS = ["status", "next_run_at", "waiting_for", "lease_owner", "lease_expires_at", "finished_at",
                  "updated_at"]
_LIVE = [status.value for status in LIVE_STATUSES]


@dataclass
class ActionReport:
    matched: int = 0
    done: int = 0
    # enrollment id -> (code, reason) of those that were matched but left as they were.
    refused: dict[UUID, tuple[str, str]] = field(default_factory=dict)


# --- retry -------------------------------------------------------------------------------------------------------


def executions_retry(*, enrollments: QuerySet[Enrollment], start_from: RetryFrom = "failed_step",
                     version: RetryVersion = "own", dry_run: bool = False) -> ActionReport:
    """Retry the failed ones of `enrollments`; return how many matched and how many were retried.

    What a retry is, exactly:

    - `failed_step` + `own`: the enrollment resumes at the step that failed, on the version it ran, with a fresh
      set of attempts. Its visit counts are kept, so the step's effects have the keys they had (`effect_key`:
      enrollment, node, visit): an email already in the outbox under that key is found there and not sent again;
      an effect that never committed (the step failed) happens now.
    - `start` + `own`: the enrollment starts over at the trigger it entered by, with the event it entered with,
      as if it had just entered (step count and visits from zero, same id, same entry time). Every step runs
      again with the keys of the first run, so emails and webhooks it already sent are NOT sent again (their
      keyed outbox rows exist); contact changes are applied again (tags and fields to the same values; a score
      change adds again).
    - `latest`: the same, on the workflow's latest published version: the enrollment moves to it (its counters
      move with it). It needs the node to start at (the failed step's node, or the trigger) in that version;
      an enrollment whose node is not there is refused (`node_not_in_version`), as is any when the workflow has
      no published version. The latest version is the one published when the retry runs.

    Refused and left failed: an enrollment whose contact is meanwhile live in the workflow again
    (`already_enrolled`: only one live enrollment per contact and workflow), one that is not failed
    (`not_failed`), and the two reasons above.
    """
    failed = enrollments.filter(status=EnrollmentStatus.FAILED)
    report = ActionReport(matched=failed.count())
    if dry_run:
        return report
    for ids in _id_batches(failed):
        with transaction.atomic():
            _retry_batch(ids, start_from, version, report)
    return report


def enrollment_retry(*, enrollment: Enrollment, start_from: RetryFrom = "failed_step",
                     version: RetryVersion = "own") -> Enrollment:
    """Retry one enrollment (see `executions_retry`); 409 with the reason when it is refused."""
    if enrollment.status != EnrollmentStatus.FAILED:
        raise Conflict(f"Only a failed execution can be retried; this one is {enrollment.status}.",
                       details={"status": enrollment.status}, code="not_failed")
    with transaction.atomic():
        report = ActionReport()
        _retry_batch([enrollment.pk], start_from, version, report)
    if enrollment.pk in report.refused:
        code, reason = report.refused[enrollment.pk]
        raise Conflict(reason, code=code, details={"status": enrollment.status})
    enrollment.refresh_from_db()
    return enrollment


def _retry_batch(ids: list[UUID], start_from: RetryFrom, version: RetryVersion, report: ActionReport) -> None:
    live_sibling = Enrollment.objects.filter(workflow_id=OuterRef("workflow_id"), contact_id=OuterRef("contact_id"),
                                             status__in=_LIVE)
    rows = list(
        Enrollment.objects.select_for_update(of=("self",)).filter(pk__in=ids)
        .annotate(sibling_live=Exists(live_sibling)).order_by("pk")
    )
    targets = _latest_versions({row.workflow_id for row in rows}) if version == "latest" else {}
    now = timezone.now()
    counters, retried, taken = Counters(), [], set()
    for row in rows:
        refusal = _retry_refusal(row, targets, start_from, version, taken)
        if refusal:
            report.refused[row.pk] = refusal
            continue
        taken.add((row.workflow_id, row.contact_id))
        target = targets[row.workflow_id][0] if version == "latest" else row.version_id
        counters.add(row.version_id, f"enrollments.{EnrollmentStatus.FAILED}", -1)
        counters.add(target, f"enrollments.{EnrollmentStatus.ACTIVE}", 1)
        _restart(row, start_from, target, now)
        retried.append(row)
    _write_retried(retried, now)
    counters.flush()
    report.done += len(retried)
    _announce(retried)


def _write_retried(rows: list[Enrollment], now: datetime) -> None:
    """One UPDATE for the batch: the per-row columns as arrays (unnest), the rest as constants (a retried row is
    active, due now, unleased, without error), so that no per-row, per-field work is done in Python."""
    if not rows:
        return
    columns = ([row.pk for row in rows], [row.version_id for row in rows],
               [_json(row.context).decode() for row in rows], [row.current_node_id for row in rows],
               [row.step_count for row in rows])
    with prepared_cursor() as cursor:  # binds on the server, so %b sends the arrays in binary
        cursor.execute(
            f"""
            UPDATE {Enrollment._meta.db_table} AS t
            SET status = %b, version_id = v.version_id, context = v.context::jsonb, current_node_id = v.node,
                step_count = v.steps, next_run_at = %b, waiting_for = '', error = NULL, finished_at = NULL,
                lease_owner = '', lease_expires_at = NULL, crashes = 0, updated_at = %b
            FROM unnest(%b::uuid[], %b::uuid[], %b::text[], %b::text[], %b::int[]) AS v(id, version_id, context, node,
                                                                                    steps)
            WHERE t.id = v.id
            """,
            [EnrollmentStatus.ACTIVE.value, now, now, *columns],
        )


def _retry_refusal(row: Enrollment, targets: dict, start_from: RetryFrom, version: RetryVersion,
                   taken: set) -> tuple[str, str] | None:
    if row.status != EnrollmentStatus.FAILED:
        return "not_failed", f"Only a failed execution can be retried; this one is {row.status}."
    if row.sibling_live or (row.workflow_id, row.contact_id) in taken:
        return "already_enrolled", "The contact is in this workflow again already; that enrollment is live."
    if version == "latest":
        if row.workflow_id not in targets:
            return "no_published_version", "The workflow has no published version to retry on."
        node = _start_node(row, start_from)
        if node not in targets[row.workflow_id][1]:
            number = targets[row.workflow_id][2]
            return "node_not_in_version", f"The node '{node}' is not in version {number} of the workflow."
    return None


def _start_node(row: Enrollment, start_from: RetryFrom) -> str:
    state = EnrollmentState.from_dict(row.context)
    return state.trigger_node if start_from == "start" else (state.current_node or row.current_node_id)


def _restart(row: Enrollment, start_from: RetryFrom, target_version: UUID, now: datetime) -> None:
    """Set the row (in memory) to the state a retry runs from."""
    state = EnrollmentState.from_dict(row.context)
    if start_from == "start":
        state = new_enrollment(enrollment_id=state.enrollment_id, contact_id=state.contact_id,
                               trigger_node=state.trigger_node, entered_at=state.entered_at,
                               trigger_event=state.trigger_event, seed=state.seed)
    # The row's status is the one that moves: an enrollment failed after crashes keeps the context it crashed
    # with, whose status may still read active.
    state.status = EnrollmentStatus.ACTIVE
    state.attempt, state.error, state.finished_at, state.wait = 0, None, None, None
    state.exit_reason, state.goal = None, None
    row.status, row.version_id, row.context = EnrollmentStatus.ACTIVE, target_version, state.to_dict()
    row.current_node_id, row.step_count, row.waiting_for = state.current_node or "", state.step_count, ""
    row.next_run_at, row.error, row.finished_at, row.updated_at = now, None, None, now
    row.lease_owner, row.lease_expires_at, row.crashes = "", None, 0


def _latest_versions(workflow_ids: Iterable[UUID]) -> dict[UUID, tuple[UUID, set[str], int]]:
    """workflow id -> (id, node ids, number) of its latest published version."""
    latest = {}
    for workflow_id, number in Workflow.objects.filter(pk__in=workflow_ids, published_version__isnull=False) \
            .values_list("pk", "published_version"):
        version = WorkflowVersion.objects.filter(workflow_id=workflow_id, number=number).values_list("pk", flat=True)
        version_id = version.first()
        if version_id is not None:
            nodes = set(Step.objects.filter(version_id=version_id).values_list("node_id", flat=True))
            latest[workflow_id] = (version_id, nodes, number)
    return latest


# --- cancel ------------------------------------------------------------------------------------------------------

_CANCELLABLE = [*_LIVE, EnrollmentStatus.FAILED.value]


def executions_cancel(*, enrollments: QuerySet[Enrollment], dry_run: bool = False) -> ActionReport:
    """Cancel the live and failed ones of `enrollments`: they stop where they are and are never run again."""
    cancellable = enrollments.filter(status__in=_CANCELLABLE)
    report = ActionReport(matched=cancellable.count())
    if dry_run:
        return report
    for ids in _id_batches(cancellable):
        with transaction.atomic():
            _cancel_batch(ids, report)
    return report


def workflow_unenroll(*, workflow: Workflow, contacts: Iterable) -> ActionReport:
    """Take contacts out of a workflow: their live enrollments in it (any version) are cancelled; a contact with
    none is no error (a repeat changes nothing)."""
    live = Enrollment.objects.filter(workflow=workflow, contact__in=[contact.pk for contact in contacts],
                                     status__in=_LIVE)
    return executions_cancel(enrollments=live)


def enrollment_cancel(*, enrollment: Enrollment) -> Enrollment:
    """Cancel one enrollment; 409 when it has finished already (completed, exited, cancelled)."""
    report = ActionReport()
    with transaction.atomic():
        _cancel_batch([enrollment.pk], report)
    if not report.done:
        enrollment.refresh_from_db(fields=["status"])
        raise Conflict(f"The execution has finished already ({enrollment.status}); there is nothing to cancel.",
                       details={"status": enrollment.status}, code="already_finished")
    enrollment.refresh_from_db()
    return enrollment


def _cancel_batch(ids: list[UUID], report: ActionReport) -> None:
    rows = list(Enrollment.objects.select_for_update(of=("self",)).filter(pk__in=ids, status__in=_CANCELLABLE))
    now, counters = timezone.now(), Counters()
    for row in rows:
        counters.add(row.version_id, f"enrollments.{row.status}", -1)
        counters.add(row.version_id, "enrollments.cancelled", 1)
        parked = (row.context or {}).get("wait") or {}
        if row.status == EnrollmentStatus.WAITING and parked.get("node_id") and not parked.get("retry"):
            counters.add(row.version_id, f"node.{parked['node_id']}.waiting", -1)
        for branch in (row.context or {}).get("branches", {}).values():  # a parallel's branches wait too
            waiting = branch.get("wait") or {}
            if branch.get("status") == EnrollmentStatus.WAITING and waiting.get("node_id") and not waiting.get("retry"):
                counters.add(row.version_id, f"node.{waiting['node_id']}.waiting", -1)
        row.status, row.next_run_at, row.waiting_for = EnrollmentStatus.CANCELLED, None, ""
        row.lease_owner, row.lease_expires_at, row.finished_at, row.updated_at = "", None, now, now
    bulk_update_rows(rows, _CANCEL_FIELDS)
    counters.flush()
    report.done += len(rows)
    _announce(rows)


# --- shared ------------------------------------------------------------------------------------------------------


def _id_batches(queryset: QuerySet[Enrollment]) -> Iterator[list[UUID]]:
    """The ids of `queryset` in batches, by keyset on the primary key (stable while earlier batches change)."""
    last = None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return
        yield ids
        last = ids[-1]


def _announce(rows: list[Enrollment]) -> None:
    """Tell the live screens (after commit) which executions changed."""
    executions_changed([(row.workspace_id, row.workflow_id, row.pk, row.status) for row in rows])

