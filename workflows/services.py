"""Writes to workflows: create, draft save (optimistic revision), duplicate, delete, pause/resume/archive."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from penguinflow.common.errors import Conflict, InvalidInput
from penguinflow.common.states import transition
from workflows import graphs
from workflows.models import Connection, Enrollment, Step, Workflow, WorkflowVersion


@dataclass(frozen=True)
class DraftSaved:
    revision: int
    validation: dict[str, list[dict[str, Any]]]


def _parse_for_storage(graph_json: Any, settings_json: Any):
    """Parse builder JSON into an engine graph and settings, refusing what cannot be stored as rows.

    Semantic problems (a missing branch, an unreachable node) are allowed in a draft and reported by validation;
    only shapes that cannot be represented at all (wrong types, duplicate ids) are refused here with 400.
    """
    graph = graphs.parse_graph(graph_json, path="graph")
    settings = graphs.parse_settings(settings_json)
    details = {}
    for kind, ids in (("nodes", [n.id for n in graph.nodes]), ("edges", [e.id for e in graph.edges])):
        for duplicate, count in Counter(ids).items():
            if count > 1:
                details[f"graph.{kind}"] = f"The id '{duplicate}' is used {count} times; ids must be unique."
    if details:
        raise InvalidInput("The graph cannot be saved.", details=details, code="graph_invalid")
    return graph, settings


def _write_rows(version: WorkflowVersion, graph) -> None:
    steps, connections = graph.to_rows()
    Step.objects.filter(version=version).delete()
    Connection.objects.filter(version=version).delete()
    Step.objects.bulk_create([Step(version=version, **row) for row in steps])
    Connection.objects.bulk_create([Connection(version=version, **row) for row in connections])


@transaction.atomic
def workflow_create(
    *, workspace, name: str, description: str = "", graph: Any = None, settings: Any = None
) -> Workflow:
    """Create a workflow in status `draft` with its draft version (an empty graph when none is given)."""
    parsed_graph, parsed_settings = _parse_for_storage(graph or {"nodes": [], "edges": []}, settings or {})
    workflow = Workflow.objects.create(workspace=workspace, name=name, description=description)
    draft = WorkflowVersion.objects.create(workflow=workflow, settings=graphs.settings_to_json(parsed_settings))
    _write_rows(draft, parsed_graph)
    return workflow


@transaction.atomic
def workflow_draft_save(*, workflow: Workflow, graph: Any, settings: Any, revision: int) -> DraftSaved:
    """Replace the draft's graph and settings if `revision` is the current one (else 409); validate the result."""
    parsed_graph, parsed_settings = _parse_for_storage(graph, settings)
    updated = WorkflowVersion.objects.filter(workflow=workflow, number__isnull=True, revision=revision).update(
        revision=F("revision") + 1, settings=graphs.settings_to_json(parsed_settings), updated_at=timezone.now()
    )
    draft = WorkflowVersion.objects.get(workflow=workflow, number__isnull=True)
    if not updated:
        raise Conflict(
            "The draft was changed since you loaded it: reload it and apply your changes again.",
            details={"revision": revision, "current_revision": draft.revision},
            code="stale_revision",
        )
    _write_rows(draft, parsed_graph)
    Workflow.objects.filter(pk=workflow.pk).update(updated_at=timezone.now())
    return DraftSaved(revision=draft.revision, validation=graphs.validation_report(parsed_graph, parsed_settings))


@transaction.atomic
def workflow_duplicate(*, workflow: Workflow) -> Workflow:
    """Copy the workflow's draft (graph and settings) into a new draft workflow named '<name> (copy)'."""
    draft = graphs.draft_of(workflow)
    copy = Workflow.objects.create(
        workspace=workflow.workspace, name=f"{workflow.name} (copy)"[:200], description=workflow.description
    )
    new_draft = WorkflowVersion.objects.create(workflow=copy, settings=draft.settings)
    _write_rows(new_draft, graphs.graph_of(draft))
    return copy


@transaction.atomic
def workflow_delete(*, workflow: Workflow) -> None:
    """Delete a workflow with all its versions and history; refused (409) while it has live enrollments."""
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
    live = Enrollment.objects.filter(workflow=workflow, status__in=Enrollment.LIVE_STATUSES).count()
    if live:
        raise Conflict(
            f"The workflow has {live} live enrollment(s): pause or archive it and let them finish, or cancel them.",
            details={"live_enrollments": live},
            code="workflow_has_live_enrollments",
        )
    workflow.delete()


def workflow_pause(*, workflow: Workflow) -> Workflow:
    """Pause an active workflow: no new enrollments, and live enrollments hold in place until resumed."""
    if workflow.status != Workflow.Status.ACTIVE:
        raise _not_from(workflow, "pause")
    return transition(workflow, to=Workflow.Status.PAUSED, allowed=Workflow.TRANSITIONS)


def workflow_resume(*, workflow: Workflow) -> Workflow:
    """Resume a paused workflow: enrollments continue from where they were held."""
    if workflow.status != Workflow.Status.PAUSED:
        raise _not_from(workflow, "resume")
    return transition(workflow, to=Workflow.Status.ACTIVE, allowed=Workflow.TRANSITIONS)


def workflow_archive(*, workflow: Workflow) -> Workflow:
    return transition(workflow, to=Workflow.Status.ARCHIVED, allowed=Workflow.TRANSITIONS)


def _not_from(workflow: Workflow, verb: str):
    from penguinflow.common.errors import InvalidTransition

    return InvalidTransition(
        f"Only {'an active' if verb == 'pause' else 'a paused'} workflow can be {verb}d; this one is {workflow.status}.",
        details={"status": workflow.status},
    )


@transaction.atomic
def enrollment_cancel(*, enrollment: Enrollment) -> Enrollment:
    """Cancel a live or failed enrollment: it stops where it is and is never scheduled again."""
    return transition(
        enrollment,
        to=Enrollment.Status.CANCELLED,
        allowed=Enrollment.TRANSITIONS,
        extra={"next_run_at": None, "lease_owner": "", "lease_expires_at": None, "finished_at": timezone.now()},
    )
