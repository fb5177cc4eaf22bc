"""Writes to workflows: create, draft save (optimistic revision), duplicate, delete, pause/resume/archive."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connectors.social.publishing import social_publish_errors
from contacts.models import Contact, Segment, Suppression, email_hash
from contacts.segments import segment_contacts
from penguinflow.common.errors import Conflict, InvalidInput, InvalidTransition, NotAllowedNow
from penguinflow.common.states import transition
from penguinflow.outbound.addresses import allowed_networks, literal_url_refusal
from penguinflow.workspaces.services import signing_secrets_in_use
from tasks import services as task_services
from workflows import version_graphs as graphs
from workflows.canvas_notes import notes_parse
from workflows.caps_port import workspace_frequency_caps
from workflows.engine.errors import EngineInputError
from workflows.engine.ports import PortError
from workflows.engine.quiet_hours import RecipientQuiet
from workflows.engine.registry import Reference, registry
from workflows.engine.simulator import simulate
from workflows.enrollment_starts import Entry, enrollments_start

# Retry and cancel live in workflows.execution_actions (one service for the API, the admin and the commands).
from workflows.execution_actions import enrollment_cancel, enrollment_retry  # noqa: F401
from workflows.live_versions import manual_entry_node, published_version_of
from workflows.models import Connection, Enrollment, Step, Workflow, WorkflowVersion
from workflows.simulation_previews import simulation_previews
from workflows.sms_port import recipient_quiet
from workflows.trigger_index import trigger_index_invalidate


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
    details.update(graph_unstorable_texts(graph))
    if details:
        raise InvalidInput("The graph cannot be saved.", details=details, code="graph_invalid")
    return graph, settings, notes_parse(graph_json)


# (builder path, graph attribute, model, column) of each text of a graph that is stored in a bounded column.
_BOUNDED_TEXTS = {
    "nodes": (("id", "id", Step, "node_id"), ("type", "type", Step, "type"), ("data.label", "label", Step, "label")),
    "edges": (("id", "id", Connection, "edge_id"), ("source", "source", Connection, "source_node_id"),
              ("target", "target", Connection, "target_node_id"), ("sourceHandle", "branch", Connection, "branch")),
}


def graph_unstorable_texts(graph) -> dict[str, str]:
    """Name the graph's texts that are longer than the columns that store them (PostgreSQL would refuse them)."""
    details = {}
    for kind, texts in _BOUNDED_TEXTS.items():
        for index, item in enumerate(getattr(graph, kind)):
            for path, attribute, model, column in texts:
                limit = model._meta.get_field(column).max_length
                if len(getattr(item, attribute)) > limit:
                    details[f"graph.{kind}[{index}].{path}"] = f"Must be at most {limit} characters."
    return details


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
    parsed_graph, parsed_settings, notes = _parse_for_storage(graph or {"nodes": [], "edges": []}, settings or {})
    workflow = Workflow.objects.create(workspace=workspace, name=name, description=description)
    draft = WorkflowVersion.objects.create(
        workflow=workflow, settings=graphs.settings_to_json(parsed_settings), notes=notes
    )
    _write_rows(draft, parsed_graph)
    return workflow


