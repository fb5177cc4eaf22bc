"""Workflows as code (CONTRACT §17): export, plan and apply files, by command and by API."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.engine.graphs import chain, node
from tests.factories import ContactFactory, EmailTemplateFactory
from tests.workflows.builders import publish, run_due
from workflows.models import Enrollment, StepRun, Workflow, WorkflowVersion
from workflows.services import workflow_draft_save, workflow_publish


@pytest.fixture(autouse=True)
def _empty_queue():
    import django_rq

    django_rq.get_queue("engine").empty()
    yield


def _workflow(workspace, template):
    nodes = [
        node("t", "trigger_manual"),
        node("m1", "send_email", {"template_id": str(template.pk)}),
        node("d1", "delay", {"duration": "P3D"}),
        node("a1", "add_tag", {"tag": "done"}),
    ]
    return publish(workspace, nodes, chain("t", "m1", "d1", "a1"), name="Welcome")


def _export(workspace, fmt="yaml"):
    from workflows.as_code import workspace_export

    return workspace_export(workspace=workspace, fmt=fmt)


def _state(workspace):
    return sorted(
        WorkflowVersion.objects.filter(workflow__workspace=workspace, number__isnull=False).values_list(
            "workflow__name", "number"
        )
    )


@pytest.fixture
def template(workspace):
    return EmailTemplateFactory(workspace=workspace, name="Hello", subject="Hi", html="<p>Hi</p>")


def test_export_writes_one_file_per_workflow_and_template_in_a_stable_order(workspace, template):
    _workflow(workspace, template)
    files = _export(workspace)
    assert sorted(files) == ["templates/hello.yaml", "workflows/welcome.yaml", "workspace.yaml"]
    document = yaml.safe_load(files["workflows/welcome.yaml"])
    assert list(document) == ["kind", "name", "description", "version", "settings", "nodes", "edges"]
    assert document["version"] == 1
    assert document["nodes"][2] == {
        "id": "d1",
        "type": "delay",
        "config": {"duration": "P3D"},
        "position": document["nodes"][2]["position"],
    }
    assert document["edges"][0] == {"id": "t-default-m1", "from": "t", "branch": "default", "to": "m1"}
    assert _export(workspace) == files  # the same workspace, the same bytes
    assert list(yaml.safe_load(_export(workspace, "json")["workflows/welcome.json"])) == list(document)


def test_applying_an_export_to_its_workspace_changes_nothing(workspace, template):
    _workflow(workspace, template)
    from workflows.as_code import as_code_apply, as_code_plan

    files = _export(workspace)
    plan = as_code_plan(workspace=workspace, files=files)
    assert plan.as_dict()["counts"] == {"create": 0, "change": 0, "unchanged": 3}
    before = _state(workspace)
    as_code_apply(workspace=workspace, files=files)
    assert _state(workspace) == before


def test_a_changed_file_is_planned_in_words_then_applied_once(workspace, template, api):
    from workflows.as_code import as_code_apply, as_code_plan

    workflow = _workflow(workspace, template)
    contact = ContactFactory(workspace=workspace)
    api.post(
        f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]}, format="json"
    )
    run_due()
    files = _export(workspace)
    files["workflows/welcome.yaml"] = files["workflows/welcome.yaml"].replace(
        "duration: P3D", "duration: P1D"
    )
    plan = as_code_plan(workspace=workspace, files=files, migrate=True).as_dict()
    welcome = next(f for f in plan["files"] if f["path"] == "workflows/welcome.yaml")
    assert welcome["action"] == "change"
    assert welcome["changes"] == ["Node d1 (delay) changed: config.duration (P3D → P1D)."]
    assert welcome["running_contacts"] == ["1 contact(s) live on v1; nodes changed or removed: d1."]
    assert welcome["migration"]["moves"][2]["timers"] == {"kept": 0, "recomputed": 1, "fired": 0}
    as_code_apply(workspace=workspace, files=files, migrate=True)
    assert Workflow.objects.get(pk=workflow.pk).published_version == 2
    assert Enrollment.objects.get(workflow=workflow).version.number == 2
    assert StepRun.objects.filter(type="migration").count() == 1
    # Applying the same files again: nothing to do (idempotent), even though the file still says `version: 1`.
    again = as_code_plan(workspace=workspace, files=files).as_dict()
    assert again["counts"] == {"create": 0, "change": 0, "unchanged": 3}
    as_code_apply(workspace=workspace, files=files, migrate=True)
    assert Workflow.objects.get(pk=workflow.pk).published_version == 2


def test_files_applied_to_another_workspace_create_its_templates_and_point_workflows_at_them(
    workspace, other_workspace, template
):
    from templates.models import EmailTemplate
    from workflows.as_code import as_code_apply

    _workflow(workspace, template)
    files = {path: text for path, text in _export(workspace).items() if path != "workspace.yaml"}
    plan = as_code_apply(workspace=other_workspace, files=files).as_dict()
    assert plan["counts"] == {"create": 2, "change": 0, "unchanged": 0}
    copy = EmailTemplate.objects.get(workspace=other_workspace, name="Hello")
    workflow = Workflow.objects.get(workspace=other_workspace, name="Welcome")
    assert workflow.published_version == 1
    version = WorkflowVersion.objects.get(workflow=workflow, number=1)
    assert version.steps.get(node_id="m1").config == {"template_id": str(copy.pk)}


def test_candidate_templates_point_at_their_copies_in_another_workspace(workspace, other_workspace, template):
    from templates.models import EmailTemplate
    from workflows.as_code import as_code_apply

    second = EmailTemplateFactory(workspace=workspace, name="Second")
    candidates = [str(template.pk), str(second.pk)]
    publish(workspace, [node("t", "trigger_manual"),
                        node("m1", "send_email", {"template_id": candidates[0], "template_ids": candidates})],
            chain("t", "m1"), name="Choice")  # fmt: skip
    files = {path: text for path, text in _export(workspace).items() if path != "workspace.yaml"}
    as_code_apply(workspace=other_workspace, files=files)
    copies = {t.name: str(t.pk) for t in EmailTemplate.objects.filter(workspace=other_workspace)}
    version = WorkflowVersion.objects.get(workflow__workspace=other_workspace, workflow__name="Choice", number=1)
    assert version.steps.get(node_id="m1").config == {"template_id": copies[template.name],
                                                       "template_ids": [copies[template.name], copies["Second"]]}


def test_a_version_published_in_the_builder_since_the_export_is_a_conflict(workspace, template):
    from penguinflow.common.errors import NotAllowedNow
    from workflows.as_code import as_code_apply

    workflow = _workflow(workspace, template)
    files = _export(workspace)
    workflow_publish(workflow=workflow, published_by="Ada")  # v2, by a person
    files["workflows/welcome.yaml"] = files["workflows/welcome.yaml"].replace("tag: done", "tag: finished")
    before = _state(workspace)
    with pytest.raises(NotAllowedNow) as refused:
        as_code_apply(workspace=workspace, files=files)
    problems = refused.value.details["files"]["workflows/welcome.yaml"]
    assert problems == [
        "Version conflict: the file was exported from v1, and v2 was published since outside these "
        "files. Export again and merge, then apply."
    ]
    assert _state(workspace) == before


def test_a_draft_with_unpublished_changes_is_not_overwritten(workspace, template):
    from penguinflow.common.errors import NotAllowedNow
    from workflows.as_code import as_code_apply

    workflow = _workflow(workspace, template)
    files = _export(workspace)
    draft = WorkflowVersion.objects.get(workflow=workflow, number__isnull=True)
    workflow_draft_save(
        workflow=workflow,
        graph={"nodes": [node("t", "trigger_manual")], "edges": []},
        settings={},
        revision=draft.revision,
    )
    files["workflows/welcome.yaml"] = files["workflows/welcome.yaml"].replace("tag: done", "tag: finished")
    with pytest.raises(NotAllowedNow) as refused:
        as_code_apply(workspace=workspace, files=files)
    assert "unpublished changes" in refused.value.details["files"]["workflows/welcome.yaml"][0]
    assert WorkflowVersion.objects.get(workflow=workflow, number__isnull=True).revision == draft.revision + 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: workflow\nname: [unclosed", "Not valid YAML or JSON"),
        ("- just a list", "Must be an object whose `kind` is workflow, template or workspace."),
        (
            "kind: workflow\nname: X\nnodes: [{id: t, type: trigger_manual}, {id: x, type: no_such_type}]\n"
            "edges: [{from: t, to: x}]",
            "x: ",
        ),
        (
            "kind: workflow\nname: X\nnodes: [{id: t, type: trigger_manual}]\nedges: [{from: t, to: nowhere}]",
            "",
        ),
    ],
)
def test_files_that_do_not_validate_are_refused_and_nothing_changes(workspace, template, api, text, expected):
    _workflow(workspace, template)
    before = _state(workspace)
    response = api.post(
        "/api/v1/workflows-as-code/apply", {"files": {"workflows/x.yaml": text}}, format="json"
    )
    assert response.status_code in (400, 422), response.content
    error = response.json()["error"]
    problems = error["details"].get("files", error["details"])
    assert "workflows/x.yaml" in problems
    assert expected in str(problems["workflows/x.yaml"])
    assert _state(workspace) == before


def test_a_migration_that_would_strand_contacts_is_refused(workspace, template, api):
    from penguinflow.common.errors import NotAllowedNow
    from workflows.as_code import as_code_apply

    workflow = _workflow(workspace, template)
    api.post(
        f"/api/v1/workflows/{workflow.pk}/enroll",
        {"contacts": [{"id": str(ContactFactory(workspace=workspace).pk)}]},
        format="json",
    )
    run_due()
    files = _export(workspace)
    document = yaml.safe_load(files["workflows/welcome.yaml"])
    document["nodes"] = [n for n in document["nodes"] if n["id"] != "d1"]
    document["edges"] = [{"from": "t", "to": "m1"}, {"from": "m1", "to": "a1"}]
    files["workflows/welcome.yaml"] = yaml.safe_dump(document, sort_keys=False)
    with pytest.raises(NotAllowedNow) as refused:
        as_code_apply(workspace=workspace, files=files, migrate=True)
    assert (
        "d1 on v1: Node 'd1' (delay) is not in the new version"
        in refused.value.details["files"]["workflows/welcome.yaml"][0]
    )
    assert Workflow.objects.get(pk=workflow.pk).published_version == 1
    document["migrate"] = {"mapping": {"d1": "a1"}}
    files["workflows/welcome.yaml"] = yaml.safe_dump(document, sort_keys=False)
    as_code_apply(workspace=workspace, files=files, migrate=True)
    assert Enrollment.objects.get(workflow=workflow).current_node_id == "a1"


def test_the_commands_export_plan_and_apply(workspace, template, tmp_path):
    _workflow(workspace, template)
    out = io.StringIO()
    call_command("workflows", "export", "--workspace", "acme", str(tmp_path), stdout=out)
    assert "wrote 3 file(s)" in out.getvalue()
    path = tmp_path / "workflows" / "welcome.yaml"
    path.write_text(path.read_text().replace("tag: done", "tag: finished"))
    out = io.StringIO()
    call_command("workflows", "plan", "--workspace", "acme", str(tmp_path), stdout=out)
    assert out.getvalue().splitlines()[1:3] == [
        "workflows/welcome.yaml: change workflow 'Welcome'",
        "    Node a1 (add_tag) changed: config.tag (done → finished).",
    ]
    call_command(
        "workflows", "apply", "--dry-run", "--workspace", "acme", str(tmp_path), stdout=io.StringIO()
    )
    assert Workflow.objects.get(name="Welcome").published_version == 1
    call_command("workflows", "apply", "--workspace", "acme", str(tmp_path), stdout=io.StringIO())
    assert Workflow.objects.get(name="Welcome").published_version == 2
    out = io.StringIO()
    call_command("workflows", "apply", "--workspace", "acme", str(tmp_path), stdout=out)
    assert out.getvalue().splitlines()[-1] == "0 created, 0 changed, 3 unchanged"
    with pytest.raises(CommandError, match="No workspace has the slug 'nope'"):
        call_command("workflows", "plan", "--workspace", "nope", str(tmp_path))


def test_the_api_exports_plans_and_applies_for_ci(workspace, template, api):
    _workflow(workspace, template)
    files = api.get("/api/v1/workflows-as-code/export").json()["files"]
    files["workflows/welcome.yaml"] = files["workflows/welcome.yaml"].replace("tag: done", "tag: finished")
    plan = api.post("/api/v1/workflows-as-code/plan", {"files": files}, format="json").json()
    assert plan["counts"] == {"create": 0, "change": 1, "unchanged": 2} and plan["can_apply"] is True
    applied = api.post("/api/v1/workflows-as-code/apply", {"files": files}, format="json")
    assert applied.status_code == 200
    assert Workflow.objects.get(name="Welcome").published_version == 2
    assert api.post("/api/v1/workflows-as-code/apply", {"files": {}}, format="json").status_code == 400
