"""Path suggestions (CONTRACT §16): each kind from the counters it rests on, apply (a draft change only),
dismiss, the 409 of a kind with no automatic change, the acceptance stats, isolation and bad input."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.engine.graphs import edge, node
from tests.factories import EmailTemplateFactory
from tests.workflows.builders import publish
from workflows.models import SplitAllocationChange, SuggestionDecision, WorkflowCounter
from workflows.version_graphs import builder_graph_of, draft_of

pytestmark = pytest.mark.django_db


def counts(workflow, values: dict[str, int]) -> None:
    version = workflow.versions.get(number=1)
    WorkflowCounter.objects.bulk_create([WorkflowCounter(version=version, key=k, value=v) for k, v in values.items()])


@pytest.fixture
def split_flow(workspace):
    """trigger → split (a: tag_a, b: tag_b) → exit, with variant b converting 20% against a's 10%."""
    workflow = publish(workspace, [
        node("t", "trigger_manual"),
        node("s", "split", {"variants": [{"id": "a", "weight": 50}, {"id": "b", "weight": 50}]}, "Subject test"),
        node("na", "add_tag", {"tag": "a"}), node("nb", "add_tag", {"tag": "b"}, "Tag B"),
    ], [edge("t", "s"), edge("s", "na", "a"), edge("s", "nb", "b")])  # fmt: skip
    counts(workflow, {"split.s.a.entered": 1000, "split.s.a.goal_reached": 100,
                      "split.s.b.entered": 1000, "split.s.b.goal_reached": 200})
    return workflow


def listed(api, workflow):
    response = api.get(f"/api/v1/workflows/{workflow.pk}/suggestions")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_split_winner_is_suggested_and_applying_it_rewires_only_the_draft(api, split_flow):
    [suggestion] = listed(api, split_flow)
    assert suggestion["kind"] == "promote_split_winner" and suggestion["node_id"] == "s"
    assert suggestion["evidence"]["winner"] == "b" and suggestion["evidence"]["probability_best"] > 0.99
    assert suggestion["change"] == {"op": "replace_split_with_branch", "node_id": "s", "variant": "b", "target": "nb"}
    assert "'Tag B'" in suggestion["message"]

    response = api.post(f"/api/v1/workflows/{split_flow.pk}/suggestions/{suggestion['id']}/apply")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "applied" and response.json()["revision"] == 2
    draft = builder_graph_of(draft_of(split_flow))
    assert "s" not in {n["id"] for n in draft["nodes"]}
    assert [(e["source"], e["target"]) for e in draft["edges"]] == [("t", "nb")]
    # The live version is untouched.
    live = builder_graph_of(split_flow.versions.get(number=1))
    assert "s" in {n["id"] for n in live["nodes"]} and len(live["edges"]) == 3
    assert listed(api, split_flow) == []
    again = api.post(f"/api/v1/workflows/{split_flow.pk}/suggestions/{suggestion['id']}/apply")
    assert again.status_code == 409 and again.json()["error"]["code"] == "suggestion_decided"
    assert SuggestionDecision.objects.filter(workflow=split_flow).count() == 1


def test_an_optimizers_declared_winner_is_suggested_with_its_reason(api, workspace):
    workflow = publish(workspace, [
        node("t", "trigger_manual"),
        node("s", "split", {"variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 1}], "mode": "optimize",
                            "goal": "bought"}),
        node("na", "add_tag", {"tag": "a"}), node("nb", "add_tag", {"tag": "b"}),
    ], [edge("t", "s"), edge("s", "na", "a"), edge("s", "nb", "b")],
        settings={"exit_conditions": [{"event": "order.placed", "goal": "bought"}]})
    SplitAllocationChange.objects.create(workflow=workflow, node_id="s", goal="bought", at=timezone.now(),
                                         shares={"a": 1.0, "b": 0.0}, probability_best={"a": 0.97, "b": 0.03},
                                         winner="a", reason="a is the winner for goal 'bought'")
    [suggestion] = listed(api, workflow)
    assert suggestion["evidence"]["declared_by_optimizer"] is True and suggestion["evidence"]["winner"] == "a"
    assert suggestion["change"]["target"] == "na"


