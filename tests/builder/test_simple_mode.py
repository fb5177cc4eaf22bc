"""Simple mode in Chromium: a branchless workflow edited as a list of steps, over the same draft as the graph."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import open_canvas, pick

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = {"id": "note_1", "text": "Renewals are reviewed by finance", "position": {"x": 400, "y": 0},
        "width": 220, "height": 140}


def step_labels(page: Page):
    return page.locator(".simple-list .step-card .step-label")


def add_step(page: Page, where: str, label: str) -> None:
    """Open the picker from the add button named `where` and pick the item labelled `label`."""
    page.get_by_role("button", name=where, exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name=label, exact=True).click()
    expect(dialog).to_be_hidden()


def card(page: Page, label: str):
    return page.locator(".step-card", has=page.locator(".step-label", has_text=label))


def saved_graph(page: Page, workflow) -> dict:
    """The saved draft's graph, as the API answers it to the logged-in page."""
    answer = page.request.get(f"/api/v1/workflows/{workflow.id}")
    assert answer.ok, answer.text()
    return answer.json()["draft"]["graph"]


def saved_chain(graph: dict) -> list[str]:
    """The steps of a saved graph from its first one along its edges, as their types."""
    by_id = {node["id"]: node for node in graph["nodes"]}
    after = {edge["source"]: edge["target"] for edge in graph["edges"]}
    entered = {edge["target"] for edge in graph["edges"]}
    current = next(node["id"] for node in graph["nodes"] if node["id"] not in entered)
    chain = []
    while current:
        chain.append(by_id[current]["type"])
        current = after.get(current)
    return chain


