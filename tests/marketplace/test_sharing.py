"""Saving a workflow as a template, sharing it (organization, signed link), new versions, community submission
with automatic checks, and moderation in the admin."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from contacts.models import Segment
from marketplace.models import WorkflowTemplate
from penguinflow.workspaces.models import Membership
from templates.models import EmailTemplate
from workflows.services import workflow_create, workflow_draft_save
from workflows.version_graphs import draft_of

pytestmark = pytest.mark.django_db


def _workflow(workspace, *, message: str = "Hello", extra_node: dict | None = None):
    email = EmailTemplate.objects.create(
        workspace=workspace, name="Hi", subject="Hi {{ contact.first_name }}", html=f"<p>{message}</p>"
    )
    segment = Segment.objects.create(
        workspace=workspace, name="Trials", rule={"in": ["trial", {"var": "contact.tags"}]}
    )
    nodes = [
        {
            "id": "t",
            "type": "trigger_segment",
            "position": {"x": 0, "y": 0},
            "data": {"label": "Trial", "config": {"segment_id": str(segment.pk)}},
        },
        {
            "id": "s",
            "type": "send_email",
            "position": {"x": 0, "y": 100},
            "data": {"label": "Hi", "config": {"template_id": str(email.pk)}},
        },
    ]
    edges = [{"id": "e1", "source": "t", "target": "s", "sourceHandle": "default"}]
    if extra_node:
        nodes.append(extra_node)
        edges.append({"id": "e2", "source": "s", "target": extra_node["id"], "sourceHandle": "default"})
    return workflow_create(workspace=workspace, name="Trial hello", graph={"nodes": nodes, "edges": edges})


def _save(api, workflow, visibility="workspace"):
    return api.post(
        "/api/v1/workflow-templates",
        {"workflow_id": str(workflow.pk), "visibility": visibility},
        format="json",
    )


def test_save_as_template_detects_its_emails_and_requirements(api, workspace):
    response = _save(api, _workflow(workspace))
    assert response.status_code == 201, response.json()
    slug = response.json()["slug"]
    detail = api.get(f"/api/v1/workflow-templates/{slug}").json()
    assert detail["source"] == "workspace"
    assert [(r["kind"], r["name"]) for r in detail["requires"]] == [("segment", "Trials")]
    assert [e["subject"] for e in detail["emails"]] == ["Hi {{ contact.first_name }}"]
    configs = {n["id"]: n["data"]["config"] for n in detail["graph"]["nodes"]}
    assert (
        configs["t"]["segment_id"] == "${segment.segment_1}"
        and configs["s"]["template_id"] == "${email.email_2}"
    )
    assert detail["sample"]["expected_path"] == ["t", "s"]


def test_a_workspace_template_is_invisible_to_other_workspaces(api, other_api, workspace):
    slug = _save(api, _workflow(workspace)).json()["slug"]
    assert other_api.get(f"/api/v1/workflow-templates/{slug}").status_code == 404
    assert slug not in [t["slug"] for t in other_api.get("/api/v1/workflow-templates?limit=500").json()]
    assert other_api.post(f"/api/v1/workflow-templates/{slug}/install", {}, format="json").status_code == 404


def test_an_organization_template_is_seen_by_workspaces_sharing_an_admin(
    api, other_api, workspace, other_workspace
):
    slug = _save(api, _workflow(workspace), visibility="organization").json()["slug"]
    assert other_api.get(f"/api/v1/workflow-templates/{slug}").status_code == 404
    admin = get_user_model().objects.create_user("owner")
    for ws in (workspace, other_workspace):
        Membership.objects.create(user=admin, workspace=ws, role=Membership.Role.ADMIN)
    assert other_api.get(f"/api/v1/workflow-templates/{slug}").json()["source"] == "organization"
    installed = other_api.post(
        f"/api/v1/workflow-templates/{slug}/install", {"resources": {"segment_1": "create"}}, format="json"
    )
    assert installed.status_code == 201


def test_a_signed_link_lets_any_workspace_see_and_install_a_template(
    api, other_api, workspace, other_workspace
):
    slug = _save(api, _workflow(workspace)).json()["slug"]
    link = api.post(f"/api/v1/workflow-templates/{slug}/share-link").json()
    assert other_api.get(link["path"]).json()["slug"] == slug
    response = other_api.post(
        f"{link['path']}/install", {"resources": {"segment_1": "create"}}, format="json"
    )
    assert response.status_code == 201
    assert Segment.objects.for_workspace(other_workspace).filter(name="Trials").exists()
    assert other_api.get(link["path"][:-3] + "xyz").status_code == 404  # a tampered token


def test_a_new_version_is_seen_by_installed_copies_which_do_not_change(api, workspace):
    workflow = _workflow(workspace)
    slug = _save(api, workflow).json()["slug"]
    installed = api.post(f"/api/v1/workflow-templates/{slug}/install", {}, format="json").json()[
        "workflow_id"
    ]
    before = api.get(f"/api/v1/workflows/{installed}").json()["draft"]["graph"]

    draft = api.get(f"/api/v1/workflows/{workflow.pk}").json()["draft"]
    draft["graph"]["nodes"].append(
        {
            "id": "tag",
            "type": "add_tag",
            "position": {"x": 0, "y": 200},
            "data": {"label": "Tag", "config": {"tag": "greeted"}},
        }
    )
    draft["graph"]["edges"].append({"id": "e9", "source": "s", "target": "tag", "sourceHandle": "default"})
    workflow_draft_save(
        workflow=workflow,
        graph=draft["graph"],
        settings=draft["settings"],
        revision=draft_of(workflow).revision,
    )
    assert api.post(f"/api/v1/workflow-templates/{slug}/versions", {}, format="json").json()["version"] == 2

    origin = api.get(f"/api/v1/workflows/{installed}/template-origin").json()
    assert origin == {
        "template_slug": slug,
        "installed_version": 1,
        "latest_version": 2,
        "update_available": True,
    }
    assert api.get(f"/api/v1/workflows/{installed}").json()["draft"]["graph"] == before
    assert [v["number"] for v in api.get(f"/api/v1/workflow-templates/{slug}").json()["versions"]] == [1, 2]


def test_a_community_submission_is_pending_and_seen_only_by_its_authors_until_approved(
    api, other_api, workspace
):
    response = _save(api, _workflow(workspace), visibility="community")
    assert response.json()["moderation_status"] == "pending"
    slug = response.json()["slug"]
    assert api.get(f"/api/v1/workflow-templates/{slug}").json()["moderation"]["status"] == "pending"
    assert other_api.get(f"/api/v1/workflow-templates/{slug}").status_code == 404

    from marketplace.authoring import template_moderate

    template_moderate(template=WorkflowTemplate.objects.get(slug=slug), approve=True, by="staff")
    assert other_api.get(f"/api/v1/workflow-templates/{slug}").json()["source"] == "community"
    assert other_api.get(f"/api/v1/workflow-templates/{slug}").json()["moderation"] is None


def test_a_rejected_submission_shows_its_reason_to_its_authors_only(api, other_api, workspace):
    from marketplace.authoring import template_moderate

    slug = _save(api, _workflow(workspace), visibility="community").json()["slug"]
    template_moderate(template=WorkflowTemplate.objects.get(slug=slug), approve=False, reason="Too generic.")
    assert api.get(f"/api/v1/workflow-templates/{slug}").json()["moderation"] == {
        "visibility": "community",
        "status": "rejected",
        "reason": "Too generic.",
    }
    assert other_api.get(f"/api/v1/workflow-templates/{slug}").status_code == 404


@pytest.mark.parametrize(
    "message, finding",
    [
        ("Call me at +33 6 12 34 56 78", "phone number"),
        ("Write to jane.doe@gmail.com", "jane.doe@gmail.com"),
        ("api_key=abcd1234efgh5678", "credential"),
    ],
)
def test_a_community_submission_with_personal_data_or_secrets_is_refused(api, workspace, message, finding):
    response = _save(api, _workflow(workspace, message=message), visibility="community")
    assert response.status_code == 422
    problems = response.json()["error"]["details"]["problems"]
    assert any(finding in text for text in problems.values()), problems
    assert not WorkflowTemplate.objects.exists()


def test_a_community_submission_with_a_webhook_to_a_private_address_is_refused(api, workspace):
    hook = {
        "id": "h",
        "type": "webhook",
        "position": {"x": 0, "y": 200},
        "data": {"label": "Hook", "config": {"url": "http://10.0.0.7/hook", "method": "POST"}},
    }
    response = _save(api, _workflow(workspace, extra_node=hook), visibility="community")
    assert response.status_code == 422
    assert "webhook URL is refused" in str(response.json()["error"]["details"])


def test_the_same_workflow_saved_for_the_workspace_keeps_no_personal_data_check(api, workspace):
    assert _save(api, _workflow(workspace, message="Call +33 6 12 34 56 78")).status_code == 201


def test_admin_moderation_approves_or_rejects_with_a_reason(client, workspace, api):
    slug = _save(api, _workflow(workspace), visibility="community").json()["slug"]
    template = WorkflowTemplate.objects.get(slug=slug)
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(staff)
    url = f"/admin/marketplace/workflowtemplate/{template.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and b"No problem found" in page.content
    refused = client.post(url, {"decision": "reject", "reason": "", "_save": "Save", **_inline_management()})
    assert refused.status_code == 200 and b"Say why" in refused.content
    client.post(
        url,
        {
            "decision": "reject",
            "reason": "Duplicates a shipped template.",
            "_save": "Save",
            **_inline_management(),
        },
    )
    template.refresh_from_db()
    assert (template.moderation_status, template.moderation_reason) == (
        "rejected",
        "Duplicates a shipped template.",
    )
    assert template.moderated_by == "staff"


def _inline_management() -> dict:
    return {
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }


@pytest.mark.parametrize(
    "change, code, field",
    [
        (
            lambda d: d["steps"][0].update(type="trigger_teleport"),
            "template_checks_failed",
            "graph.errors[0]",
        ),
        (lambda d: d.update(format=2), "template_invalid", "format"),
        (
            lambda d: d["steps"][1]["config"].update(template_id="00000000-0000-0000-0000-000000000001"),
            "template_checks_failed",
            "graph.nodes[1].data.config.template_id",
        ),
        (
            lambda d: d["requires"].append(
                {"id": "ghost", "kind": "segment", "name": "Ghost", "rule": {"==": [1, 1]}}
            ),
            "template_checks_failed",
            "requires[1]",
        ),
        (lambda d: d.update(steps=d["steps"] * 60), "template_invalid", "steps"),
        (lambda d: d["emails"][0].update(html="x" * 100_001), "template_invalid", "emails[0].html"),
    ],
)
def test_an_import_that_does_not_hold_is_refused_naming_the_problem_and_creates_nothing(
    api, change, code, field
):
    from marketplace.catalogue import shipped_templates

    document = shipped_templates()["welcome-product-usage"].model_dump(mode="json", exclude_none=True)
    document["slug"] = "my-welcome"
    change(document)
    response = api.post("/api/v1/workflow-templates/import", {"document": document}, format="json")
    assert response.status_code in (400, 422)
    error = response.json()["error"]
    assert error["code"] == code
    details = error["details"].get("problems", error["details"])
    assert field in details, details
    assert not WorkflowTemplate.objects.exists()


def test_an_import_that_holds_becomes_a_workspace_template(api):
    from marketplace.catalogue import shipped_templates

    document = shipped_templates()["welcome-product-usage"].model_dump(mode="json", exclude_none=True)
    document["slug"] = "my-welcome"
    assert (
        api.post("/api/v1/workflow-templates/import", {"document": document}, format="json").status_code
        == 201
    )
    assert api.get("/api/v1/workflow-templates/my-welcome").json()["source"] == "workspace"
    again = api.post("/api/v1/workflow-templates/import", {"document": document}, format="json")
    assert again.status_code == 400 and again.json()["error"]["code"] == "template_slug_taken"


def test_candidate_templates_are_saved_as_email_placeholders_and_installed_as_copies(
    api, other_api, workspace, other_workspace
):
    pair = [EmailTemplate.objects.create(workspace=workspace, name=name, subject=name, html=f"<p>{name}</p>")
            for name in ("Plain", "Themed")]  # fmt: skip
    candidates = [str(template.pk) for template in pair]
    choose = {"id": "c", "type": "send_email", "position": {"x": 0, "y": 200},
              "data": {"label": "Choose", "config": {"template_id": candidates[0], "template_ids": candidates}}}
    slug = _save(api, _workflow(workspace, extra_node=choose)).json()["slug"]
    saved = {n["id"]: n["data"]["config"] for n in api.get(f"/api/v1/workflow-templates/{slug}").json()["graph"]["nodes"]}
    assert saved["c"]["template_ids"][0] == saved["c"]["template_id"]
    assert all(value.startswith("${email.") for value in saved["c"]["template_ids"])

    link = api.post(f"/api/v1/workflow-templates/{slug}/share-link").json()
    response = other_api.post(f"{link['path']}/install", {"resources": {"segment_1": "create"}}, format="json")
    assert response.status_code == 201, response.json()
    graph = other_api.get(f"/api/v1/workflows/{response.json()['workflow_id']}").json()["draft"]["graph"]
    config = next(n["data"]["config"] for n in graph["nodes"] if n["id"] == "c")
    copies = {str(pk): name for pk, name in EmailTemplate.objects.for_workspace(other_workspace).values_list("pk", "name")}
    assert [copies.get(value) for value in config["template_ids"]] == ["Plain", "Themed"]
    assert config["template_id"] == config["template_ids"][0]


def test_a_name_of_underscores_or_foreign_letters_still_gets_a_valid_slug(api, workspace):
    # Found by the schema fuzz: slugify keeps underscores, and the template format's slugs do not allow them.
    for name in ("__init__", "øæå"):
        response = api.post(
            "/api/v1/workflow-templates",
            {"workflow_id": str(_workflow(workspace).pk), "visibility": "workspace", "name": name},
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,79}", response.json()["slug"])
