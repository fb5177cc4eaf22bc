from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.factories import ContactFactory
from workflows.models import Connection, Enrollment, Step, Workflow, WorkflowVersion

GRAPH = {
    "nodes": [
        {"id": "n1", "type": "trigger_event", "position": {"x": 0, "y": 0},
         "data": {"label": "Signed up", "config": {"event": "contact.created"}}},
        {"id": "n2", "type": "delay", "position": {"x": 0, "y": 100},
         "data": {"label": "Wait", "config": {"duration": "P1D"}}},
    ],
    "edges": [{"id": "e1", "source": "n1", "target": "n2", "sourceHandle": "default"}],
}


def create(api, **extra):
    response = api.post("/api/v1/workflows", {"name": "Welcome", **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_returns_contract_shape_with_draft(api):
    body = create(api, graph=GRAPH, settings={"timezone": "Europe/Paris"})
    assert set(body) == {"id", "name", "description", "status", "published_version", "draft", "created_at",
                         "updated_at"}
    assert body["status"] == "draft"
    assert body["published_version"] is None
    assert body["draft"]["revision"] == 1
    assert body["draft"]["graph"] == GRAPH
    assert body["draft"]["settings"]["timezone"] == "Europe/Paris"
    assert body["draft"]["settings"]["reenrollment"]["mode"] == "never"


def test_create_without_graph_has_empty_draft(api):
    body = create(api)
    assert body["draft"]["graph"] == {"nodes": [], "edges": []}


def test_graph_is_stored_as_step_and_connection_rows(api):
    body = create(api, graph=GRAPH)
    draft = WorkflowVersion.objects.get(workflow_id=body["id"], number__isnull=True)
    assert sorted(Step.objects.filter(version=draft).values_list("node_id", "type")) == [
        ("n1", "trigger_event"), ("n2", "delay")]
    assert list(Connection.objects.filter(version=draft).values_list("source_node_id", "branch", "target_node_id")) == [
        ("n1", "default", "n2")]


def test_draft_save_bumps_revision_and_returns_validation(api):
    workflow = create(api, graph=GRAPH)
    graph = {**GRAPH, "nodes": [*GRAPH["nodes"], {"id": "n3", "type": "condition", "position": {"x": 0, "y": 200},
                                                   "data": {"label": "Check", "config": {"rule": {"==": [1, 1]}}}}],
             "edges": [*GRAPH["edges"], {"id": "e2", "source": "n2", "target": "n3", "sourceHandle": "default"}]}
    response = api.put(f"/api/v1/workflows/{workflow['id']}/draft", {"graph": graph, "settings": {}, "revision": 1},
                       format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["revision"] == 2
    assert set(body["validation"]) == {"errors", "warnings"}
    # The condition's yes/no branches are not connected: the draft is saved, and validation says so.
    assert any(issue.get("node_id") == "n3" for issue in body["validation"]["errors"] + body["validation"]["warnings"])
    assert api.get(f"/api/v1/workflows/{workflow['id']}").json()["draft"]["graph"] == graph


def test_stale_revision_is_409_and_changes_nothing(api):
    workflow = create(api, graph=GRAPH)
    ok = api.put(f"/api/v1/workflows/{workflow['id']}/draft", {"graph": GRAPH, "revision": 1}, format="json")
    assert ok.status_code == 200
    stale = api.put(f"/api/v1/workflows/{workflow['id']}/draft",
                    {"graph": {"nodes": [], "edges": []}, "revision": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_revision"
    assert stale.json()["error"]["details"]["current_revision"] == 2
    assert api.get(f"/api/v1/workflows/{workflow['id']}").json()["draft"]["graph"] == GRAPH


def test_malformed_graph_is_400_with_paths_and_keeps_the_old_draft(api):
    workflow = create(api, graph=GRAPH)
    bad = {"nodes": [{"id": 5, "type": "delay"}], "edges": "nope"}
    response = api.put(f"/api/v1/workflows/{workflow['id']}/draft", {"graph": bad, "revision": 1}, format="json")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert any(key.startswith("graph.") for key in details), details
    draft = api.get(f"/api/v1/workflows/{workflow['id']}").json()["draft"]
    assert draft["revision"] == 1 and draft["graph"] == GRAPH


def test_duplicate_node_ids_are_refused_at_save(api):
    workflow = create(api)
    graph = {"nodes": [GRAPH["nodes"][0], {**GRAPH["nodes"][1], "id": "n1"}], "edges": []}
    response = api.put(f"/api/v1/workflows/{workflow['id']}/draft", {"graph": graph, "revision": 1}, format="json")
    assert response.status_code == 400
    assert "graph.nodes" in response.json()["error"]["details"]


def test_invalid_settings_are_400_with_paths(api):
    response = api.post("/api/v1/workflows", {"name": "X", "settings": {"reenrollment": {"mode": "sometimes"}}},
                        format="json")
    assert response.status_code == 400
    assert any("reenrollment" in key for key in response.json()["error"]["details"])
    assert Workflow.objects.count() == 0


def test_validate_endpoint_checks_given_or_stored_graph(api):
    workflow = create(api, graph=GRAPH)
    stored = api.post(f"/api/v1/workflows/{workflow['id']}/validate", {}, format="json")
    assert stored.status_code == 200
    assert stored.json()["errors"] == []
    empty = api.post(f"/api/v1/workflows/{workflow['id']}/validate", {"graph": {"nodes": [], "edges": []}},
                     format="json")
    assert [issue["code"] for issue in empty.json()["errors"]] == ["no_trigger"]


def test_duplicate_copies_draft(api):
    workflow = create(api, graph=GRAPH)
    response = api.post(f"/api/v1/workflows/{workflow['id']}/duplicate")
    assert response.status_code == 201
    copy = response.json()
    assert copy["id"] != workflow["id"]
    assert copy["name"] == "Welcome (copy)"
    assert copy["draft"]["graph"] == GRAPH
    assert copy["status"] == "draft"


def test_delete_is_204_without_live_enrollments_and_409_with(api, workspace):
    workflow = create(api, graph=GRAPH)
    other = create(api, graph=GRAPH)
    contact = ContactFactory(workspace=workspace)
    version = WorkflowVersion.objects.get(workflow_id=other["id"], number__isnull=True)
    Enrollment.objects.create(workspace=workspace, workflow_id=other["id"], version=version, contact=contact,
                              entered_at=timezone.now(), status="waiting", entry_key="once")
    assert api.delete(f"/api/v1/workflows/{workflow['id']}").status_code == 204
    response = api.delete(f"/api/v1/workflows/{other['id']}")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"live_enrollments": 1}
    assert Workflow.objects.filter(pk=other["id"]).exists()


def test_delete_takes_the_finished_enrollments_and_their_steps_with_it(api, workspace):
    from tests.engine.graphs import chain, node
    from tests.workflows.builders import publish, run_due
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of
    from workflows.models import StepRun

    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a"))
    contact = ContactFactory(workspace=workspace)
    enrollments_start(version=published_version_of(workflow), entries=[Entry(contact.pk, "t")])
    run_due()
    assert Enrollment.objects.get(workflow=workflow).status == "completed"
    assert api.delete(f"/api/v1/workflows/{workflow.pk}").status_code == 204
    assert not Enrollment.objects.filter(workflow_id=workflow.pk).exists()
    assert not StepRun.objects.filter(enrollment__workflow_id=workflow.pk).exists()
    assert not WorkflowVersion.objects.filter(workflow_id=workflow.pk).exists()


def test_a_version_with_enrollments_cannot_be_deleted_alone(workspace):
    from django.db.models import RestrictedError

    from tests.engine.graphs import node
    from tests.workflows.builders import publish
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of

    workflow = publish(workspace, [node("t", "trigger_manual")], [])
    enrollments_start(version=published_version_of(workflow), entries=[Entry(ContactFactory(workspace=workspace).pk, "t")])
    with pytest.raises(RestrictedError):
        WorkflowVersion.objects.get(workflow=workflow, number=1).delete()


def test_list_filters_by_status_and_q(api):
    create(api)
    api.post("/api/v1/workflows", {"name": "Cart recovery", "description": "abandoned carts"}, format="json")
    assert [w["name"] for w in api.get("/api/v1/workflows?q=cart").json()["results"]] == ["Cart recovery"]
    assert len(api.get("/api/v1/workflows?status=draft").json()["results"]) == 2
    assert api.get("/api/v1/workflows?status=active").json()["results"] == []


def test_pause_of_a_draft_workflow_is_refused(api):
    workflow = create(api)
    response = api.post(f"/api/v1/workflows/{workflow['id']}/pause")
    assert response.status_code == 409
    assert Workflow.objects.get(pk=workflow["id"]).status == "draft"


@pytest.mark.django_db(transaction=True)
def test_published_version_rows_are_immutable_in_the_database(workspace):
    from workflows.services import workflow_create

    workflow = workflow_create(workspace=workspace, name="W", graph=GRAPH)
    published = WorkflowVersion.objects.create(workflow=workflow, number=1, published_at=timezone.now())
    Step.objects.create(version=published, node_id="n1", type="trigger_event", config={"event": "contact.created"})
    with pytest.raises(IntegrityError), transaction.atomic():
        Step.objects.filter(version=published).update(config={"event": "contact.updated"})
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowVersion.objects.filter(pk=published.pk).update(settings={"timezone": "Asia/Tokyo"})
    # The draft stays editable.
    draft = WorkflowVersion.objects.get(workflow=workflow, number__isnull=True)
    assert Step.objects.filter(version=draft).update(label="edited") == 2
