"""`validate` reports everything `publish` refuses: one check (`workflow_validation_report`) serves both."""

from __future__ import annotations

import uuid

import pytest

from tests.engine.graphs import chain, node
from tests.factories import CampaignFactory, EmailTemplateFactory, SegmentFactory


def graph_naming(**references: str) -> dict:
    nodes = [node("t", "trigger_manual")]
    if "template" in references:
        nodes.append(node("m", "send_email", {"template_id": references["template"]}))
    if "campaign" in references:
        nodes.append(node("c", "add_to_campaign", {"campaign_id": references["campaign"]}))
    if "workflow" in references:
        nodes.append(node("w", "enroll_in_workflow", {"workflow_id": references["workflow"]}))
    if "segment" in references:
        nodes[0] = node("t", "trigger_segment", {"segment_id": references["segment"], "on": "enter"})
    return {"nodes": nodes, "edges": chain(*(n["id"] for n in nodes))}


def unknown_references(report: dict) -> set[str]:
    return {error["node_id"] for error in report["errors"] if error["code"] == "unknown_reference"}


@pytest.fixture
def foreign(other_workspace):
    """Objects of another workspace, which this one must not be able to name."""
    from workflows.services import workflow_create

    return {
        "template": str(EmailTemplateFactory(workspace=other_workspace).pk),
        "campaign": str(CampaignFactory(workspace=other_workspace).pk),
        "segment": str(SegmentFactory(workspace=other_workspace).pk),
        "workflow": str(workflow_create(workspace=other_workspace, name="Theirs").pk),
    }


@pytest.mark.parametrize("source", ["another workspace", "nowhere"])
def test_validate_reports_references_publish_refuses(api, foreign, source):
    references = foreign if source == "another workspace" else {kind: str(uuid.uuid4()) for kind in foreign}
    graph = graph_naming(**references)
    workflow = api.post("/api/v1/workflows", {"name": "W", "graph": graph}, format="json").json()

    report = api.post(f"/api/v1/workflows/{workflow['id']}/validate", {}, format="json").json()
    given = api.post(f"/api/v1/workflows/{workflow['id']}/validate", {"graph": graph}, format="json").json()
    publish = api.post(f"/api/v1/workflows/{workflow['id']}/publish")

    assert unknown_references(report) == unknown_references(given) == {"t", "m", "c", "w"}
    assert publish.status_code == 422
    assert publish.json()["error"]["details"]["errors"] == report["errors"]


def test_draft_save_reports_the_same_references(api, foreign):
    workflow = api.post("/api/v1/workflows", {"name": "W"}, format="json").json()
    saved = api.put(f"/api/v1/workflows/{workflow['id']}/draft",
                    {"graph": graph_naming(template=foreign["template"]), "revision": 1}, format="json")
    assert saved.status_code == 200
    assert unknown_references(saved.json()["validation"]) == {"m"}


def test_references_to_the_workspaces_own_objects_validate_and_publish(api, workspace):
    from workflows.services import workflow_create

    own = {
        "template": str(EmailTemplateFactory(workspace=workspace).pk),
        "campaign": str(CampaignFactory(workspace=workspace).pk),
        "workflow": str(workflow_create(workspace=workspace, name="Next").pk),
    }
    workflow = api.post("/api/v1/workflows", {"name": "W", "graph": graph_naming(**own)}, format="json").json()
    report = api.post(f"/api/v1/workflows/{workflow['id']}/validate", {}, format="json").json()
    assert report["errors"] == []
    assert api.post(f"/api/v1/workflows/{workflow['id']}/publish").status_code == 200
