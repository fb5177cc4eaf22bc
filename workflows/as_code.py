"""Workflows as code (CONTRACT §17): a workspace's workflows, templates and settings as files, and back.

`workspace_export` writes one document per workflow (its published version, else its draft) and per email
template, and one for the workspace's settings, each with a fixed key order so that a diff in review shows only
what changed. `as_code_plan` compares documents with a workspace (created, changed with the change in words and
the running contacts it concerns, unchanged) and `as_code_apply` makes the workspace match them: all of it in one
transaction, or, when any document is refused (does not parse, does not validate, conflicts with what is
deployed, would strand contacts), nothing. Applying the same files twice changes nothing the second time.

A document names its workflow by `name` (a workspace's workflows are told apart by name in files). Its `version`
is the version it was exported from: a later version published by anything but `apply` (someone in the builder)
is a conflict, as is a draft with unpublished changes, which `apply` would overwrite.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.db import transaction

from penguinflow.common.errors import DomainError, InvalidInput, NotAllowedNow
from penguinflow.workspaces.models import Workspace
from templates.models import EmailTemplate
from workflows import version_graphs as graphs
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.graph_diff import graph_diff
from workflows.models import Workflow, WorkflowVersion
from workflows.selectors import versions_in_flight
from workflows.version_migration import (
    MigrateRequest,
    MigrationPlan,
    migration_apply,
    migration_plan,
    migration_start,
)

PUBLISHER = "workflows apply"
WORKSPACE_FIELDS = ("name", "timezone", "from_email", "reply_to", "send_rate_per_minute")
TEMPLATE_FIELDS = ("name", "subject", "html", "text")


# --- export ------------------------------------------------------------------------------------------------------


def _sorted(value: Any) -> Any:
    """Return JSON with every object's keys sorted (configs and settings), so that files diff cleanly."""
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


def workflow_document(workflow: Workflow, version: WorkflowVersion) -> dict[str, Any]:
    """Return a workflow's document: its identity, settings and graph, keys in a fixed order."""
    graph = graphs.graph_of(version)
    nodes = []
    for node in graph.nodes:
        item: dict[str, Any] = {"id": node.id, "type": node.type}
        if node.label:
            item["label"] = node.label
        item["config"] = _sorted(node.config_dict())
        item["position"] = [node.position.x, node.position.y]
        nodes.append(item)
    edges = [{"id": e.id, "from": e.source, "branch": e.branch, "to": e.target} for e in graph.edges]
    return {
        "kind": "workflow",
        "name": workflow.name,
        "description": workflow.description,
        "version": version.number,
        "settings": _sorted(version.settings),
        "nodes": nodes,
        "edges": edges,
    }


def template_document(template: EmailTemplate) -> dict[str, Any]:
    return {
        "kind": "template",
        "id": str(template.pk),
        **{name: getattr(template, name) for name in TEMPLATE_FIELDS},
    }


def workspace_document(workspace: Workspace) -> dict[str, Any]:
    return {"kind": "workspace", **{name: getattr(workspace, name) for name in WORKSPACE_FIELDS}}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "untitled"


def _unique_path(folder: str, name: str, taken: set[str], extension: str) -> str:
    stem, number = _slug(name), 1
    path = f"{folder}/{stem}.{extension}"
    while path in taken:
        number += 1
        path = f"{folder}/{stem}-{number}.{extension}"
    taken.add(path)
    return path


def document_text(document: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)


def workspace_export(*, workspace: Workspace, fmt: str = "yaml") -> dict[str, str]:
    """Return the workspace's files by relative path: workflows/, templates/ and workspace.<ext>."""
    files: dict[str, str] = {f"workspace.{fmt}": document_text(workspace_document(workspace), fmt)}
    taken: set[str] = set()
    workflows = (
        Workflow.objects.for_workspace(workspace)
        .exclude(status=Workflow.Status.ARCHIVED)
        .order_by("name", "created_at")
    )
    for workflow in workflows:
        version = _deployed(workflow) or graphs.draft_of(workflow)
        path = _unique_path("workflows", workflow.name, taken, fmt)
        files[path] = document_text(workflow_document(workflow, version), fmt)
    for template in EmailTemplate.objects.for_workspace(workspace).order_by("name", "created_at"):
        path = _unique_path("templates", template.name, taken, fmt)
        files[path] = document_text(template_document(template), fmt)
    return files


