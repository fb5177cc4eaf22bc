"""A workflow whose rules are over the budget is shown invalid on its draft and refused at publish (422)."""

from __future__ import annotations

from tests.engine.graphs import chain, node
from workflows.engine.conditions import MAX_RULE_COST
from workflows.models import Workflow, WorkflowVersion

THOUSAND = list(range(1000))
MILLION = {"some": [{"map": [THOUSAND, {"map": [THOUSAND, {"+": [1, 1]}]}]}, {"==": [1, 2]}]}


def test_rules_over_the_budget_are_draft_errors_and_publish_answers_422(api, workspace):
    graph = {
        "nodes": [
            node("t", "trigger_event", {"event": "page.viewed", "filter": MILLION}),
            node("c", "condition", {"rule": MILLION}),
        ],
        "edges": chain("t", "c"),
    }
    settings = {"exit_conditions": [{"rule": MILLION}]}
    workflow_id = api.post("/api/v1/workflows", {"name": "Costly"}, format="json").json()["id"]

    saved = api.put(
        f"/api/v1/workflows/{workflow_id}/draft",
        {"graph": graph, "settings": settings, "revision": 1},
        format="json",
    )
    published = api.post(f"/api/v1/workflows/{workflow_id}/publish")

    assert saved.status_code == 200, saved.content
    draft_errors = saved.json()["validation"]["errors"]
    assert sorted((e["code"], e.get("node_id")) for e in draft_errors) == [
        ("invalid_exit_condition", None),
        ("invalid_rule", "c"),
        ("invalid_rule", "t"),
    ]
    assert all(f"the limit is {MAX_RULE_COST:,}" in e["message"] for e in draft_errors)
    assert published.status_code == 422
    assert published.json()["error"]["details"]["errors"] == draft_errors
    assert Workflow.objects.get(pk=workflow_id).status == "draft"
    assert not WorkflowVersion.objects.filter(workflow_id=workflow_id, number__isnull=False).exists()