@transaction.atomic
def workflow_draft_save(*, workflow: Workflow, graph: Any, settings: Any, revision: int) -> DraftSaved:
    """Replace the draft's graph and settings if `revision` is the current one (else 409); validate the result."""
    parsed_graph, parsed_settings, notes = _parse_for_storage(graph, settings)
    updated = WorkflowVersion.objects.filter(workflow=workflow, number__isnull=True, revision=revision).update(
        revision=F("revision") + 1, settings=graphs.settings_to_json(parsed_settings), notes=notes,
        updated_at=timezone.now(),
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
    validation = workflow_validation_report(workflow=workflow, graph=parsed_graph, settings=parsed_settings)
    return DraftSaved(revision=draft.revision, validation=validation)


@transaction.atomic
def workflow_duplicate(*, workflow: Workflow) -> Workflow:
    """Copy the workflow's draft (graph and settings) into a new draft workflow named '<name> (copy)'."""
    draft = graphs.draft_of(workflow)
    copy = Workflow.objects.create(
        workspace=workflow.workspace, name=f"{workflow.name} (copy)"[:200], description=workflow.description
    )
    new_draft = WorkflowVersion.objects.create(workflow=copy, settings=draft.settings, notes=draft.notes)
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


@transaction.atomic
def workflow_pause(*, workflow: Workflow) -> Workflow:
    """Pause an active workflow: no new enrollments, and live enrollments hold in place until resumed."""
    if workflow.status != Workflow.Status.ACTIVE:
        raise _not_from(workflow, "pause")
    workflow = transition(workflow, to=Workflow.Status.PAUSED, allowed=Workflow.TRANSITIONS)
    _after_lifecycle_change()
    return workflow


@transaction.atomic
def workflow_resume(*, workflow: Workflow) -> Workflow:
    """Resume a paused workflow: enrollments continue from where they were held."""
    if workflow.status != Workflow.Status.PAUSED:
        raise _not_from(workflow, "resume")
    workflow = transition(workflow, to=Workflow.Status.ACTIVE, allowed=Workflow.TRANSITIONS)
    _after_lifecycle_change()
    return workflow


@transaction.atomic
def workflow_archive(*, workflow: Workflow) -> Workflow:
    """Archive a workflow: nobody new enters; enrollments already inside run to their end."""
    workflow = transition(workflow, to=Workflow.Status.ARCHIVED, allowed=Workflow.TRANSITIONS)
    _after_lifecycle_change()
    return workflow


def _not_from(workflow: Workflow, verb: str):
    return InvalidTransition(
        f"Only {'an active' if verb == 'pause' else 'a paused'} workflow can be {verb}d; this one is {workflow.status}.",
        details={"status": workflow.status},
    )


# --- publishing and lifecycle ----------------------------------------------------------------------------------------

def _unavailable_errors(graph) -> list[dict[str, Any]]:
    """Refuse the nodes whose type declares itself not available yet, rather than failing at run time."""
    return [
        {"code": "action_not_available", "node_id": node.id,
         "message": f"The {node.type} action cannot run in this PenguinFlow version yet: remove it to publish "
                    "(simulation shows what it would do)."}
        for node in graph.nodes
        if (node_type := registry.get(node.type)) is not None and not node_type.available
    ]


# Node types that call out, with the code and noun of a refused URL (the webhook's code predates the others).
_OUTBOUND_TYPES = {"webhook": ("webhook_url_refused", "webhook"), "http_request": ("url_refused", "request's")}


def _refused_webhook_urls(graph) -> list[dict[str, Any]]:
    """Refuse webhook URLs the outbound guard would refuse, judging literal hosts only (no DNS while publishing;
    a host with Liquid in it, or a name, is judged when the step sends)."""
    errors = []
    for node in graph.nodes:
        url = node.config_dict().get("url") if node.type in _OUTBOUND_TYPES else None
        reason = literal_url_refusal(url, allowed_networks()) if isinstance(url, str) else None
        if reason:
            code, what = _OUTBOUND_TYPES[node.type]
            errors.append({"code": code, "node_id": node.id, "message": f"The {what} URL is refused: {reason}"})
    return errors


def _webhook_secret_errors(workspace, graph) -> list[dict[str, Any]]:
    """Refuse webhook steps while the workspace has no signing secret in use (none made yet, or all revoked):
    every call would fail until one is made."""
    webhooks = [node.id for node in graph.nodes if node.type == "webhook"]
    if not webhooks or signing_secrets_in_use(workspace=workspace):
        return []
    return [{"code": "webhook_secret_missing", "node_id": node_id,
             "message": "The workspace has no webhook signing secret in use: make one with POST "
                        "/api/v1/webhook-signing-secrets/rotate (its value is shown once, for the receivers)."}
            for node_id in webhooks]


def _reference_exists(workspace, reference: Reference, value: Any, *, fitting: bool = True) -> bool:
    model = apps.get_model(reference.model)
    try:
        found = model.objects.for_workspace(workspace).filter(pk=uuid.UUID(str(value)))
    except (ValueError, TypeError):
        return False
    return (found.filter(**dict(reference.where)) if fitting else found).exists()


def _reference_error(workspace, node_id: str, reference: Reference, value: Any) -> dict[str, Any]:
    if reference.where and _reference_exists(workspace, reference, value, fitting=False):
        return {"code": "unfit_reference", "node_id": node_id,
                "message": f"'{value}' is no {reference.noun}: {reference.unfit}"}
    hint = "." if reference.optional else ": choose another one."
    return {"code": "unknown_reference", "node_id": node_id,
            "message": f"The {reference.noun} '{value}' does not exist in this workspace{hint}"}


def _reference_errors(workspace, graph) -> list[dict[str, Any]]:
    """Name the config values that should name an object of the workspace (as the node types declare them) and
    do not. Required references come first, then the optional ones, as publishing has always listed them."""
    errors = []
    for optional in (False, True):
        for node in graph.nodes:
            node_type = registry.get(node.type)
            for reference in node_type.references if node_type is not None else ():
                if reference.optional != optional:
                    continue
                value = reference.value_in(node.config_dict())
                # A required value that is missing is the config's error ("required"), not an unknown object.
                if not value or _reference_exists(workspace, reference, value):
                    continue
                errors.append(_reference_error(workspace, node.id, reference, value))
    return errors


# The config fields that name members of the workspace, by node type: people the step acts for must be on the team.
_MEMBER_FIELDS = {"create_task": "assignee_email", "notify": "to"}


def _member_errors(workspace, graph) -> list[dict[str, Any]]:
    """Name the addresses of create_task and notify steps that are no member of the workspace (a removed user)."""
    named = []
    for node in graph.nodes:
        value = node.config_dict().get(_MEMBER_FIELDS.get(node.type, ""))
        emails = [value] if isinstance(value, str) and value != "workspace_admins" else value
        if isinstance(emails, list):
            named += [(node.id, email) for email in emails if isinstance(email, str) and email]
    if not named:
        return []
    members = task_services.workspace_members_by_email(workspace=workspace,
                                                       emails=[email for _, email in named])
    return [{"code": "unknown_member", "node_id": node_id,
             "message": f"{email} is not a member of this workspace: add them to it, or choose another address."}
            for node_id, email in named if email.strip().lower() not in members]


def workflow_validation_report(*, workflow: Workflow, graph, settings) -> dict[str, list[dict[str, Any]]]:
    """Return `{errors, warnings}` for `graph` and `settings` as `workflow_publish` judges them: the engine's
    checks, the references to the workspace's templates, campaigns, segments and workflows, and the members that
    steps name. Publishing refuses exactly these errors; validation and draft saves report them."""
    report = graphs.validation_report(graph, settings)
    errors = report["errors"] + node_publish_errors(workspace=workflow.workspace, graph=graph)
    return {"errors": errors, "warnings": report["warnings"]}


def node_publish_errors(*, workspace, graph) -> list[dict[str, Any]]:
    """Return what publishing refuses in the nodes' configs beyond the engine's own checks: what the workspace
    holds (the objects a config names) and what this PenguinFlow can run. The node test answers with these too."""
    return (_unavailable_errors(graph) + _reference_errors(workspace, graph) + _candidate_errors(workspace, graph)
            + _member_errors(workspace, graph) + _refused_webhook_urls(graph) + _webhook_secret_errors(workspace, graph)
            + social_publish_errors(workspace=workspace, graph=graph))


def _candidate_errors(workspace, graph) -> list[dict[str, Any]]:
    """Name the candidate templates of send_email steps (`template_ids`) that are no template of the workspace: a
    list, which the node type's scalar references do not cover."""
    reference = Reference("template_ids", "templates.EmailTemplate", "email template")
    return [{"code": "unknown_reference", "node_id": node.id,
             "message": f"The candidate email template '{value}' does not exist in this workspace: choose another one."}
            for node in graph.nodes if node.type == "send_email"
            for value in node.config_dict().get("template_ids") or ()
            if not _reference_exists(workspace, reference, value)]


def _after_lifecycle_change() -> None:
    trigger_index_invalidate()  # this process's index at once; the other processes' on commit


@transaction.atomic
def workflow_publish(*, workflow: Workflow, published_by: str = "") -> WorkflowVersion:
    """Turn the draft into the next immutable version and make the workflow active; 422 when it is invalid.

    Running enrollments stay on the version they entered with; new ones enter this version. `published_by` names
    who published it, for the version history ("" when nobody is known: a command, a test).
    """

    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    if workflow.status == Workflow.Status.ARCHIVED:
        raise InvalidTransition("An archived workflow cannot be published; duplicate it instead.",
                                details={"status": workflow.status})
    draft = graphs.draft_of(workflow)
    graph = graphs.graph_of(draft)
    settings = graphs.parse_settings(draft.settings)
    report = workflow_validation_report(workflow=workflow, graph=graph, settings=settings)
    if report["errors"]:
        raise NotAllowedNow(
            f"The draft has {len(report['errors'])} error(s) to fix before it can be published.",
            details=report,
            code="graph_invalid",
        )
    last = WorkflowVersion.objects.filter(workflow=workflow, number__isnull=False).order_by("-number").first()
    number = (last.number if last else 0) + 1
    version = WorkflowVersion.objects.create(
        workflow=workflow, number=number, revision=draft.revision, settings=draft.settings, notes=draft.notes,
        published_at=timezone.now(), published_by=published_by[:200],
    )
    _write_rows(version, graph)
    Workflow.objects.filter(pk=workflow.pk).update(
        published_version=number, status=Workflow.Status.ACTIVE, settings=draft.settings, updated_at=timezone.now()
    )
    _after_lifecycle_change()
    return version


# --- manual enrollment -----------------------------------------------------------------------------------------------

MAX_CONTACTS_PER_ENROLL = 1000


@dataclass
class EnrollResult:
    enrolled: int
    skipped: list[dict[str, Any]]


def workflow_enroll(
    *, workflow: Workflow, contacts: list[dict[str, str]], segment_id: str | None = None
) -> EnrollResult:
    """Enroll contacts (by id or email) and/or a segment's members at the workflow's manual entry.

    Unknown, erased and suppressed contacts are not enrolled; each is listed in `skipped` with a reason.
    """

    if workflow.status != Workflow.Status.ACTIVE:
        raise NotAllowedNow(f"Only an active workflow takes enrollments; this one is {workflow.status}.",
                            details={"status": workflow.status}, code="workflow_not_active")
    version = published_version_of(workflow)
    node = manual_entry_node(version) if version else None
    if node is None:
        raise NotAllowedNow("The published version has no trigger to enter at.", code="no_entry_trigger")
    skipped: list[dict[str, Any]] = []
    by_id: dict[uuid.UUID, dict[str, str]] = {}
    emails: dict[str, dict[str, str]] = {}
    for given in contacts:
        if given.get("id"):
            try:
                by_id[uuid.UUID(str(given["id"]))] = given
            except ValueError:
                skipped.append(_skip(given, "not_found", "No contact has this id."))
        else:
            emails[given["email"].strip().lower()] = given
    scope = Contact.objects.for_workspace(workflow.workspace)
    found = {c.pk: c for c in scope.filter(pk__in=list(by_id))}
    found.update({c.pk: c for c in scope.filter(email__in=list(emails))})
    for contact_id, given in by_id.items():
        if contact_id not in found:
            skipped.append(_skip(given, "not_found", "No contact has this id in this workspace."))
    known_emails = {c.email for c in found.values()}
    for address, given in emails.items():
        if address not in known_emails:
            hashed = Suppression.objects.for_workspace(workflow.workspace).filter(email_hash=email_hash(address))
            if hashed.exists():
                skipped.append(_skip(given, "erased", "This person was erased; they are on the suppression list."))
            else:
                skipped.append(_skip(given, "not_found", "No contact has this email in this workspace."))
    candidates = list(found.values())
    if segment_id:
        segment = Segment.objects.for_workspace(workflow.workspace).filter(pk=segment_id).first()
        if segment is None:
            raise InvalidInput("The segment does not exist.", details={"segment_id": "Not found in this workspace."})
        candidates += [c for c in segment_contacts(segment=segment) if c.pk not in found]
    suppressed = set(
        Suppression.objects.for_workspace(workflow.workspace)
        .filter(email_hash__in=[email_hash(c.email) for c in candidates])
        .values_list("email_hash", flat=True)
    )
    entries = []
    for contact in candidates:
        given = {"id": str(contact.pk), "email": contact.email}
        if contact.status != Contact.Status.SUBSCRIBED:
            skipped.append(_skip(given, contact.status, f"The contact is {contact.status}."))
        elif email_hash(contact.email) in suppressed:
            skipped.append(_skip(given, "suppressed", "The address is on the suppression list."))
        else:
            entries.append(Entry(contact_id=contact.pk, trigger_node_id=node))
    report = enrollments_start(version=version, entries=entries)
    emails_by_id = {c.pk: c.email for c in candidates}
    for contact_id, code, message in report.skipped:
        skipped.append(_skip({"id": str(contact_id), "email": emails_by_id.get(contact_id)}, code, message))
    return EnrollResult(enrolled=len(report.started), skipped=skipped)


def _skip(contact: dict[str, Any], reason: str, message: str) -> dict[str, Any]:
    return {"contact": contact, "reason": reason, "message": message}


def _simulated_quiet(workspace, contact) -> RecipientQuiet | None:
    """The workspace's quiet hours for the simulated contact (its `phone` and `timezone`), as live sends judge them;
    None when the stored setting does not parse (live steps would fail, which the simulation cannot show)."""
    data = contact if isinstance(contact, dict) else {}
    try:
        return recipient_quiet(workspace=workspace, phone=str(data.get("phone") or ""),
                               timezone_name=str(data.get("timezone") or ""))  # fmt: skip
    except PortError:
        return None


def workflow_simulate(
    *, workflow: Workflow, version: str, contact, events, until, seed: int, start=None
) -> dict:
    """Run the draft or a published version for a simulated contact over an event timeline (CONTRACT §8)."""

    if version == "draft":
        stored = graphs.draft_of(workflow)
    elif str(version).isdigit():
        stored = WorkflowVersion.objects.filter(workflow=workflow, number=int(version)).first()
        if stored is None:
            raise InvalidInput("The request is not valid.", details={"version": f"There is no version {version}."})
    else:
        raise InvalidInput("The request is not valid.", details={"version": "Use 'draft' or a version number."})
    graph = graphs.graph_of(stored)
    settings = graphs.parse_settings(stored.settings)
    # As in live runs, a trigger filter cannot ask about a segment the workspace does not have (deleted since).
    segments = {str(pk) for pk in Segment.objects.for_workspace(workflow.workspace).values_list("pk", flat=True)}
    try:
        result = simulate(
            graph=graph, settings=settings, contact=contact, start=start or timezone.now(), events=events,
            until=until, seed=seed, segments_existing=segments,
            frequency_caps=workspace_frequency_caps(workflow.workspace),
            quiet=_simulated_quiet(workflow.workspace, contact),
            previews=simulation_previews(workspace=workflow.workspace, workflow_id=str(workflow.pk),
                                         version=str(version)),
        )
    except EngineInputError as error:
        raise InvalidInput("The simulation request is not valid.", details=error.details) from error
    return result.as_dict()
