"""The engine through the API: node types, simulation, analytics and the inbound webhook trigger."""

from __future__ import annotations

from tests.engine.graphs import chain, edge, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due
from workflows.engine.registry import registry
from workflows.models import Enrollment


def test_node_types_serve_the_whole_registry_with_schemas(api):
    response = api.get("/api/v1/node-types")
    assert response.status_code == 200
    types = {item["type"]: item for item in response.json()}
    assert set(types) == {node_type.type for node_type in registry}  # every type, and only the registry's
    assert {"send_sms", "send_push", "http_request", "lookup", "trigger_prediction"} <= set(types)
    assert types["condition"]["branches"] == ["yes", "no"]
    assert types["split"]["branches"] == "dynamic"
    assert types["send_email"]["kind"] == "action"
    assert types["add_tag"]["config_schema"]["properties"]["tag"]["maxLength"] == 64


def test_simulate_runs_the_draft_on_a_virtual_clock(api, workspace):
    graph = {"nodes": [node("t", "trigger_event", {"event": "contact.created"}),
                       node("d", "delay", {"duration": "P1D"}),
                       node("c", "condition", {"rule": {"in": ["trial", {"var": "contact.tags"}]}}),
                       node("yes", "add_tag", {"tag": "trialist"})],
             "edges": [*chain("t", "d", "c"), edge("c", "yes", "yes")]}
    workflow_id = api.post("/api/v1/workflows", {"name": "Sim", "graph": graph}, format="json").json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/simulate", {
        "contact": {"email": "ada@example.com", "timezone": "Europe/Paris", "tags": ["trial"], "fields": {}},
        "start": "2026-11-23T08:00:00Z",
        "events": [{"after": "PT0S", "type": "contact.created", "properties": {}}],
        "until": "P10D",
    }, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed"
    assert [(p["node_id"], p["outcome"]) for p in body["path"]] == [
        ("t", "advance"), ("d", "wait"), ("d", "advance"), ("c", "advance"), ("yes", "advance")]
    assert body["path"][2]["at"].startswith("2026-11-24T08:00:00")
    assert [a["type"] for a in body["actions"]] == ["add_tag"]
    assert not Enrollment.objects.exists()  # no side effects


def test_simulate_rejects_bad_requests_with_paths(api):
    workflow_id = api.post("/api/v1/workflows", {"name": "Sim"}, format="json").json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/simulate",
                        {"events": [{"after": "soon", "type": "x.y"}], "until": "P1M"}, format="json")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert any(key.startswith("events[0]") for key in details) and "until" in details
    assert api.post(f"/api/v1/workflows/{workflow_id}/simulate", {"version": "7"}, format="json").status_code == 400


def test_analytics_endpoint_reports_counters(api, workspace):
    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a"))
    contact = ContactFactory(workspace=workspace)
    api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]}, format="json")
    run_due()
    body = api.get(f"/api/v1/workflows/{workflow.pk}/analytics").json()
    assert body["enrollments"]["completed"] == 1
    assert body["nodes"]["a"] == {"entered": 1, "succeeded": 1, "failed": 0, "waiting_now": 0,
                                  "goal_reached": 0}
    assert api.get(f"/api/v1/workflows/{workflow.pk}/analytics?version=1").json()["enrollments"]["completed"] == 1
    assert api.get(f"/api/v1/workflows/{workflow.pk}/analytics?version=x").status_code == 400


def test_inbound_webhook_enrolls_the_contact_and_needs_the_secret(client, workspace):
    workflow = publish(workspace, [node("t", "trigger_webhook"), node("a", "add_tag", {"tag": "hooked"})],
                       chain("t", "a"))
    url = f"/api/v1/hooks/workflows/{workflow.webhook_token}"
    response = client.post(url, {"contact": {"email": "new@x.test"}, "properties": {"plan": "pro"}},
                           content_type="application/json")
    assert response.status_code == 202, response.content
    assert response.json()["enrolled"] == 1
    enrollment = Enrollment.objects.get(workflow=workflow)
    assert enrollment.contact.email == "new@x.test"
    assert enrollment.context["trigger_event"]["properties"] == {"plan": "pro"}
    assert client.post("/api/v1/hooks/workflows/wrong-token", {"contact": {"email": "a@b.test"}},
                       content_type="application/json").status_code == 404
    bad = client.post(url, {"contact": {"email": "a@b.test", "id": "x"}}, content_type="application/json")
    assert bad.status_code == 400
    assert Enrollment.objects.filter(workflow=workflow).count() == 1