def _deployed(workflow: Workflow) -> WorkflowVersion | None:
    if workflow.published_version is None:
        return None
    return WorkflowVersion.objects.get(workflow=workflow, number=workflow.published_version)


# --- reading documents -------------------------------------------------------------------------------------------


@dataclass
class Document:
    path: str
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.data.get("kind", "")


def documents_parse(files: Mapping[str, str]) -> list[Document]:
    """Return the documents of the files (YAML or JSON); 400 naming each file that is not one."""
    documents, problems = [], {}
    for path in sorted(files):
        try:
            data = yaml.safe_load(files[path])  # JSON is YAML
        except yaml.YAMLError as error:
            problems[path] = f"Not valid YAML or JSON: {str(error).splitlines()[0]}"
            continue
        if not isinstance(data, dict) or data.get("kind") not in ("workflow", "template", "workspace"):
            problems[path] = "Must be an object whose `kind` is workflow, template or workspace."
            continue
        if data["kind"] != "workspace" and not (isinstance(data.get("name"), str) and data["name"].strip()):
            problems[path] = "Must have a `name`."
            continue
        documents.append(Document(path, data))
    names = [d.data["name"] for d in documents if d.kind == "workflow"]
    for document in documents:
        if document.kind == "workflow" and names.count(document.data["name"]) > 1:
            problems[document.path] = f"Another file also defines the workflow {document.data['name']!r}."
    if problems:
        raise InvalidInput("Some files cannot be read.", details=problems, code="files_invalid")
    return documents


def _builder_graph(document: Document) -> dict[str, Any]:
    """Return the document's graph as the builder's JSON (what the API's graph parser reads)."""
    data = document.data
    nodes, edges = data.get("nodes") or [], data.get("edges") or []
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise InvalidInput(
            "The workflow is malformed.", details={document.path: "`nodes` and `edges` are lists."}
        )
    builder_nodes = []
    for index, item in enumerate(nodes):
        if not isinstance(item, dict):
            raise InvalidInput(
                "The workflow is malformed.", details={f"{document.path}: nodes[{index}]": "An object."}
            )
        position = item.get("position") or [0, 0]
        x, y = [*position, 0, 0][:2] if isinstance(position, list) else (0, 0)
        builder_nodes.append(
            {
                "id": item.get("id"),
                "type": item.get("type"),
                "position": {"x": x, "y": y},
                "data": {"label": item.get("label") or "", "config": item.get("config") or {}},
            }
        )
    builder_edges = [
        {
            "id": item.get("id") or f"{item.get('from')}-{item.get('branch') or 'default'}-{item.get('to')}",
            "source": item.get("from"),
            "target": item.get("to"),
            "sourceHandle": item.get("branch") or "default",
        }
        if isinstance(item, dict)
        else item
        for item in edges
    ]
    return {"nodes": builder_nodes, "edges": builder_edges}


# --- the plan ----------------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """What applying one document does: `create`, `change` or `unchanged`, in words, or why it cannot."""

    path: str
    kind: str
    name: str
    action: str = "unchanged"
    changes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    migration: MigrationPlan | None = None
    # For apply: what the plan found and parsed.
    target: Any = None
    graph: Graph | None = None
    graph_json: dict[str, Any] | None = None
    settings: WorkflowSettings | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "changes": self.changes,
            "running_contacts": self.running,
            "problems": self.problems,
            "migration": self.migration.as_dict() if self.migration is not None else None,
        }


@dataclass
class CodePlan:
    entries: list[Entry]

    @property
    def problems(self) -> dict[str, list[str]]:
        return {entry.path: entry.problems for entry in self.entries if entry.problems}

    def as_dict(self) -> dict[str, Any]:
        counts = {
            action: sum(e.action == action for e in self.entries)
            for action in ("create", "change", "unchanged")
        }
        return {
            "files": [entry.as_dict() for entry in self.entries],
            "counts": counts,
            "can_apply": not self.problems,
        }


