"""Writes of the marketplace: install a template into a workspace, save a workflow as a template, share it, publish a
new version, submit it to the community and moderate it.

Installing is one transaction: the emails, the segments, campaigns and workflows it was asked to create, the new
draft workflow and the install record are all written, or none is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from campaigns import services as campaign_services
from campaigns.models import Campaign
from contacts.models import Segment
from contacts.segments import segment_create
from marketplace.checks import template_installed
from marketplace.manifest import TemplateManifest
from marketplace.models import TemplateInstall, WorkflowTemplate
from marketplace.parameters import parameter_error
from marketplace.placeholders import Ref, placeholders_replace
from marketplace.selectors import CatalogueEntry, catalogue_entry, stored_manifest
from marketplace.stats import template_stats_count_install
from penguinflow.common.errors import InvalidInput, NotAllowedNow, NotFound
from templates import authoring as template_services
from templates.models import EmailTemplate
from workflows import services as workflow_services
from workflows.models import Workflow

__all__ = ["InstallResult", "template_install"]

CREATE = "create"

# The model of each kind of object a template may ask for, and whether installing can create one.
_MODELS = {"segment": Segment, "campaign": Campaign, "workflow": Workflow, "email": EmailTemplate}


@dataclass
class InstallResult:
    workflow: Workflow
    created: list[dict[str, str]] = field(default_factory=list)
    reused: list[dict[str, str]] = field(default_factory=list)


def _existing(workspace, kind: str, value: Any):
    try:
        key = uuid.UUID(str(value))
    except ValueError:
        return None
    return _MODELS[kind].objects.for_workspace(workspace).filter(pk=key).first()


def _named(workspace, kind: str, name: str):
    return _MODELS[kind].objects.for_workspace(workspace).filter(name=name).order_by("created_at").first()


def _check_keys(manifest: TemplateManifest, parameters: dict, resources: dict) -> None:
    """Refuse (400) parameters and resources the template does not declare: a typo must not be silently ignored."""
    details = {}
    declared = {p.id for p in manifest.parameters}
    details |= {
        f"parameters.{key}": "The template has no such parameter."
        for key in parameters
        if key not in declared
    }
    choosable = {r.id for r in manifest.requires if r.is_resource} | {e.id for e in manifest.emails}
    details |= {
        f"resources.{key}": "The template has no such requirement."
        for key in resources
        if key not in choosable
    }
    for parameter in manifest.parameters:
        if parameter.id in parameters:
            problem = parameter_error(parameter, parameters[parameter.id])
            if problem:
                details[f"parameters.{parameter.id}"] = problem
    if details:
        raise InvalidInput(
            "The install request names things the template does not have, or bad values.", details=details
        )


@dataclass
class _Plan:
    """What installing will use: a value for each parameter, and for each object an existing one or 'create'."""

    values: dict[Ref, Any] = field(default_factory=dict)
    to_create: list[tuple[str, str]] = field(default_factory=list)  # (kind, key)
    reused: list[dict[str, str]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)


def install_plan(*, workspace, manifest: TemplateManifest, parameters: dict, resources: dict) -> _Plan:
    """Decide each value: a given parameter or its default; a given object id, 'create', or else an object of the
    same name in the workspace. What is left is ``missing``, each with what the user may do about it."""
    plan = _Plan()
    for parameter in manifest.parameters:
        value = parameters.get(parameter.id, parameter.default)
        if value is None:
            plan.missing.append(
                {
                    "id": parameter.id,
                    "kind": "parameter",
                    "name": parameter.label,
                    "message": f"Give a value for '{parameter.label}' ({parameter.type}).",
                }
            )
        plan.values[("param", parameter.id)] = value
    objects = [(r.kind, r.id, r.name) for r in manifest.requires if r.is_resource]
    objects += [("email", e.id, e.name) for e in manifest.emails]
    for kind, key, name in objects:
        choice = resources.get(key, CREATE if kind == "email" else None)
        if choice == CREATE:
            plan.to_create.append((kind, key))
            continue
        found = _existing(workspace, kind, choice) if choice is not None else _named(workspace, kind, name)
        if found is None:
            message = (
                f"The {kind} '{choice}' does not exist in this workspace: pick another one or create it."
                if choice is not None
                else f"Pick an existing {kind} for '{name}', or create it."
            )
            plan.missing.append(
                {"id": key, "kind": kind, "name": name, "message": message, "can_create": True}
            )
            continue
        plan.values[(kind, key)] = str(found.pk)
        plan.reused.append({"kind": kind, "id": str(found.pk), "requirement": key})
    return plan


def _create(workspace, manifest: TemplateManifest, kind: str, key: str, values: dict[Ref, Any]):
    if kind == "email":
        email = manifest.email(key)
        parts = placeholders_replace(
            {"subject": email.subject, "html": email.html, "text": email.text}, values
        )
        return template_services.template_create(workspace=workspace, name=email.name, **parts)
    requirement = manifest.requirement(key)
    if kind == "segment":
        return segment_create(
            workspace=workspace,
            name=requirement.name,
            rule=requirement.rule,
            description=requirement.description,
        )
    if kind == "campaign":
        return campaign_services.campaign_create(
            workspace=workspace, name=requirement.name, description=requirement.description
        )
    # A workflow the template hands contacts to: a draft with a manual entry, for the user to build.
    return workflow_services.workflow_create(
        workspace=workspace,
        name=requirement.name,
        description=requirement.description,
        graph={
            "nodes": [
                {
                    "id": "entry",
                    "type": "trigger_manual",
                    "position": {"x": 0, "y": 0},
                    "data": {"label": "Handed over", "config": {}},
                }
            ],
            "edges": [],
        },
    )


def _shared_entry(template: WorkflowTemplate, version: int | None) -> CatalogueEntry | None:
    if version and not template.versions.filter(number=version).exists():
        return None
    return CatalogueEntry(manifest=stored_manifest(template, version), source="shared", stored=template)


@transaction.atomic
def template_install(
    *,
    workspace,
    slug: str,
    parameters: dict | None = None,
    resources: dict | None = None,
    version: int | None = None,
    shared: WorkflowTemplate | None = None,
) -> InstallResult:
    """Install template ``slug`` as a new draft workflow of ``workspace``, with what it needs.

    400 for parameters or resources the template does not declare and for values of the wrong type; 422 naming
    each missing parameter and object (nothing is written); 404 for a template the workspace cannot see.
    Installing twice makes two independent workflows. ``shared``: a template reached by its signed link, which
    the workspace may install whoever shared it.
    """
    parameters, resources = parameters or {}, resources or {}
    entry = (
        catalogue_entry(workspace=workspace, slug=slug, version=version)
        if shared is None
        else _shared_entry(shared, version)
    )
    if entry is None:
        raise NotFound("No such template in the catalogue.", details={"slug": slug})
    manifest = entry.manifest
    _check_keys(manifest, parameters, resources)
    plan = install_plan(workspace=workspace, manifest=manifest, parameters=parameters, resources=resources)
    if plan.missing:
        raise NotAllowedNow(
            f"The template needs {len(plan.missing)} thing(s) this workspace does not have: "
            + "; ".join(item["message"] for item in plan.missing),
            details={"missing": plan.missing},
            code="template_requirements_missing",
        )
    created = []
    for kind, key in plan.to_create:
        made = _create(workspace, manifest, kind, key, plan.values)
        plan.values[(kind, key)] = str(made.pk)
        created.append({"kind": kind, "id": str(made.pk), "requirement": key})
    installed = template_installed(manifest, plan.values)
    workflow = workflow_services.workflow_create(
        workspace=workspace,
        name=manifest.name,
        description=manifest.description,
        graph=installed.graph,
        settings=installed.settings,
    )
    TemplateInstall.objects.create(
        workspace=workspace, template_slug=slug, template_version=entry.version, workflow=workflow
    )
    template_stats_count_install(slug=slug)
    created.append({"kind": "workflow", "id": str(workflow.pk), "requirement": ""})
    return InstallResult(workflow=workflow, created=created, reused=plan.reused)
