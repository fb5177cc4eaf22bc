"""The create_task step for real: published, run by the runtime, it makes one task per effect key, with its title
and description rendered against the contact; an assignee who is not a member fails the step, clearly."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tasks.models import Task
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory, MembershipFactory, UserFactory
from tests.workflows.builders import publish, run_due
from workflows.models import Enrollment, StepRun


def _enroll(api, workflow, contact) -> None:
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]},
                        format="json")
    assert response.status_code == 202, response.content


def _task_workflow(workspace, **config):
    config = {"title": "Call {{ contact.first_name }} {{ contact.last_name }}",
              "description": "Lead: {{ contact.email }}", **config}
    return publish(workspace, [node("t", "trigger_manual"), node("k", "create_task", config)], chain("t", "k"))


def test_a_published_create_task_step_makes_one_task_rendered_for_the_contact(api, workspace):
    member = MembershipFactory(workspace=workspace, user=UserFactory(email="sales@acme.test")).user
    contact = ContactFactory(workspace=workspace, first_name="Grace", last_name="Hopper", email="grace@x.test")
    workflow = _task_workflow(workspace, assignee_email="SALES@acme.test", due_in="P2D")
    _enroll(api, workflow, contact)
    before = timezone.now()

    run_due()

    enrollment = Enrollment.objects.get(workflow=workflow)
    assert enrollment.status == "completed"
    task = Task.objects.get(workspace=workspace)
    assert (task.title, task.description) == ("Call Grace Hopper", "Lead: grace@x.test")
    assert (task.assignee, task.contact, task.status) == (member, contact, "open")
    assert task.execution_id == enrollment.pk
    assert before + timedelta(days=2) - timedelta(minutes=5) < task.due_at < timezone.now() + timedelta(days=2)
    step = StepRun.objects.get(enrollment=enrollment, node_id="k")
    assert (step.status, step.detail["task_id"]) == ("succeeded", str(task.pk))


def test_without_an_assignee_the_task_is_unassigned(api, workspace):
    contact = ContactFactory(workspace=workspace)
    _enroll(api, _task_workflow(workspace), contact)
    run_due()
    task = Task.objects.get(workspace=workspace)
    assert task.assignee is None and task.due_at is None


def _create_through_the_live_port(workspace, contact, key: str) -> str | None:
    """Run what a create_task step does, in a batch transaction of its own, as a rerun after a crash would."""
    from workflows.live_ports import ContactBook, LiveTasks

    with transaction.atomic():
        book = ContactBook.lock([contact.pk])
        return LiveTasks(book, workspace).create_task(key=key, contact_id=str(contact.pk), description="",
                                                      title="Call {{ contact.first_name }}", assignee_email=None,
                                                      due_at=None)


def test_the_step_run_twice_with_its_effect_key_makes_one_task(workspace):
    contact = ContactFactory(workspace=workspace, first_name="Ada")
    key = "3f1e7bde-0000-4000-8000-000000000001:k:1"
    first = _create_through_the_live_port(workspace, contact, key)
    again = _create_through_the_live_port(workspace, contact, key)
    assert first == again
    assert Task.objects.filter(workspace=workspace).count() == 1
    assert Task.objects.get().title == "Call Ada"
    _create_through_the_live_port(workspace, contact, "3f1e7bde-0000-4000-8000-000000000001:k:2")
    assert Task.objects.filter(workspace=workspace).count() == 2  # the next visit is a new effect


def test_an_assignee_who_is_not_a_member_any_more_fails_the_step_with_the_reason(api, workspace, other_workspace):
    # A member when the workflow was published (publishing refuses others), who then moved to another workspace.
    leaver = MembershipFactory(workspace=workspace, user=UserFactory(email="outsider@globex.test"))
    contact = ContactFactory(workspace=workspace)
    workflow = _task_workflow(workspace, assignee_email="outsider@globex.test")
    leaver.delete()
    MembershipFactory(workspace=other_workspace, user=leaver.user)
    _enroll(api, workflow, contact)

    run_due()

    failed = Enrollment.objects.get(workflow=workflow)
    assert failed.status == "failed"
    assert "outsider@globex.test is not a member of this workspace" in failed.error["message"]
    step = StepRun.objects.get(enrollment=failed, node_id="k")
    assert (step.status, step.attempt, step.error_type) == ("failed", 1, "PortError")
    assert not Task.objects.exists()


def test_publish_refuses_an_assignee_who_is_not_a_member(api, workspace):
    MembershipFactory(workspace=workspace, user=UserFactory(email="sales@acme.test"))
    graph = {"nodes": [node("t", "trigger_manual"), node("k", "create_task", {"title": "Call"}),
                       node("m", "create_task", {"title": "Call", "assignee_email": "Sales@acme.test"}),
                       node("n", "create_task", {"title": "Call", "assignee_email": "gone@acme.test"})],
             "edges": chain("t", "k", "m", "n")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"] == [
        {"code": "unknown_member", "node_id": "n",
         "message": "gone@acme.test is not a member of this workspace: add them to it, or choose another address."}]
    validated = api.post(f"/api/v1/workflows/{workflow_id}/validate", {}, format="json").json()
    assert validated["errors"] == response.json()["error"]["details"]["errors"]