def as_code_plan(*, workspace: Workspace, files: Mapping[str, str], migrate: bool = False) -> CodePlan:
    """Compare the files with the workspace and say what applying them would do; change nothing."""
    documents = documents_parse(files)
    entries = []
    template_ids = _template_ids(workspace, documents)
    file_templates = {str(d.data.get("id")) for d in documents if d.kind == "template" and d.data.get("id")}
    for document in documents:
        if document.kind == "workspace":
            entries.append(_workspace_entry(workspace, document))
        elif document.kind == "template":
            entries.append(_template_entry(workspace, document))
        else:
            entries.append(_workflow_entry(workspace, document, template_ids, file_templates, migrate))
    return CodePlan(entries)


def _workspace_entry(workspace: Workspace, document: Document) -> Entry:
    entry = Entry(document.path, "workspace", workspace.slug)
    changed = [
        name
        for name in WORKSPACE_FIELDS
        if name in document.data and document.data[name] != getattr(workspace, name)
    ]
    if changed:
        entry.action, entry.changes = "change", [f"Settings changed: {', '.join(changed)}."]
    entry.target = workspace
    return entry


def _template_entry(workspace: Workspace, document: Document) -> Entry:
    entry = Entry(document.path, "template", document.data["name"])
    template = _template_for(workspace, document)
    entry.target = template
    if template is None:
        entry.action, entry.changes = "create", ["Template created."]
        return entry
    changed = [name for name in TEMPLATE_FIELDS if document.data.get(name, "") != getattr(template, name)]
    if changed:
        entry.action, entry.changes = "change", [f"Template changed: {', '.join(changed)}."]
    return entry


def _template_for(workspace: Workspace, document: Document) -> EmailTemplate | None:
    scope = EmailTemplate.objects.for_workspace(workspace)
    given = str(document.data.get("id") or "")
    found = scope.filter(pk=given).first() if re.fullmatch(r"[0-9a-fA-F-]{36}", given) else None
    return found or scope.filter(name=document.data["name"]).order_by("created_at").first()


def _template_ids(workspace: Workspace, documents: list[Document]) -> dict[str, str]:
    """Return file template id → this workspace's template id, for the templates that exist here already."""
    ids = {}
    for document in documents:
        if document.kind == "template" and document.data.get("id"):
            template = _template_for(workspace, document)
            if template is not None:
                ids[str(document.data["id"])] = str(template.pk)
    return ids


def _rewrite_template_ids(graph_json: dict[str, Any], ids: Mapping[str, str]) -> dict[str, Any]:
    """Point `template_id`s (and a send step's candidate `template_ids`) at this workspace's copies of the files'
    templates."""
    for item in graph_json["nodes"]:
        config = item["data"]["config"]
        if isinstance(config, dict) and isinstance(config.get("template_id"), str):
            config["template_id"] = ids.get(config["template_id"], config["template_id"])
        if isinstance(config, dict) and isinstance(config.get("template_ids"), list):
            config["template_ids"] = [ids.get(t, t) if isinstance(t, str) else t for t in config["template_ids"]]
    return graph_json


def _workflow_entry(
    workspace: Workspace,
    document: Document,
    template_ids: dict[str, str],
    file_templates: set[str],
    migrate: bool,
) -> Entry:
    from workflows.services import workflow_validation_report

    name = document.data["name"]
    entry = Entry(document.path, "workflow", name)
    workflow = (
        Workflow.objects.for_workspace(workspace)
        .exclude(status=Workflow.Status.ARCHIVED)
        .filter(name=name)
        .order_by("created_at")
        .first()
    )
    entry.target = workflow
    try:
        entry.graph_json = _rewrite_template_ids(_builder_graph(document), template_ids)
        entry.graph = graphs.parse_graph(entry.graph_json)
        entry.settings = graphs.parse_settings(document.data.get("settings") or {})
    except DomainError as error:
        entry.problems = [f"{path}: {text}" for path, text in error.details.items()] or [error.message]
        return entry
    check = workflow if workflow is not None else Workflow(workspace=workspace, name=name)
    report = workflow_validation_report(workflow=check, graph=entry.graph, settings=entry.settings)
    entry.problems += [
        f"{issue.get('node_id') or issue.get('edge_id') or 'graph'}: {issue['message']}"
        for issue in report["errors"]
        if not _created_by_files(issue, file_templates)
    ]
    if workflow is None:
        entry.action, entry.changes = (
            "create",
            [f"Workflow created with {len(entry.graph.nodes)} nodes and published as v1."],
        )
        return entry
    deployed = _deployed(workflow)
    old_graph = graphs.graph_of(deployed) if deployed else Graph()
    old_settings = graphs.parse_settings(deployed.settings) if deployed else None
    diff = graph_diff(old_graph, entry.graph, old_settings, entry.settings)
    if diff.empty and deployed is not None:
        return entry
    entry.action = "change"
    entry.changes = diff.sentences()
    entry.problems += _conflicts(workflow, document, deployed)
    _running_contacts(entry, workflow, deployed, diff, migrate, document)
    return entry