def test_a_new_workflow_is_built_as_a_list_and_a_branch_opens_the_graph(logged_in, screenshot, workspace):
    from tests.factories import EmailTemplateFactory
    from workflows.models import Workflow

    page = logged_in
    template = EmailTemplateFactory(workspace=workspace, name="Welcome email")
    page.get_by_role("button", name="New workflow").click()
    page.get_by_role("dialog").get_by_label("Name", exact=True).fill("Onboarding")
    page.get_by_role("button", name="Create and open").click()
    expect(page.get_by_role("heading", name="Onboarding")).to_be_visible()
    simple = page.get_by_role("button", name="Simple", exact=True)
    expect(simple).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".canvas-flow")).to_have_count(0)
    screenshot("simple-empty")
    assert_accessible(page)

    add_step(page, "Add a trigger", "Event")
    # The new step is selected: its settings open in the canvas's own panel.
    page.locator("#root_event").fill("contact.created")
    # The picker offers what fits here: steps after a trigger, not a second trigger.
    page.get_by_role("button", name="Add a step at the end", exact=True).click()
    picker = page.get_by_role("dialog", name="Add a step")
    expect(picker.get_by_role("region", name="Actions")).to_be_visible()
    expect(picker.get_by_role("region", name="Triggers")).to_have_count(0)
    screenshot("simple-step-picker")
    assert_accessible(page)
    picker.get_by_role("button", name="Send email", exact=True).click()
    expect(picker).to_be_hidden()
    add_step(page, "Add a step at the end", "Delay")
    expect(step_labels(page)).to_have_text(["Event", "Send email", "Delay"])
    expect(card(page, "Event").locator(".step-summary")).to_contain_text("contact.created")

    # Reorder with the buttons, then back with the keyboard; focus stays on the moved step.
    page.get_by_role("button", name="Move “Delay” up").click()
    expect(step_labels(page)).to_have_text(["Event", "Delay", "Send email"])
    expect(page.get_by_role("button", name="Move “Event” down")).to_be_disabled()
    delay_open = card(page, "Delay").locator(".step-open")
    delay_open.focus()
    page.keyboard.press("Alt+ArrowDown")
    expect(step_labels(page)).to_have_text(["Event", "Send email", "Delay"])
    expect(card(page, "Delay").locator(".step-open")).to_be_focused()
    card(page, "Delay").drag_to(card(page, "Send email"))
    expect(step_labels(page)).to_have_text(["Event", "Delay", "Send email"])
    card(page, "Delay").drag_to(card(page, "Send email"))
    expect(step_labels(page)).to_have_text(["Event", "Send email", "Delay"])

    # The email's settings, in the panel; its card sums them up.
    card(page, "Send email").locator(".step-open").click()
    expect(page.get_by_role("complementary", name=re.compile("^Settings of Send email"))).to_be_visible()
    pick(page, "Email template (required)", "Welcome", "Welcome email")
    email_summary = card(page, "Send email").locator(".step-summary")
    # The card names the template as the panel does, never by its id.
    expect(email_summary).to_have_text("Email template: Welcome email")
    expect(card(page, "Send email")).to_have_class(re.compile(r"\bselected\b"))
    screenshot("simple-three-steps-and-panel")
    assert_accessible(page)

    # Undo and redo act on the list as on the graph: a removal comes back whole, in its place.
    page.get_by_role("button", name="Remove “Send email”").click()
    expect(step_labels(page)).to_have_text(["Event", "Delay"])
    page.get_by_role("button", name="Undo").click()
    expect(step_labels(page)).to_have_text(["Event", "Send email", "Delay"])
    expect(email_summary).to_have_text("Email template: Welcome email")
    page.get_by_role("button", name="Undo").click()
    expect(email_summary).not_to_contain_text("Welcome email")
    page.get_by_role("button", name="Redo").click()
    expect(email_summary).to_have_text("Email template: Welcome email")
    expect(page.get_by_text("All changes saved")).to_be_visible()

    workflow = Workflow.objects.get(name="Onboarding")
    graph = saved_graph(page, workflow)
    assert saved_chain(graph) == ["trigger_event", "send_email", "delay"]
    positions = {node["type"]: node["position"] for node in graph["nodes"]}
    assert positions["trigger_event"]["x"] == positions["send_email"]["x"] == positions["delay"]["x"]
    assert positions["trigger_event"]["y"] < positions["send_email"]["y"] < positions["delay"]["y"]

    page.reload()
    expect(step_labels(page)).to_have_text(["Event", "Send email", "Delay"])
    expect(card(page, "Send email").locator(".step-summary")).to_have_text("Email template: Welcome email")
    expect(card(page, "Send email").locator(".step-summary")).not_to_contain_text(str(template.id))

    page.set_viewport_size({"width": 1920, "height": 1080})
    card(page, "Delay").locator(".step-open").click()
    screenshot("simple-1920x1080")
    page.set_viewport_size({"width": 1280, "height": 800})

    # A branching step cannot live in a list: adding one opens the graph, with it wired after the last step.
    add_step(page, "Add a step at the end", "Condition · opens the graph")
    expect(page.get_by_role("alert").filter(has_text="Switched to the graph editor")).to_contain_text(
        "“Condition” has branches")
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()
    expect(page.locator(".react-flow__node")).to_have_count(4)
    expect(page.locator(".react-flow__edge")).to_have_count(3)
    expect(page.get_by_role("button", name="Graph", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(simple).to_have_attribute("aria-disabled", "true")
    expect(simple).to_have_attribute("title", re.compile("Simple mode is off: “Condition” has branches"))
    screenshot("switched-to-graph")
    expect(page.get_by_text("All changes saved")).to_be_visible()
    graph = saved_graph(page, workflow)
    assert saved_chain(graph) == ["trigger_event", "send_email", "delay", "condition"]
    assert [edge["sourceHandle"] for edge in graph["edges"]] == ["default"] * 3


def test_a_card_names_the_template_it_sends_and_says_when_it_was_deleted_and_notes_stay(logged_in, screenshot,
                                                                                        workspace):
    from tests.factories import EmailTemplateFactory
    from workflows import services

    page = logged_in
    kept = EmailTemplateFactory(workspace=workspace, name="Renewal reminder")
    gone = EmailTemplateFactory(workspace=workspace, name="Old promo")
    workflow = services.workflow_create(workspace=workspace, name="Renewals", graph={"nodes": [
        {"id": "t", "type": "trigger_event", "position": {"x": 0, "y": 0},
         "data": {"label": "Plan renews", "config": {"event": "plan.renewing"}}},
        {"id": "a", "type": "send_email", "position": {"x": 0, "y": 150},
         "data": {"label": "Remind", "config": {"template_id": str(kept.id)}}},
        {"id": "b", "type": "send_email", "position": {"x": 0, "y": 300},
         "data": {"label": "Promote", "config": {"template_id": str(gone.id)}}},
    ], "edges": [{"id": "e1", "source": "t", "target": "a", "sourceHandle": "default"},
                 {"id": "e2", "source": "a", "target": "b", "sourceHandle": "default"}], "notes": [NOTE]})
    gone.delete()

    # A sticky note is no step: the workflow still opens as a list, of its steps alone.
    open_canvas(page, workflow, mode="simple")
    expect(step_labels(page)).to_have_text(["Plan renews", "Remind", "Promote"])
    expect(card(page, "Remind").locator(".step-summary")).to_have_text("Email template: Renewal reminder")
    expect(card(page, "Promote").locator(".step-summary")).to_have_text("Email template: deleted email template")
    screenshot("simple-cards-name-templates")
    assert_accessible(page)

    # An edit in the list is saved with the note as it was.
    page.get_by_role("button", name="Remove “Promote”").click()
    expect(step_labels(page)).to_have_text(["Plan renews", "Remind"])
    # The edit set the status to unsaved as it drew the list: this is the save that followed.
    expect(page.get_by_text("All changes saved")).to_be_visible()
    graph = saved_graph(page, workflow)
    assert [node["id"] for node in graph["nodes"]] == ["t", "a"]
    assert graph["notes"] == [NOTE]


def test_a_branched_workflow_opens_as_a_graph_and_a_chosen_graph_is_remembered(logged_in, screenshot, workspace):
    from workflows import services

    page = logged_in
    chain = services.workflow_create(workspace=workspace, name="Chain", graph={"nodes": [
        {"id": "t", "type": "trigger_event", "position": {"x": 0, "y": 0},
         "data": {"label": "Signed up", "config": {"event": "contact.created"}}},
        {"id": "tag", "type": "add_tag", "position": {"x": 300, "y": 40},
         "data": {"label": "Tag trial", "config": {"tag": "trial"}}},
    ], "edges": [{"id": "e1", "source": "t", "target": "tag", "sourceHandle": "default"}]})
    branched = services.workflow_create(workspace=workspace, name="Branched", graph={"nodes": [
        {"id": "t", "type": "trigger_event", "position": {"x": 0, "y": 0},
         "data": {"label": "Signed up", "config": {"event": "contact.created"}}},
        {"id": "c", "type": "condition", "position": {"x": 0, "y": 150},
         "data": {"label": "Is VIP", "config": {"rule": {"==": [1, 1]}}}},
    ], "edges": [{"id": "e1", "source": "t", "target": "c", "sourceHandle": "default"}]})

    page.goto(f"/builder/workflows/{branched.id}")
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()
    simple = page.get_by_role("button", name="Simple", exact=True)
    expect(simple).to_have_attribute("aria-disabled", "true")
    expect(simple).to_have_accessible_description(re.compile("“Is VIP” has branches, which only the graph can show"))
    # Off, yet focusable (so its reason is read out): pressing it changes nothing.
    simple.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Graph", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".simple-list")).to_have_count(0)
    screenshot("branched-graph-only")
    assert_accessible(page)

    page.goto(f"/builder/workflows/{chain.id}")
    expect(step_labels(page)).to_have_text(["Signed up", "Tag trial"])
    page.get_by_role("button", name="Graph", exact=True).click()
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    page.reload()
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()
    page.get_by_role("button", name="Simple", exact=True).click()
    expect(step_labels(page)).to_have_text(["Signed up", "Tag trial"])
    page.reload()
    expect(step_labels(page)).to_have_text(["Signed up", "Tag trial"])
