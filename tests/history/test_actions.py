"""Retry and cancel, one or in bulk (with a dry run), and `retry_failed` on the same service."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.engine.graphs import chain, node
from tests.factories import ContactFactory, EmailTemplateFactory
from tests.history.conftest import Failing
from tests.workflows.builders import run_due
from workflows.models import Enrollment, Workflow
from workflows.selectors import workflow_analytics

pytestmark = pytest.mark.django_db


def _failed(failing, count=1):
    contacts = [ContactFactory(workspace=failing.workspace) for _ in range(count)]
    failing.enroll(*contacts)
    run_due()
    enrollments = list(Enrollment.objects.filter(workflow=failing.workflow))
    assert {e.status for e in enrollments} == {"failed"}
    return enrollments


def test_retry_from_the_failed_step_resumes_there_and_is_202(api, failing):
    (enrollment,) = _failed(failing)
    failing.fix()
    response = api.post(f"/api/v1/executions/{enrollment.pk}/retry", {}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "active"
    run_due()
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    steps = list(enrollment.step_runs.order_by("sequence").values_list("node_id", "status"))
    assert steps == [("t", "succeeded"), ("c", "failed"), ("c", "succeeded"), ("a", "succeeded")]
    assert workflow_analytics(workflow=failing.workflow)["enrollments"]["failed"] == 0


def test_retry_of_an_execution_that_did_not_fail_is_a_409_with_the_reason(api, failing):
    (enrollment,) = _failed(failing)
    failing.fix()
    assert api.post(f"/api/v1/executions/{enrollment.pk}/retry", {}, format="json").status_code == 202
    response = api.post(f"/api/v1/executions/{enrollment.pk}/retry", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_failed" and "active" in response.json()["error"]["message"]


def test_retry_options_are_validated(api, failing):
    (enrollment,) = _failed(failing)
    response = api.post(f"/api/v1/executions/{enrollment.pk}/retry", {"from": "middle"}, format="json")
    assert response.status_code == 400 and "from" in response.json()["error"]["details"]


def test_retry_from_the_start_never_sends_an_email_twice(api, workspace, run_email_jobs):
    from templates.models import OutboxMessage

    template = EmailTemplateFactory(workspace=workspace)
    failing = Failing(workspace, extra_nodes=[node("m", "send_email", {"template_id": str(template.pk)})])
    (enrollment,) = _failed(failing)
    assert OutboxMessage.objects.filter(contact_id=enrollment.contact_id).count() == 1
    failing.fix()
    response = api.post(f"/api/v1/executions/{enrollment.pk}/retry", {"from": "start"}, format="json")
    assert response.status_code == 202
    run_due()
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    assert OutboxMessage.objects.filter(contact_id=enrollment.contact_id).count() == 1
    nodes = list(enrollment.step_runs.order_by("sequence").values_list("node_id", flat=True))
    assert nodes == ["t", "m", "c", "t", "m", "c", "a"]


def test_retry_on_the_latest_version_moves_the_execution_or_says_why_not(api, workspace, failing):
    first, second = _failed(failing, count=2)
    failing.fix()
    from workflows.services import workflow_draft_save, workflow_publish
    from workflows.version_graphs import draft_of

    draft = draft_of(failing.workflow)
    graph = {"nodes": [node("t", "trigger_manual"), node("c2", "add_tag", {"tag": "v2"})], "edges": chain("t", "c2")}
    workflow_draft_save(workflow=failing.workflow, graph=graph, settings={}, revision=draft.revision)
    latest = workflow_publish(workflow=Workflow.objects.get(pk=failing.workflow.pk))
    refused = api.post(f"/api/v1/executions/{first.pk}/retry", {"version": "latest"}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "node_not_in_version"
    moved = api.post(f"/api/v1/executions/{second.pk}/retry", {"from": "start", "version": "latest"}, format="json")
    assert moved.status_code == 202 and moved.json()["version"] == latest.number
    run_due()
    second.refresh_from_db()
    assert second.status == "completed" and second.version_id == latest.pk
    assert workflow_analytics(workflow=failing.workflow, version_number=latest.number)["enrollments"]["completed"] == 1


def test_cancel_is_200_then_409_once_finished(api, failing):
    (enrollment,) = _failed(failing)
    response = api.post(f"/api/v1/executions/{enrollment.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = api.post(f"/api/v1/executions/{enrollment.pk}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_finished"
    assert workflow_analytics(workflow=failing.workflow)["enrollments"]["cancelled"] == 1


def test_bulk_retry_counts_in_a_dry_run_then_retries_by_the_filters(api, failing):
    _failed(failing, count=3)
    failing.fix()
    body = {"workflow": str(failing.workflow.pk), "error_type": "PortError", "dry_run": True}
    assert api.post("/api/v1/executions/retry", body, format="json").json() == {
        "matched": 3, "retried": 0, "refused": {}}
    assert Enrollment.objects.filter(status="failed").count() == 3
    answer = api.post("/api/v1/executions/retry", {**body, "dry_run": False}, format="json").json()
    assert answer == {"matched": 3, "retried": 3, "refused": {}}
    run_due()
    assert Enrollment.objects.filter(status="completed").count() == 3


def test_bulk_cancel_and_bad_bodies(api, failing, other_api):
    _failed(failing, count=2)
    assert other_api.post("/api/v1/executions/cancel", {}, format="json").json() == {"matched": 0, "cancelled": 0}
    assert api.post("/api/v1/executions/cancel", {"dry_run": True}, format="json").json() == {
        "matched": 2, "cancelled": 0}
    assert api.post("/api/v1/executions/cancel", {"node": "c"}, format="json").json() == {
        "matched": 2, "cancelled": 2}
    assert api.post("/api/v1/executions/cancel", {"colour": 1}, format="json").status_code == 400
    assert api.post("/api/v1/executions/cancel", {"dry_run": "yes"}, format="json").status_code == 400
    assert api.post("/api/v1/executions/retry", [1], format="json").status_code == 400
    for body in ({"workflow": ""}, {"status": None}, {"version": 2}, {"node": ["c"]}, {"from": "middle"}):
        response = api.post("/api/v1/executions/retry", body, format="json")
        assert response.status_code == 400, body


def test_bulk_retry_of_a_contact_live_again_is_refused_for_that_one(api, workspace, failing):
    (enrollment,) = _failed(failing)
    Enrollment.objects.filter(pk=enrollment.pk).update(entry_key="old")
    failing.fix()
    failing.enroll(ContactFactory.build(pk=enrollment.contact_id))  # the contact enters again, and stays live
    live = Enrollment.objects.get(contact_id=enrollment.contact_id, status="active")
    answer = api.post("/api/v1/executions/retry", {"status": "failed"}, format="json").json()
    assert answer == {"matched": 1, "retried": 0, "refused": {str(enrollment.pk): "already_enrolled"}}
    assert live.pk != enrollment.pk


def test_retry_failed_command_uses_the_same_service(failing):
    _failed(failing, count=2)
    out = io.StringIO()
    call_command("retry_failed", "--workflow", str(failing.workflow.pk), "--dry-run", stdout=out)
    assert "would retry 2 enrollment(s)" in out.getvalue()
    failing.fix()
    call_command("retry_failed", "--node", "c", "--from", "start", stdout=(out := io.StringIO()))
    assert "retried 2 enrollment(s); 0 refused" in out.getvalue()
    run_due()
    assert Enrollment.objects.filter(status="completed").count() == 2


def test_admin_actions_call_the_services(client, workspace, failing, django_user_model):
    from penguinflow.workspaces.models import Membership

    (enrollment,) = _failed(failing)
    failing.fix()
    user = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw")
    Membership.objects.get_or_create(user=user, workspace=workspace)
    client.force_login(user)
    response = client.post("/admin/workflows/enrollment/", {"action": "action_retry_from_failed_step",
                                                             "_selected_action": [str(enrollment.pk)]})
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == "active"
    client.post("/admin/workflows/enrollment/", {"action": "action_cancel_selected", "_selected_action": [str(enrollment.pk)]})
    enrollment.refresh_from_db()
    assert enrollment.status == "cancelled"


def test_admin_searches_as_the_api_does_and_retries_from_the_start(client, workspace, failing, django_user_model):
    """Issue 16 (6): ops staff find executions by part of an error message too, and have every retry choice."""
    (enrollment,) = _failed(failing)
    user = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    word = enrollment.error["message"].split()[1]
    listing = client.get("/admin/workflows/enrollment/", {"q": word})
    assert listing.status_code == 200 and str(enrollment.pk) in listing.content.decode()
    assert str(enrollment.pk) not in client.get("/admin/workflows/enrollment/", {"q": "no-such-words"}).content.decode()
    assert client.get("/admin/workflows/enrollment/", {"q": "a\x00b"}).status_code == 200
    failing.fix()
    response = client.post("/admin/workflows/enrollment/", {"action": "action_retry_from_start_on_latest",
                                                             "_selected_action": [str(enrollment.pk)]})
    assert response.status_code == 302
    run_due()
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    assert [s.node_id for s in enrollment.step_runs.order_by("sequence")] == ["t", "c", "t", "c", "a"]
