"""Templates that workspaces make: save a workflow as a template (its emails and requirements detected), import a
template document, publish a new version, change who sees it, and moderate community submissions.

Every saved version passes the checks of ``marketplace.checks``; a community one also the checks of
``marketplace.community_checks``, then waits for staff (``template_moderate``, from the Django admin).
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from marketplace.catalogue import shipped_templates
from marketplace.checks import (
    KIND_OF_MODEL,
    example_values,
    path_visits,
    template_installed,
    template_problems,
)
from marketplace.community_checks import community_problems
from marketplace.manifest import TemplateFormatError, TemplateManifest, manifest_parse
from marketplace.models import WorkflowTemplate, WorkflowTemplateVersion
from marketplace.selectors import manifest_summary
from penguinflow.common.errors import InvalidInput, NotAllowedNow
from penguinflow.common.states import transition
from workflows import version_graphs
from workflows.engine.errors import EngineInputError
from workflows.engine.registry import registry
from workflows.engine.simulator import simulate
from workflows.models import Workflow

__all__ = [
    "template_import",
    "template_moderate",
    "template_save",
    "template_version_add",
    "template_visibility_set",
]

Visibility = WorkflowTemplate.Visibility
Moderation = WorkflowTemplate.Moderation


def _set_path(config: dict, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        config = config[key]
    config[last] = value


class _Detected:
    """The workspace objects a workflow's nodes name, each given a key and turned into a requirement or email."""

    def __init__(self, workspace) -> None:
        self.workspace = workspace
        self.keys: dict[tuple[str, str], str] = {}
        self.requires: list[dict[str, Any]] = []
        self.emails: list[dict[str, Any]] = []

    def placeholder(self, model_label: str, value: Any) -> str | None:
        kind = KIND_OF_MODEL[model_label]
        if (kind, str(value)) in self.keys:
            return f"${{{kind}.{self.keys[(kind, str(value))]}}}"
        try:
            found = (
                apps.get_model(model_label)
                .objects.for_workspace(self.workspace)
                .filter(pk=uuid.UUID(str(value)))
                .first()
            )
        except ValueError:
            found = None
        if found is None:
            return None
        key = f"{kind}_{len(self.keys) + 1}"
        self.keys[(kind, str(value))] = key
        if kind == "email":
            self.emails.append(
                {
                    "id": key,
                    "name": found.name,
                    "subject": found.subject,
                    "html": found.html,
                    "text": found.text,
                }
            )
        else:
            requirement = {
                "id": key,
                "kind": kind,
                "name": found.name,
                "description": getattr(found, "description", ""),
            }
            if kind == "segment":
                requirement["rule"] = found.rule
            self.requires.append(requirement)
        return f"${{{kind}.{key}}}"


def _graph_with_placeholders(workflow: Workflow) -> tuple[dict, dict, _Detected]:
    """Return the draft's graph and settings with every named workspace object replaced by a placeholder."""
    draft = version_graphs.draft_of(workflow)
    graph = copy.deepcopy(version_graphs.builder_graph_of(draft))
    settings = copy.deepcopy(draft.settings or {})
    detected = _Detected(workflow.workspace)
    for node in graph.get("nodes", []):
        node_type = registry.get(node.get("type", ""))
        config = node.setdefault("data", {}).setdefault("config", {})
        for reference in node_type.references if node_type is not None else ():
            value = reference.value_in(config)
            if value in (None, ""):
                continue
            placeholder = detected.placeholder(reference.model, value)
            if placeholder is None:
                raise NotAllowedNow(
                    f"Node '{node.get('id')}' names a {reference.noun} that no longer exists: "
                    "fix the workflow first.",
                    code="graph_invalid",
                    details={f"graph.{node.get('id')}.{reference.path}": "Not found."},
                )
            _set_path(config, reference.path, placeholder)
        if node.get("type") == "send_email" and isinstance(config.get("template_ids"), list):
            # Candidate templates are a list, which the node type's (scalar) references do not cover.
            candidates = [detected.placeholder("templates.EmailTemplate", value) for value in config["template_ids"]]
            if None in candidates:
                raise NotAllowedNow(
                    f"Node '{node.get('id')}' names a candidate email template that no longer exists: "
                    "fix the workflow first.",
                    code="graph_invalid", details={f"graph.{node.get('id')}.template_ids": "Not found."},
                )
            config["template_ids"] = candidates
    if settings.get("on_exit_enroll"):
        settings["on_exit_enroll"] = detected.placeholder("workflows.Workflow", settings["on_exit_enroll"])
    return graph, settings, detected


