"""Reads of the workflow runtime: analytics from counters, executions with their steps."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db.models import Sum

from workflows.channel_analytics import channel_analytics
from workflows.engine.statuses import EnrollmentStatus
from workflows.models import Enrollment, StepRun, Workflow, WorkflowCounter, WorkflowVersion


def workflow_analytics(*, workflow: Workflow, version_number: int | None = None) -> dict[str, Any]:
    """Return CONTRACT §5 analytics from the incremental counters (no scan of enrollments or step runs)."""
    versions = WorkflowVersion.objects.filter(workflow=workflow, number__isnull=False)
    if version_number is not None:
        versions = versions.filter(number=version_number)
    counters: dict[str, int] = {}
    for key, value in WorkflowCounter.objects.filter(version__in=versions).values_list("key", "value"):
        counters[key] = counters.get(key, 0) + value
    enrollments = {status.value: max(0, counters.get(f"enrollments.{status}", 0)) for status in EnrollmentStatus}
    nodes: dict[str, dict[str, int]] = {}
    splits: dict[str, dict[str, dict[str, int]]] = {}
    triggers: dict[str, dict[str, Any]] = {}
    for key, value in counters.items():
        parts = key.split(".")
        if parts[0] == "trigger" and len(parts) >= 3:
            _count_trigger(triggers, parts, value)
        elif parts[0] == "node" and len(parts) >= 3:
            node_id, measure = ".".join(parts[1:-1]), parts[-1]
            entry = nodes.setdefault(node_id, {"entered": 0, "succeeded": 0, "failed": 0, "waiting_now": 0,
                                               "goal_reached": 0})
            entry["waiting_now" if measure == "waiting" else measure] = max(0, value)
        elif parts[0] == "split" and len(parts) >= 4:
            node_id, variant, measure = ".".join(parts[1:-2]), parts[-2], parts[-1]
            splits.setdefault(node_id, {}).setdefault(variant, {"entered": 0, "goal_reached": 0})[measure] = value
    total = sum(enrollments.values())
    reached = counters.get("goals.reached", 0)
    return {
        "enrollments": enrollments,
        "nodes": nodes,
        "goals": {"reached": reached, "rate": round(reached / total, 4) if total else 0.0},
        "splits": splits,
        "channels": channel_analytics(counters),
        "triggers": triggers,
    }


def _count_trigger(triggers: dict[str, dict[str, Any]], parts: list[str], value: int) -> None:
    """Add `trigger.<id>.not_entered` or `trigger.<id>.skipped.<reason>` to its trigger's figures."""
    if parts[-1] == "not_entered":
        node_id, reason = ".".join(parts[1:-1]), None
    elif len(parts) >= 4 and parts[-2] == "skipped":
        node_id, reason = ".".join(parts[1:-2]), parts[-1]
    else:
        return
    entry = triggers.setdefault(node_id, {"not_entered": 0, "skipped": {}})
    if reason is None:
        entry["not_entered"] += value
    else:
        entry["skipped"][reason] = entry["skipped"].get(reason, 0) + value


def versions_in_flight(*, workflow: Workflow) -> dict[int, int]:
    """Return, per published version number, how many enrollments are still live on it (active or waiting).

    Read from the same counters as analytics, in one query: a publish summary shows it for every version.
    """
    keys = [f"enrollments.{EnrollmentStatus.ACTIVE}", f"enrollments.{EnrollmentStatus.WAITING}"]
    rows = WorkflowCounter.objects.filter(version__workflow=workflow, version__number__isnull=False, key__in=keys)
    live: dict[int, int] = {}
    for number, value in rows.values_list("version__number", "value"):
        live[number] = live.get(number, 0) + max(0, value)
    return live


def execution_steps(*, enrollment: Enrollment) -> list[StepRun]:
    return list(StepRun.objects.filter(enrollment=enrollment).order_by("sequence"))


def enrollment_counts_by_workflow(workflow_ids: Iterable[UUID]) -> dict[UUID, dict[str, int]]:
    """Return each workflow's enrollments per status (CONTRACT §5 analytics' `enrollments`, all published versions),
    for a whole page of workflows in one grouped query over the counters; a workflow with none counts zeros."""
    ids = list(workflow_ids)
    totals: dict[UUID, dict[str, int]] = {pk: {} for pk in ids}
    if ids:
        rows = (
            WorkflowCounter.objects.filter(version__workflow_id__in=ids, version__number__isnull=False,
                                           key__startswith="enrollments.")
            .values_list("version__workflow_id", "key")
            .annotate(total=Sum("value"))
            .order_by()
        )
        for workflow_id, key, total in rows:
            totals[workflow_id][key] = total
    return {
        pk: {status.value: max(0, counters.get(f"enrollments.{status}", 0)) for status in EnrollmentStatus}
        for pk, counters in totals.items()
    }
