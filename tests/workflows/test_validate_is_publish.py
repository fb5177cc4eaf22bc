"""`validate` reports every problem `publish` refuses, and nothing else: walked over every node type of the
registry, with configs that are valid, empty, naming objects the workspace does not have, and naming its own."""

from __future__ import annotations

import pytest

from penguinflow.workspaces.services import signing_secret_rotate
from tests.engine.graphs import chain, edge, node
from tests.factories import (
    MembershipFactory,
    UserFactory,
)
from tests.workflows.presets_support import with_ids, with_real_objects
from workflows.engine.registry import registry

pytestmark = pytest.mark.django_db

NOWHERE = "3f1e7bde-0000-4000-8000-000000000000"


def _configs(node_type) -> list[tuple[str, dict]]:
    """The configs each type is tried with: empty, and each preset's with its placeholders left as they are
    (ids that name nothing), pointed at nowhere, and pointed at the workspace's own objects."""
    configs = [("empty", {})]
    for preset in node_type.presets:
        configs += [(f"{preset.id}-placeholder", preset.config), (f"{preset.id}-nowhere", with_ids(preset.config, NOWHERE)),
                    (f"{preset.id}-own", preset.config)]
    return configs


CASES = [(node_type.type, name, config) for node_type in registry for name, config in _configs(node_type)]


@pytest.mark.parametrize(("type_", "name", "config"), CASES, ids=[f"{t}-{n}" for t, n, _ in CASES])
def test_validate_reports_exactly_what_publish_refuses(api, workspace, type_, name, config):
    if name.endswith("-own"):
        config = with_real_objects(workspace, config)
        # People the team actions name are members of the workspace.
        MembershipFactory(workspace=workspace, user=UserFactory(email="sales@example.com"), role="admin")
        signing_secret_rotate(workspace=workspace)  # webhook steps sign with it
    if registry.get(type_).kind == "trigger":
        graph = {"nodes": [node("n", type_, config)], "edges": []}
    elif registry.get(type_).flow == "join":  # a merge joins the branches of a parallel
        graph = {"nodes": [node("t", "trigger_manual"), node("p", "parallel", {"branches": [{"id": "a"}, {"id": "b"}]}),
                           node("n", type_, config)],
                 "edges": [*chain("t", "p"), edge("p", "n", "a"), edge("p", "n", "b")]}
    else:
        graph = {"nodes": [node("t", "trigger_manual"), node("n", type_, config)], "edges": chain("t", "n")}
    workflow = api.post("/api/v1/workflows", {"name": "W", "graph": graph}, format="json").json()

    report = api.post(f"/api/v1/workflows/{workflow['id']}/validate", {}, format="json")
    published = api.post(f"/api/v1/workflows/{workflow['id']}/publish")

    assert report.status_code == 200
    errors = report.json()["errors"]
    if errors:
        assert published.status_code == 422, published.json()
        assert published.json()["error"]["details"]["errors"] == errors
    else:
        assert published.status_code == 200, published.json()
    if name == "empty" and registry.get(type_).Config.model_json_schema().get("required"):
        assert errors, "a config missing its required fields is an error"
    if name.endswith("-own"):
        assert not errors, errors  # a preset pointed at the workspace's own objects publishes