def _sample_for(graph: dict) -> dict[str, Any]:
    """Return a sample that enters at the first trigger: its event when it listens to one, else by hand."""
    trigger = next((n for n in graph.get("nodes", []) if str(n.get("type", "")).startswith("trigger_")), None)
    config = (trigger or {}).get("data", {}).get("config", {})
    events = (
        [{"type": config["event"]}]
        if trigger and trigger.get("type") == "trigger_event" and config.get("event")
        else []
    )
    return {
        "contact": {"email": "sample@example.com", "first_name": "Sam"},
        "events": events,
        "expected_path": ["(to be run)"],
    }


def _with_its_own_run(document: dict) -> dict:
    """Record the sample run's path and status as the expected ones (a saved workflow's behaviour is its own)."""
    try:
        manifest = manifest_parse(document)
    except TemplateFormatError:  # the checks that follow name what is wrong
        return document
    installed = template_installed(manifest, example_values(manifest))
    sample = installed.sample
    try:
        result = simulate(
            graph=version_graphs.parse_graph(installed.graph),
            settings=version_graphs.parse_settings(installed.settings),
            contact=sample["contact"],
            start=sample["start"],
            events=sample["events"],
            until=sample["until"],
        )
    except (InvalidInput, EngineInputError):  # the checks that follow name what is wrong with the graph
        return document
    visits = path_visits(result.as_dict()["path"]) or document["sample"]["expected_path"]
    document["sample"] |= {"expected_path": visits, "expected_status": result.status}
    return document


def _unique_slug(name: str) -> str:
    # Slugs are [a-z0-9-] and start with a letter or digit: slugify keeps underscores, so they become hyphens.
    base = re.sub(r"-{2,}", "-", slugify(name).replace("_", "-"))[:60].strip("-")
    base = base if len(base) >= 3 else f"{base}-template".strip("-")
    slug, number = base, 1
    while slug in shipped_templates() or WorkflowTemplate.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


def document_from_workflow(
    *, workflow: Workflow, slug: str, version: int, name: str, description: str, category: str
) -> dict[str, Any]:
    """Return the template document of the workflow's draft: graph, settings, emails and requirements."""
    graph, settings, detected = _graph_with_placeholders(workflow)
    document = {
        "format": 1,
        "slug": slug,
        "version": version,
        "name": name[:120],
        "category": category,
        "description": description or f"Made from the workflow '{workflow.name}'.",
        "requires": detected.requires,
        "emails": detected.emails,
        "settings": settings,
        "graph": graph,
        "sample": _sample_for(graph),
    }
    return _with_its_own_run(document)


def _checked(document: dict, *, community: bool) -> TemplateManifest:
    """Return the manifest of ``document`` when it passes the checks; else a 422 naming every problem."""
    try:
        manifest = manifest_parse(document)
    except TemplateFormatError as error:
        raise InvalidInput(error.message, details=error.details, code="template_invalid") from None
    problems = template_problems(manifest) | (community_problems(manifest) if community else {})
    if problems:
        raise NotAllowedNow(
            f"The template does not pass its checks ({len(problems)} problem(s)).",
            details={"problems": problems},
            code="template_checks_failed",
        )
    return manifest


def _search_text(manifest: TemplateManifest) -> str:
    return " ".join([manifest.name, manifest.description, *manifest.keywords, manifest.category]).lower()


def _store_version(template: WorkflowTemplate, manifest: TemplateManifest, number: int) -> None:
    WorkflowTemplateVersion.objects.create(
        template=template, number=number, document=manifest.model_dump(mode="json", exclude_none=True)
    )
    WorkflowTemplate.objects.filter(pk=template.pk).update(
        current_version=number,
        name=manifest.name,
        category=manifest.category,
        description=manifest.description,
        search_text=_search_text(manifest),
        summary=manifest_summary(manifest),
        updated_at=timezone.now(),
    )
    template.refresh_from_db()