def _created_by_files(issue: dict[str, Any], documents_template_ids: set[str]) -> bool:
    """Return whether the issue is a reference to a template that the same apply creates (it exists by then)."""
    return issue.get("code") == "unknown_reference" and any(
        f"'{template_id}'" in issue.get("message", "") for template_id in documents_template_ids
    )


def _conflicts(workflow: Workflow, document: Document, deployed: WorkflowVersion | None) -> list[str]:
    problems = []
    based_on = document.data.get("version")
    if isinstance(based_on, int) and deployed is not None:
        newer = (
            WorkflowVersion.objects.filter(workflow=workflow, number__gt=based_on)
            .exclude(published_by=PUBLISHER)
            .order_by("number")
            .values_list("number", flat=True)
        )
        if newer:
            problems.append(
                f"Version conflict: the file was exported from v{based_on}, and v{', v'.join(map(str, newer))} "
                "was published since outside these files. Export again and merge, then apply."
            )
    draft = graphs.draft_of(workflow)
    if deployed is not None and not graph_diff(graphs.graph_of(deployed), graphs.graph_of(draft)).empty:
        problems.append(
            "The builder's draft has unpublished changes that apply would overwrite: publish or "
            "discard them first."
        )
    return problems


def _running_contacts(
    entry: Entry,
    workflow: Workflow,
    deployed: WorkflowVersion | None,
    diff,
    migrate: bool,
    document: Document,
) -> None:
    live = {number: count for number, count in versions_in_flight(workflow=workflow).items() if count > 0}
    if not live:
        return
    touched = ", ".join(sorted(diff.touched_nodes)) or "none"
    for number, count in sorted(live.items()):
        entry.running.append(f"{count} contact(s) live on v{number}; nodes changed or removed: {touched}.")
    if not migrate:
        entry.running.append("They stay on their versions (apply with --migrate to move them).")
        return
    mapping = (document.data.get("migrate") or {}).get("mapping") or {}
    entry.migration = migration_plan(
        workflow=workflow,
        new_graph=entry.graph,
        request=MigrateRequest(
            tuple(sorted(live)), {str(k): str(v) for k, v in mapping.items()}, dry_run=True
        ),
        to_number=(workflow.versions.exclude(number=None).order_by("-number").first().number + 1),
    )
    entry.problems += [
        f"{r['from_node']} on v{r['from_version']}: {r['reason']}" for r in entry.migration.refusals
    ]


# --- apply -------------------------------------------------------------------------------------------------------


def as_code_apply(*, workspace: Workspace, files: Mapping[str, str], migrate: bool = False) -> CodePlan:
    """Make the workspace match the files, all or nothing; return the plan that was applied (422 with the
    reasons, and nothing changed, when any file is refused).

    Templates go first, so that workflows can name the templates the same files create; migrations of contacts in
    flight are applied once the transaction has committed (their jobs resume after a crash).
    """
    plan = as_code_plan(workspace=workspace, files=files, migrate=migrate)
    _refuse(plan)
    migrations = []
    with transaction.atomic():
        created_ids = {}
        for entry in plan.entries:
            document = _document_of(files, entry.path)
            if entry.kind == "workspace" and entry.action == "change":
                _workspace_apply(workspace, document)
            elif entry.kind == "template" and entry.action != "unchanged":
                template = _template_apply(workspace, document, entry.target)
                if document.get("id"):
                    created_ids[str(document["id"])] = str(template.pk)
        final = as_code_plan(workspace=workspace, files=files, migrate=migrate)  # templates now exist here
        _refuse(final)
        for entry in final.entries:
            if entry.kind == "workflow" and entry.action != "unchanged":
                job = _workflow_apply(workspace, entry, _document_of(files, entry.path))
                if job is not None:
                    migrations.append(job)
    for job in migrations:
        migration_apply(migration_id=job.pk, max_wait=30.0)
    # What was done: templates and settings as first planned, workflows as planned once those existed.
    workflows = {entry.path: entry for entry in final.entries if entry.kind == "workflow"}
    return CodePlan([workflows.get(entry.path, entry) for entry in plan.entries])


