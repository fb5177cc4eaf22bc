"""The workflows list answers each workflow's enrollment counts, read for the whole page in one grouped query."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due
from workflows.models import WorkflowCounter, WorkflowVersion
from workflows.services import workflow_publish

ZEROS = {"active": 0, "waiting": 0, "completed": 0, "exited": 0, "failed": 0, "cancelled": 0}


def _publish(workspace, name: str):
    return publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a"),
                   name=name)


def _listed(api) -> dict[str, dict]:
    response = api.get("/api/v1/workflows?limit=500")
    assert response.status_code == 200, response.content
    return {item["name"]: item for item in response.json()["results"]}


def test_list_items_carry_enrollment_counts_of_every_published_version(api, workspace):
    workflow = _publish(workspace, "Counted")
    contact = ContactFactory(workspace=workspace)
    api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]}, format="json")
    run_due()
    # A second version's counters add up with the first's; the draft's never count.
    workflow_publish(workflow=workflow)
    second = WorkflowVersion.objects.get(workflow=workflow, number=2)
    draft = WorkflowVersion.objects.get(workflow=workflow, number__isnull=True)
    WorkflowCounter.objects.create(version=second, key="enrollments.waiting", value=3)
    WorkflowCounter.objects.create(version=second, key="enrollments.completed", value=2)
    WorkflowCounter.objects.create(version=draft, key="enrollments.failed", value=9)
    WorkflowCounter.objects.create(version=second, key="node.a.entered", value=5)
    api.post("/api/v1/workflows", {"name": "Empty"}, format="json")

    listed = _listed(api)

    assert listed["Counted"]["counts"] == {**ZEROS, "waiting": 3, "completed": 3}
    assert listed["Empty"]["counts"] == ZEROS
    assert api.get(f"/api/v1/workflows/{workflow.pk}/analytics").json()["enrollments"] == {
        **ZEROS, "waiting": 3, "completed": 3}


def test_list_counts_never_go_below_zero(api, workspace):
    workflow = _publish(workspace, "Drifted")
    version = WorkflowVersion.objects.get(workflow=workflow, number=1)
    WorkflowCounter.objects.create(version=version, key="enrollments.active", value=-2)
    assert _listed(api)["Drifted"]["counts"]["active"] == 0


def test_list_reads_counts_in_queries_that_do_not_grow_with_the_page(api, workspace, django_assert_num_queries):
    for index in range(2):
        _publish(workspace, f"Small {index}")
    _listed(api)  # warm whatever is read once per process
    with CaptureQueriesContext(connection) as small_page:
        assert len(_listed(api)) == 2
    for index in range(2, 12):
        workflow = _publish(workspace, f"Big {index}")
        version = WorkflowVersion.objects.get(workflow=workflow, number=1)
        WorkflowCounter.objects.create(version=version, key="enrollments.active", value=index)
    with django_assert_num_queries(len(small_page.captured_queries)):
        listed = _listed(api)
    assert len(listed) == 12
    assert listed["Big 7"]["counts"]["active"] == 7
    counter_reads = [q["sql"] for q in small_page.captured_queries if "workflows_workflowcounter" in q["sql"]]
    assert len(counter_reads) == 1


def test_list_counts_of_another_workspace_stay_there(api, other_api, workspace, other_workspace):
    theirs = _publish(other_workspace, "Theirs")
    WorkflowCounter.objects.create(version=WorkflowVersion.objects.get(workflow=theirs, number=1),
                                   key="enrollments.active", value=4)
    _publish(workspace, "Ours")
    assert _listed(api)["Ours"]["counts"] == ZEROS
    assert set(_listed(api)) == {"Ours"}
    assert _listed(other_api)["Theirs"]["counts"]["active"] == 4