def _create(
    *, workspace, manifest: TemplateManifest, visibility: str, source_workflow=None
) -> WorkflowTemplate:
    template = WorkflowTemplate.objects.create(
        workspace=workspace,
        slug=manifest.slug,
        name=manifest.name,
        category=manifest.category,
        description=manifest.description,
        visibility=visibility,
        source_workflow=source_workflow,
    )
    _store_version(template, manifest, 1)
    if visibility == Visibility.COMMUNITY:
        transition(
            template, to=Moderation.PENDING, allowed=WorkflowTemplate.TRANSITIONS, field="moderation_status"
        )
    return template


@transaction.atomic
def template_save(
    *,
    workspace,
    workflow: Workflow,
    visibility: str,
    name: str = "",
    description: str = "",
    category: str = "internal",
) -> WorkflowTemplate:
    """Save the workflow's draft as a new template of ``workspace`` (community: pending moderation)."""
    name = name or workflow.name
    slug = _unique_slug(name)
    document = document_from_workflow(
        workflow=workflow,
        slug=slug,
        version=1,
        name=name,
        description=description or workflow.description,
        category=category,
    )
    manifest = _checked(document, community=visibility == Visibility.COMMUNITY)
    return _create(workspace=workspace, manifest=manifest, visibility=visibility, source_workflow=workflow)


@transaction.atomic
def template_import(*, workspace, document: dict, visibility: str) -> WorkflowTemplate:
    """Store a template document written elsewhere (a file of the format) as a template of ``workspace``."""
    slug = document.get("slug") if isinstance(document, dict) else None
    if isinstance(slug, str) and (
        slug in shipped_templates() or WorkflowTemplate.objects.filter(slug=slug).exists()
    ):
        raise InvalidInput(
            "A template with this slug exists already.",
            details={"document.slug": "Taken."},
            code="template_slug_taken",
        )
    manifest = _checked(document, community=visibility == Visibility.COMMUNITY)
    return _create(workspace=workspace, manifest=manifest, visibility=visibility)


@transaction.atomic
def template_version_add(*, template: WorkflowTemplate, workflow: Workflow | None = None) -> WorkflowTemplate:
    """Publish the source workflow's current draft as the template's next version. Installed copies keep what they
    are (a new version never changes a workflow); their installs show that a newer version exists."""
    template = WorkflowTemplate.objects.select_for_update().get(pk=template.pk)
    workflow = workflow or template.source_workflow
    if workflow is None:
        raise NotAllowedNow(
            "The workflow this template was saved from is gone: name another one.",
            details={"workflow_id": "Required."},
            code="template_source_missing",
        )
    number = template.current_version + 1
    document = document_from_workflow(
        workflow=workflow,
        slug=template.slug,
        version=number,
        name=template.name,
        description=template.description,
        category=template.category,
    )
    manifest = _checked(document, community=template.visibility == Visibility.COMMUNITY)
    _store_version(template, manifest, number)
    if template.visibility == Visibility.COMMUNITY:
        transition(
            template,
            to=Moderation.PENDING,
            allowed=WorkflowTemplate.TRANSITIONS,
            field="moderation_status",
            extra={"moderation_reason": ""},
        )
    return template


@transaction.atomic
def template_visibility_set(*, template: WorkflowTemplate, visibility: str) -> WorkflowTemplate:
    """Share the template more or less widely; going community submits it (its checks run again)."""
    if visibility == Visibility.COMMUNITY and template.visibility != Visibility.COMMUNITY:
        _checked(template.versions.get(number=template.current_version).document, community=True)
        if template.moderation_status != Moderation.APPROVED:
            transition(
                template,
                to=Moderation.PENDING,
                allowed=WorkflowTemplate.TRANSITIONS,
                field="moderation_status",
            )
    WorkflowTemplate.objects.filter(pk=template.pk).update(visibility=visibility, updated_at=timezone.now())
    template.visibility = visibility
    return template


def template_moderate(
    *, template: WorkflowTemplate, approve: bool, reason: str = "", by: str = ""
) -> WorkflowTemplate:
    """Approve or reject a pending community template; a rejection says why (shown to its authors)."""
    if not approve and not reason.strip():
        raise InvalidInput(
            "Say why the template is rejected: its authors read it.", details={"reason": "Required."}
        )
    return transition(
        template,
        to=Moderation.APPROVED if approve else Moderation.REJECTED,
        allowed=WorkflowTemplate.TRANSITIONS,
        field="moderation_status",
        extra={
            "moderation_reason": "" if approve else reason.strip(),
            "moderated_at": timezone.now(),
            "moderated_by": by[:200],
        },
    )