def _refuse(plan: CodePlan) -> None:
    if plan.problems:
        raise NotAllowedNow(
            f"{len(plan.problems)} file(s) cannot be applied; nothing was changed.",
            details={"files": plan.problems, "plan": plan.as_dict()},
            code="files_refused",
        )


def _document_of(files: Mapping[str, str], path: str) -> dict[str, Any]:
    return yaml.safe_load(files[path])


def _workspace_apply(workspace: Workspace, document: dict[str, Any]) -> None:
    changed = [name for name in WORKSPACE_FIELDS if name in document]
    for name in changed:
        setattr(workspace, name, document[name])
    workspace.full_clean(exclude=["slug"])
    workspace.save(update_fields=[*changed, "updated_at"])


def _template_apply(
    workspace: Workspace, document: dict[str, Any], template: EmailTemplate | None
) -> EmailTemplate:
    values = {name: document.get(name, "") for name in TEMPLATE_FIELDS}
    if template is None:
        template = EmailTemplate(workspace=workspace, **values)
    else:
        for name, value in values.items():
            setattr(template, name, value)
    template.full_clean(exclude=["workspace"])
    template.save()
    return template


def _workflow_apply(workspace: Workspace, entry: Entry, document: dict[str, Any]):
    """Save the file's graph as the draft and publish it (moving contacts in flight when planned)."""
    from workflows.services import workflow_create, workflow_draft_save, workflow_publish

    workflow = entry.target
    settings = document.get("settings") or {}
    if workflow is None:
        workflow = workflow_create(
            workspace=workspace,
            name=entry.name,
            description=document.get("description", ""),
            graph=entry.graph_json,
            settings=settings,
        )
    else:
        draft = graphs.draft_of(workflow)
        workflow_draft_save(
            workflow=workflow, graph=entry.graph_json, settings=settings, revision=draft.revision
        )
        if document.get("description") is not None and document["description"] != workflow.description:
            Workflow.objects.filter(pk=workflow.pk).update(description=document["description"])
    version = workflow_publish(workflow=workflow, published_by=PUBLISHER)
    if entry.migration is None or not entry.migration.contacts:
        return None
    return migration_start(workflow=workflow, to_version=version, plan=entry.migration)


def plan_lines(plan: CodePlan, *, done: bool = False) -> list[str]:
    """Return the plan as lines for a terminal: one per file, its changes, running contacts and problems."""
    verbs = {
        "create": "created" if done else "create",
        "change": "changed" if done else "change",
        "unchanged": "unchanged",
    }
    lines = []
    for entry in plan.entries:
        lines.append(f"{entry.path}: {verbs[entry.action]} {entry.kind} {entry.name!r}")
        if entry.action != "unchanged":
            lines += [f"    {change}" for change in entry.changes]
        lines += [f"    running: {text}" for text in entry.running]
        if entry.migration is not None:
            for move in entry.migration.moves:
                if move["contacts"]:
                    timers = ", ".join(f"{n} {kind}" for kind, n in move["timers"].items() if n)
                    lines.append(
                        f"    migrate v{move['from_version']} {move['from_node']} → {move['to_node']}: "
                        f"{move['contacts']} contact(s)" + (f" (timers: {timers})" if timers else "")
                    )
        lines += [f"    REFUSED: {problem}" for problem in entry.problems]
    counts = plan.as_dict()["counts"]
    lines.append(
        f"{counts['create']} to create, {counts['change']} to change, {counts['unchanged']} unchanged"
        if not done
        else f"{counts['create']} created, {counts['change']} changed, {counts['unchanged']} unchanged"
    )
    return lines
