"""Publishing refuses what the node types declare: references to objects the workspace does not have (required
ones, then the schedule audience's optional segment, then a send step's candidate templates), then webhook URLs the outbound guard refuses, in that
order."""

from __future__ import annotations

from penguinflow.workspaces.services import signing_secret_rotate
from tests.engine.graphs import chain, node

NOWHERE = "3f1e7bde-0000-4000-8000-000000000000"
ELSEWHERE = "3f1e7bde-0000-4000-8000-000000000001"


def test_publish_lists_required_then_optional_references_then_refused_webhook_urls(api, workspace):
    signing_secret_rotate(workspace=workspace)
    graph = {
        "nodes": [
            node("s", "trigger_schedule", {"at": "2030-01-01T09:00:00Z", "audience": {"segment_id": NOWHERE}}),
            node("m", "send_email", {"template_id": NOWHERE, "template_ids": [NOWHERE, ELSEWHERE]}),
            node("h", "webhook", {"url": "http://169.254.169.254/latest/meta-data"}),
            node("w", "enroll_in_workflow", {"workflow_id": "not-a-uuid"}),
        ],
        "edges": chain("s", "m", "h", "w"),
    }
    workflow = api.post("/api/v1/workflows", {"name": "W", "graph": graph}, format="json").json()
    published = api.post(f"/api/v1/workflows/{workflow['id']}/publish")
    assert published.status_code == 422
    errors = [(e["code"], e["node_id"], e["message"]) for e in published.json()["error"]["details"]["errors"]]
    assert errors == [
        ("unknown_reference", "m", f"The email template '{NOWHERE}' does not exist in this workspace: choose "
                                   "another one."),
        ("unknown_reference", "w", "The workflow 'not-a-uuid' does not exist in this workspace: choose another one."),
        ("unknown_reference", "s", f"The segment '{NOWHERE}' does not exist in this workspace."),
        ("unknown_reference", "m", f"The candidate email template '{NOWHERE}' does not exist in this workspace: "
                                   "choose another one."),
        ("unknown_reference", "m", f"The candidate email template '{ELSEWHERE}' does not exist in this workspace: "
                                   "choose another one."),
        ("webhook_url_refused", "h", "The webhook URL is refused: 169.254.169.254 is a cloud metadata address"),
    ]


def test_an_audience_that_is_not_an_object_is_a_validation_error_not_a_crash(api):
    graph = {"nodes": [node("s", "trigger_schedule", {"at": "2030-01-01T09:00:00Z", "audience": "everyone"})],
             "edges": []}
    workflow = api.post("/api/v1/workflows", {"name": "W", "graph": graph}, format="json").json()
    report = api.post(f"/api/v1/workflows/{workflow['id']}/validate", {}, format="json")
    assert report.status_code == 200
    assert {error["code"] for error in report.json()["errors"]} == {"invalid_config"}
