"""The canvas's path suggestions in Chromium: the header's count, the panel with the evidence, and Apply, which
changes the draft and reopens the canvas on it (CONTRACT §16)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import canvas_node, open_canvas


def test_a_split_winner_is_suggested_and_applying_it_reloads_the_canvas_without_the_split(
    logged_in, workspace, screenshot
):
    from tests.engine.graphs import edge, node
    from tests.workflows.builders import publish
    from workflows.models import SuggestionDecision, WorkflowCounter
    from workflows.version_graphs import builder_graph_of, draft_of

    workflow = publish(workspace, [
        node("t", "trigger_manual"),
        node("s", "split", {"variants": [{"id": "a", "weight": 50}, {"id": "b", "weight": 50}]}, "Subject test"),
        node("na", "add_tag", {"tag": "a"}, "Tag A"), node("nb", "add_tag", {"tag": "b"}, "Tag B"),
    ], [edge("t", "s"), edge("s", "na", "a"), edge("s", "nb", "b")], name="Subject lines")  # fmt: skip
    version = workflow.versions.get(number=1)
    for key, value in {"split.s.a.entered": 1000, "split.s.a.goal_reached": 100,
                       "split.s.b.entered": 1000, "split.s.b.goal_reached": 200}.items():
        WorkflowCounter.objects.create(version=version, key=key, value=value)

    page = logged_in
    open_canvas(page, workflow)
    expect(canvas_node(page, "Subject test")).to_be_visible()
    page.get_by_role("button", name="Suggestions (1)").click()
    panel = page.get_by_role("complementary", name="Suggestions")
    expect(panel).to_contain_text("Variant 'b' of 'Subject test' has the best goal rate")
    expect(panel.get_by_text("b: 200 of 1,000 reached the goal (20.0%)", exact=True)).to_be_visible()
    screenshot("suggestions-panel")
    assert_accessible(page)

    panel.get_by_role("button", name="Apply to the draft").click()
    # The editor reopens on the changed draft: the split is gone, the live version keeps it.
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()
    expect(canvas_node(page, "Subject test")).to_have_count(0)
    expect(canvas_node(page, "Tag B")).to_be_visible()
    expect(page.get_by_role("button", name="Suggestions (0)")).to_be_visible()
    assert SuggestionDecision.objects.get(workflow=workflow).status == "applied"
    assert [(e["source"], e["target"]) for e in builder_graph_of(draft_of(workflow))["edges"]] == [("t", "nb")]
    assert len(builder_graph_of(version)["edges"]) == 3
