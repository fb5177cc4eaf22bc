"""`manage.py workflows diff A B`: what changed between two versions or workflow files, in words, and which
running contacts the change concerns (those live at a node the change removes or alters)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.models import Count

from penguinflow.common.errors import InvalidInput
from workflows import version_graphs as graphs
from workflows.as_code import Document, _builder_graph, documents_parse
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.graph_diff import GraphDiff, graph_diff
from workflows.models import Enrollment, Workflow, WorkflowVersion


@dataclass
class DiffSide:
    label: str
    graph: Graph
    settings: WorkflowSettings
    workflow: Workflow | None = None
    version: WorkflowVersion | None = None


def diff_side(spec: str, *, workspace=None) -> DiffSide:
    """Return a side of a diff: a workflow file, or `<workflow name or id>@<version number|draft>` of a workspace."""
    path = Path(spec)
    if path.is_file():
        documents = documents_parse({path.name: path.read_text(encoding="utf-8")})
        document = next((d for d in documents if d.kind == "workflow"), None)
        if document is None:
            raise InvalidInput("Not a workflow file.", details={spec: "Its `kind` must be workflow."})
        workflow = _named(workspace, document.data["name"]) if workspace is not None else None
        return DiffSide(
            f"{spec} ({document.data['name']})",
            _file_graph(document),
            graphs.parse_settings(document.data.get("settings") or {}),
            workflow,
        )
    name, _, number = spec.rpartition("@")
    if not name or workspace is None:
        raise InvalidInput(
            "Cannot read this side of the diff.",
            details={
                spec: "Give a workflow file, or <workflow name or id>@<version number|draft> with --workspace."
            },
        )
    workflow = _named(workspace, name)
    if workflow is None:
        raise InvalidInput("No such workflow.", details={spec: f"The workspace has no workflow {name!r}."})
    version = (
        graphs.draft_of(workflow)
        if number == "draft"
        else WorkflowVersion.objects.filter(
            workflow=workflow, number=int(number) if number.isdigit() else -1
        ).first()
    )
    if version is None:
        raise InvalidInput("No such version.", details={spec: f"{workflow.name!r} has no version {number}."})
    label = f"{workflow.name} {'draft' if version.number is None else f'v{version.number}'}"
    return DiffSide(
        label, graphs.graph_of(version), graphs.parse_settings(version.settings), workflow, version
    )


def _named(workspace, name: str) -> Workflow | None:
    scope = Workflow.objects.for_workspace(workspace)
    by_id = scope.filter(pk=name).first() if len(name) == 36 else None
    return by_id or scope.filter(name=name).order_by("created_at").first()


def _file_graph(document: Document) -> Graph:
    return graphs.parse_graph(_builder_graph(document))


def affected_contacts(side: DiffSide, diff: GraphDiff) -> list[dict[str, Any]]:
    """Return, per version and touched node, how many live contacts stand there (one grouped query)."""
    if side.workflow is None or not diff.touched_nodes:
        return []
    live = Enrollment.objects.filter(
        workflow=side.workflow,
        status__in=Enrollment.LIVE_STATUSES,
        current_node_id__in=sorted(diff.touched_nodes),
    )
    if side.version is not None and side.version.number is not None:
        live = live.filter(version=side.version)
    removed = {c.node_id for c in diff.nodes if c.change == "removed"}
    rows = (
        live.values_list("version__number", "current_node_id")
        .annotate(n=Count("id"))
        .order_by("version__number", "current_node_id")
    )
    return [
        {
            "version": number,
            "node_id": node_id,
            "contacts": n,
            "change": "removed" if node_id in removed else "changed",
        }
        for number, node_id, n in rows
    ]


def workflows_diff(a: str, b: str, *, workspace=None) -> dict[str, Any]:
    """Describe the change from A to B: the sentences, and the running contacts it affects."""
    old, new = diff_side(a, workspace=workspace), diff_side(b, workspace=workspace)
    diff = graph_diff(old.graph, new.graph, old.settings, new.settings)
    return {"from": old.label, "to": new.label, **diff.as_dict(), "affected": affected_contacts(old, diff)}


def diff_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"{report['from']} → {report['to']}", *(f"  {line}" for line in report["summary"])]
    if report["affected"]:
        lines.append("Running contacts it affects (they stay on their version unless migrated):")
        lines += [
            f"  v{row['version']} node {row['node_id']} ({row['change']}): {row['contacts']} live contact(s)"
            + (
                ": map it to a node of the new version or to 'exit' to migrate them"
                if row["change"] == "removed"
                else ""
            )
            for row in report["affected"]
        ]
    elif report["nodes"] or report["edges"]:
        lines.append("No running contact stands at a node it changes.")
    return lines
