"""The preset libraries through the API: served from the node types' declarations, to workspace keys only."""

from __future__ import annotations

import pytest

from workflows.engine.presets import action_presets, trigger_presets
from workflows.engine.registry import registry


@pytest.mark.parametrize(("path", "minimum", "expected"), [
    ("/api/v1/trigger-templates", 20, trigger_presets),
    ("/api/v1/action-templates", 14, action_presets),
])
def test_the_template_libraries_answer_the_declared_presets(api, path, minimum, expected):
    response = api.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body == expected(registry)
    assert len(body) >= minimum
    assert all(set(item) == {"id", "label", "description", "category", "type", "config", "example"} for item in body)


def test_a_trigger_template_names_its_node_type_and_config(api):
    templates = {item["id"]: item for item in api.get("/api/v1/trigger-templates").json()}
    assert templates["email-opened"]["type"] == "trigger_event"
    assert templates["email-opened"]["config"] == {"event": "email.opened"}
    assert templates["segment-entered"]["config"]["segment_id"] == "<segment-id>"
    assert "segment" in templates["segment-entered"]["example"]["fill_in"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/trigger-templates", "/api/v1/action-templates"])
def test_the_template_libraries_need_a_workspace_key(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert "error" in response.json()
