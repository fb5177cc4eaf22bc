"""Draft, publish and version control in the builder: the versions API it reads, then the journey in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible
from tests.engine.graphs import chain, node

GRAPH = {
    "nodes": [node("t", "trigger_manual", label="Manual entry", y=0),
              node("d", "delay", {"duration": "P1D"}, "Wait a day", y=150),
              node("tag", "add_tag", {"tag": "welcomed"}, "Tag welcomed", y=300)],
    "edges": chain("t", "d", "tag"),
}


def publish_v1(api, graph=GRAPH) -> str:
    workflow = api.post("/api/v1/workflows", {"name": "Onboarding", "graph": graph}, format="json").json()
    assert api.post(f"/api/v1/workflows/{workflow['id']}/publish").status_code == 200
    return workflow["id"]


@pytest.mark.django_db
def test_versions_say_how_many_enrollments_are_still_live_on_each(api, workspace):
    from tests.factories import ContactFactory

    workflow_id = publish_v1(api)
    contacts = [ContactFactory(workspace=workspace) for _ in range(2)]
    enrolled = api.post(f"/api/v1/workflows/{workflow_id}/enroll",
                        {"contacts": [{"id": str(c.id)} for c in contacts]}, format="json")
    assert enrolled.status_code == 202, enrolled.json()
    assert api.post(f"/api/v1/workflows/{workflow_id}/publish").status_code == 200

    listed = api.get(f"/api/v1/workflows/{workflow_id}/versions").json()
    assert [(v["number"], v["in_flight"]) for v in listed] == [(2, 0), (1, 2)]
    detail = api.get(f"/api/v1/workflows/{workflow_id}/versions/1").json()
    assert detail["in_flight"] == 2
    assert [n["id"] for n in detail["graph"]["nodes"]] == ["t", "d", "tag"]


@pytest.mark.django_db
def test_versions_of_another_workspace_are_not_found(api, other_api):
    workflow_id = publish_v1(api)
    assert other_api.get(f"/api/v1/workflows/{workflow_id}/versions").status_code == 404
    assert other_api.get(f"/api/v1/workflows/{workflow_id}/versions/1").status_code == 404
    assert api.get(f"/api/v1/workflows/{workflow_id}/versions/9").status_code == 404