def test_a_failing_node_is_suggested_and_apply_is_refused_but_dismiss_hides_it(api, workspace):
    workflow = publish(workspace, [node("t", "trigger_manual"), node("w", "add_tag", {"tag": "x"}, "Tag it")],
                       [edge("t", "w")])
    counts(workflow, {"node.w.entered": 200, "node.w.failed": 80, "node.w.succeeded": 120})
    [suggestion] = listed(api, workflow)
    assert suggestion["kind"] == "node_failing" and "change" not in suggestion
    assert suggestion["evidence"] == {"entered": 200, "failed": 80, "fail_rate": 0.4}
    refused = api.post(f"/api/v1/workflows/{workflow.pk}/suggestions/{suggestion['id']}/apply")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "suggestion_not_applicable"
    assert not SuggestionDecision.objects.exists()
    dismissed = api.post(f"/api/v1/workflows/{workflow.pk}/suggestions/{suggestion['id']}/dismiss")
    assert dismissed.status_code == 200 and dismissed.json() == {"id": suggestion["id"], "status": "dismissed"}
    # Same evidence bucket: the same id, still dismissed.
    WorkflowCounter.objects.filter(key="node.w.failed").update(value=85)
    assert listed(api, workflow) == []


def test_an_email_engaging_below_the_workspace_and_a_branch_rarely_reaching_the_goal(api, workspace):
    template = EmailTemplateFactory(workspace=workspace)
    good = publish(workspace, [node("t", "trigger_manual"), node("m", "send_email", {"template_id": str(template.pk)})],
                   [edge("t", "m")], name="Good")
    counts(good, {"channel.m.email.delivered": 1000, "channel.m.email.engaged": 600})
    workflow = publish(workspace, [
        node("t", "trigger_manual"), node("c", "condition", {"rule": {"==": [1, 1]}}, "VIP?"),
        node("m", "send_email", {"template_id": str(template.pk)}, "Offer"), node("n", "add_tag", {"tag": "x"}),
    ], [edge("t", "c"), edge("c", "m", "yes"), edge("c", "n", "no")], name="Weak")  # fmt: skip
    counts(workflow, {"channel.m.email.delivered": 500, "channel.m.email.engaged": 20,
                      "enrollments.exited": 400, "enrollments.completed": 600, "goals.reached": 300,
                      "node.m.entered": 500, "node.m.goal_reached": 250,
                      "node.n.entered": 500, "node.n.goal_reached": 10})
    found = {s["kind"]: s for s in listed(api, workflow)}
    assert set(found) == {"email_low_engagement", "goal_rare_after_branch"}
    email = found["email_low_engagement"]
    assert email["node_id"] == "m" and email["evidence"]["rate"] == 0.04
    assert email["evidence"]["workspace_rate"] == round(620 / 1500, 4)
    rare = found["goal_rare_after_branch"]
    assert rare["node_id"] == "n" and rare["evidence"]["branch"] == "no" and rare["evidence"]["rate"] == 0.02
    assert listed(api, good) == []


def test_stats_report_acceptance_per_kind(api, split_flow, workspace):
    [suggestion] = listed(api, split_flow)
    api.post(f"/api/v1/workflows/{split_flow.pk}/suggestions/{suggestion['id']}/apply")
    response = api.get("/api/v1/suggestions/stats")
    assert response.status_code == 200
    body = response.json()
    assert body["kinds"]["promote_split_winner"] == {"applied": 1, "dismissed": 0, "acceptance_rate": 1.0}
    assert body["kinds"]["node_failing"]["acceptance_rate"] is None
    assert body["total"] == {"applied": 1, "dismissed": 0, "acceptance_rate": 1.0}


def test_another_workspaces_workflow_and_unknown_or_malformed_ids_are_404(api, other_api, split_flow):
    [suggestion] = listed(api, split_flow)
    base = f"/api/v1/workflows/{split_flow.pk}/suggestions"
    assert other_api.get(base).status_code == 404
    assert other_api.post(f"{base}/{suggestion['id']}/apply").status_code == 404
    assert other_api.get("/api/v1/suggestions/stats").json()["total"]["applied"] == 0
    assert api.post(f"{base}/{'0' * 16}/dismiss").status_code == 404
    assert api.post(f"{base}/not-an-id/dismiss").status_code == 404
    assert api.get("/api/v1/workflows/nope/suggestions").status_code == 404
    assert not SuggestionDecision.objects.exists()
    assert builder_graph_of(draft_of(split_flow))["edges"][0]["target"] == "s"
