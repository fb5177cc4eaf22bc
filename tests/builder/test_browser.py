"""Journeys through the builder in Chromium: the list, the canvas, autosave, validation, publish and delete."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import canvas_node, connect, drop_from_palette, open_canvas, show_graph

pytestmark = pytest.mark.django_db(transaction=True)


# How many pairs of steps on the canvas overlap, measured in the page.
OVERLAPPING_PAIRS = """() => {
    const boxes = [...document.querySelectorAll(".react-flow__node")].map((node) => node.getBoundingClientRect());
    let pairs = 0;
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => {
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) pairs += 1;
    }));
    return pairs;
}"""


def test_builder_journey_from_login_to_delete(logged_in, screenshot, workspace):
    from tests.factories import EmailTemplateFactory
    from workflows.models import Workflow

    page = logged_in
    template = EmailTemplateFactory(workspace=workspace, name="Welcome email")
    expect(page.get_by_text("No workflows yet")).to_be_visible()
    screenshot("list-empty")
    assert_accessible(page)

    page.get_by_role("button", name="New workflow").click()
    page.get_by_role("dialog").get_by_label("Name", exact=True).fill("Welcome journey")
    screenshot("create-dialog")
    page.get_by_role("button", name="Create and open").click()
    expect(page.get_by_role("heading", name="Welcome journey")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/builder/workflows/[0-9a-f-]+$"))
    show_graph(page)

    drop_from_palette(page, "Event", 420, 80)
    drop_from_palette(page, "Send email", 420, 300)
    trigger, email = canvas_node(page, "Event"), canvas_node(page, "Send email")
    expect(trigger).to_be_visible()
    expect(email).to_be_visible()
    connect(page, trigger, email)
    expect(page.locator(".react-flow__edge")).to_have_count(1)

    # The server's findings, after the autosave, on the nodes they name; publishing waits for them to be fixed.
    expect(trigger.locator(".issue-error", has_text="config.event required")).to_be_visible()
    expect(email.locator(".issue-error", has_text="config.template_id required")).to_be_visible()
    publish = page.get_by_role("button", name="Publish")
    expect(publish).to_be_disabled()
    screenshot("canvas-with-errors")
    assert_accessible(page)

    trigger.click()
    page.locator("#root_event").fill("contact.created")
    email.click()
    # The template is picked by its name (the panel's picker of the node type's `x-reference`).
    page.get_by_role("combobox", name="Email template (required)").fill("Welcome")
    page.get_by_role("option", name=re.compile(template.name)).click()
    screenshot("config-panel")
    assert_accessible(page)
    expect(page.get_by_role("button", name=re.compile("^No errors"))).to_be_visible()
    expect(page.get_by_text("All changes saved")).to_be_visible()
    expect(publish).to_be_enabled()

    page.reload()
    expect(canvas_node(page, "Event")).to_be_visible()
    expect(canvas_node(page, "Send email")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    expect(page.get_by_role("button", name=re.compile("^No errors"))).to_be_visible()
    workflow = Workflow.objects.get(name="Welcome journey")
    assert workflow.status == "draft"

    page.get_by_role("button", name="Publish").click()
    # Publishing asks first, with what goes live and what happens to contacts already inside.
    page.get_by_role("dialog").get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Published version 1.")).to_be_visible()
    screenshot("published")
    workflow.refresh_from_db()
    assert workflow.status == "active"

    page.get_by_role("link", name="← Workflows").click()
    row = page.locator("tr", has_text="Welcome journey")
    expect(row.get_by_text("Active")).to_be_visible()
    screenshot("list")
    assert_accessible(page)
    # Opened again from the list, the canvas shows the draft as saved, not as it was first loaded.
    row.get_by_role("link", name="Welcome journey").click()
    expect(canvas_node(page, "Send email")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    page.get_by_role("link", name="← Workflows").click()
    row.get_by_role("button", name="Delete Welcome journey").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("removes its draft (2 steps) and 1 published version")
    screenshot("delete-confirmation")
    dialog.get_by_role("button", name="Delete for good").click()
    expect(page.get_by_text("No workflows yet")).to_be_visible()
    assert not Workflow.objects.filter(name="Welcome journey").exists()


def test_a_conflicting_save_is_explained_and_nothing_typed_is_lost(logged_in, screenshot, workspace):
    from workflows import services, version_graphs

    page = logged_in
    workflow = services.workflow_create(workspace=workspace, name="Shared draft")

    def save_theirs(label: str) -> None:
        """Another editor saves the draft meanwhile, with a manual trigger of theirs."""
        draft = version_graphs.draft_of(workflow)
        theirs = {"nodes": [{"id": "theirs", "type": "trigger_manual", "position": {"x": 0, "y": 0},
                             "data": {"label": label, "config": {}}}], "edges": []}
        services.workflow_draft_save(workflow=workflow, graph=theirs, settings=draft.settings,
                                     revision=draft.revision)

    def saved_labels() -> list[str]:
        return [node.label for node in version_graphs.graph_of(version_graphs.draft_of(workflow)).nodes]

    open_canvas(page, workflow)
    expect(page.get_by_role("heading", name="Shared draft")).to_be_visible()
    save_theirs("Their trigger")
    drop_from_palette(page, "Event", 300, 60)
    conflict = page.get_by_role("alert").filter(has_text="Someone else saved this draft")
    expect(conflict).to_be_visible()
    expect(page.get_by_text("Not saved: conflict")).to_be_visible()
    expect(page.get_by_role("button", name="Publish")).to_be_disabled()
    expect(canvas_node(page, "Event")).to_be_visible()
    screenshot("conflict")
    page.get_by_role("button", name="Keep my version").click()
    expect(page.get_by_text("All changes saved")).to_be_visible()
    expect(conflict).to_be_hidden()
    assert saved_labels() == ["Event"]

    # Again, and this time the user takes theirs: their version is shown, and Undo brings the user's back.
    save_theirs("Their second trigger")
    drop_from_palette(page, "Send email", 300, 260)
    expect(conflict).to_be_visible()
    page.get_by_role("button", name="Load their version").click()
    expect(canvas_node(page, "Their second trigger")).to_be_visible()
    expect(canvas_node(page, "Event")).to_be_hidden()
    page.get_by_role("button", name="Undo").click()
    expect(canvas_node(page, "Event")).to_be_visible()
    expect(canvas_node(page, "Send email")).to_be_visible()
    expect(page.get_by_text("All changes saved")).to_be_visible()
    assert sorted(saved_labels()) == ["Event", "Send email"]


def test_list_searches_filters_sorts_and_edits_and_explains_a_refused_delete(logged_in, screenshot, workspace):
    from django.utils import timezone

    from tests.factories import ContactFactory
    from workflows import services, version_graphs
    from workflows.models import Enrollment, Workflow

    page = logged_in
    busy = services.workflow_create(workspace=workspace, name="Welcome", description="greets sign-ups")
    services.workflow_create(workspace=workspace, name="Cart recovery", description="abandoned carts")
    Enrollment.objects.create(workspace=workspace, workflow=busy, version=version_graphs.draft_of(busy),
                              contact=ContactFactory(workspace=workspace), entered_at=timezone.now(),
                              status="waiting", entry_key="once")
    page.reload()
    rows = page.locator("tbody tr")
    names = rows.locator("td:first-child a")
    expect(rows).to_have_count(2)

    page.get_by_label("Search").fill("ABANDONED")
    expect(names).to_have_text(["Cart recovery"])
    page.get_by_label("Search").fill("")
    page.get_by_label("Sort by").select_option(label="Name (A to Z)")
    expect(names).to_have_text(["Cart recovery", "Welcome"])

    page.get_by_role("button", name="Duplicate Welcome").click()
    expect(names).to_have_text(["Cart recovery", "Welcome", "Welcome (copy)"])
    page.get_by_role("button", name="Rename Welcome (copy)").click()
    page.get_by_role("dialog").get_by_label("New name").fill("Welcome again")
    page.get_by_role("dialog").get_by_role("button", name="Rename").click()
    expect(names).to_have_text(["Cart recovery", "Welcome", "Welcome again"])
    page.get_by_role("button", name="Archive Welcome again").click()
    page.get_by_label("Status").select_option(label="Archived")
    expect(names).to_have_text(["Welcome again"])
    page.get_by_label("Status").select_option(label="All")
    screenshot("list")

    page.get_by_role("button", name="Delete Welcome", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Delete for good").click()
    expect(dialog.get_by_role("alert")).to_contain_text(
        "Not deleted: 1 contact is still going through “Welcome”. Archive or pause it, let them finish")
    screenshot("delete-refused")
    assert Workflow.objects.filter(pk=busy.pk).exists()
    assert Workflow.objects.get(name="Welcome again").status == "archived"


def test_branches_are_labelled_one_edge_each_and_edits_undo_and_redo(logged_in, screenshot, workspace):
    from workflows import services

    page = logged_in
    graph = {"nodes": [
        {"id": "start", "type": "trigger_event", "position": {"x": 0, "y": 0},
         "data": {"label": "Signed up", "config": {"event": "contact.created"}}},
        {"id": "check", "type": "condition", "position": {"x": 0, "y": 150},
         "data": {"label": "Is VIP", "config": {"rule": {"==": [{"var": "contact.status"}, "vip"]}}}},
        {"id": "vip", "type": "add_tag", "position": {"x": -200, "y": 320},
         "data": {"label": "Tag VIP", "config": {"tag": "vip"}}},
        {"id": "other", "type": "add_tag", "position": {"x": 200, "y": 320},
         "data": {"label": "Tag other", "config": {"tag": "other"}}},
    ], "edges": [{"id": "e1", "source": "start", "target": "check", "sourceHandle": "default"}]}
    workflow = services.workflow_create(workspace=workspace, name="Branches", graph=graph)
    open_canvas(page, workflow)
    check = canvas_node(page, "Is VIP")
    expect(check.locator(".branch-label")).to_have_text(["yes", "no"])
    edges = page.locator(".react-flow__edge")
    expect(edges).to_have_count(1)

    yes = check.locator(".react-flow__handle[data-handleid=yes]")
    yes.drag_to(canvas_node(page, "Tag VIP").locator(".react-flow__handle.target"))
    expect(edges).to_have_count(2)
    expect(page.locator(".edge-label")).to_have_text(["yes"])
    # The edge's name says the branch; its drawn label is not read a second time.
    expect(page.locator(".edge-label")).to_have_attribute("aria-hidden", "true")
    expect(page.locator('.react-flow__edge[aria-label$=", branch “yes”"]')).to_have_count(1)
    # The same branch cannot lead to a second step: refused in the browser, with the reason.
    yes.drag_to(canvas_node(page, "Tag other").locator(".react-flow__handle.target"))
    expect(page.get_by_role("alert").filter(has_text="The “yes” branch already leads to another step")).to_be_visible()
    expect(edges).to_have_count(2)
    check.locator(".react-flow__handle[data-handleid=no]").drag_to(
        canvas_node(page, "Tag other").locator(".react-flow__handle.target"))
    expect(edges).to_have_count(3)
    screenshot("branches")

    page.get_by_role("button", name="Undo").click()
    expect(edges).to_have_count(2)
    page.get_by_role("button", name="Redo").click()
    expect(edges).to_have_count(3)
    page.locator(".react-flow__pane").click()  # keyboard shortcuts act on the canvas, not in a field
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    expect(edges).to_have_count(1)
    page.keyboard.press("Control+Shift+z")
    expect(edges).to_have_count(2)
    expect(page.get_by_text("All changes saved")).to_be_visible()
    open_canvas(page, workflow)
    expect(page.locator(".react-flow__edge")).to_have_count(2)


def test_an_ended_session_loses_no_edit_and_the_save_resumes_after_logging_in(logged_in, workspace, screenshot):
    from workflows import services, version_graphs

    page = logged_in
    workflow = services.workflow_create(workspace=workspace, name="Long edit")
    open_canvas(page, workflow)
    expect(page.get_by_role("heading", name="Long edit")).to_be_visible()
    page.context.clear_cookies()
    # From the keyboard: the palette's items add the step in the middle of the view.
    page.get_by_role("button", name="Manual", exact=True).press("Enter")
    expect(page.get_by_role("dialog", name="Your session ended — log in again")).to_be_visible()
    expect(canvas_node(page, "Manual")).to_be_visible()
    expect(page.get_by_text("This step has no settings.")).to_be_visible()
    screenshot("session-ended")

    other_tab = page.context.new_page()
    other_tab.goto("/builder/login")
    other_tab.get_by_label("User name").fill("marketer")
    other_tab.get_by_label("Password").fill("pw")
    other_tab.get_by_role("button", name="Log in").click()
    expect(other_tab.get_by_role("heading", name="Workflows")).to_be_visible()
    other_tab.close()

    page.get_by_role("dialog").get_by_role("button", name="Retry").click()
    expect(page.get_by_text("All changes saved")).to_be_visible()
    saved = version_graphs.graph_of(version_graphs.draft_of(workflow))
    assert [node.type for node in saved.nodes] == ["trigger_manual"]


def test_steps_copied_in_one_workflow_paste_into_another_as_one_step(logged_in, screenshot, workspace):
    from workflows import services

    page = logged_in
    graph = {"nodes": [
        {"id": "start", "type": "trigger_manual", "position": {"x": 0, "y": 0}, "data": {"label": "Start", "config": {}}},
        {"id": "tag", "type": "add_tag", "position": {"x": 0, "y": 150}, "data": {"label": "Tag it", "config": {"tag": "a"}}},
        {"id": "untag", "type": "remove_tag", "position": {"x": 0, "y": 300},
         "data": {"label": "Clear it", "config": {"tag": "b"}}},
    ], "edges": [{"id": "e1", "source": "start", "target": "tag", "sourceHandle": "default"},
                 {"id": "e2", "source": "tag", "target": "untag", "sourceHandle": "default"}]}
    source = services.workflow_create(workspace=workspace, name="Source", graph=graph)
    target = services.workflow_create(workspace=workspace, name="Target")

    open_canvas(page, source)
    canvas_node(page, "Tag it").click()
    canvas_node(page, "Clear it").click(modifiers=["Control"])
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)
    page.keyboard.press("Control+c")

    open_canvas(page, target)
    page.get_by_role("button", name="Paste").click()
    nodes = page.locator(".react-flow__node")
    expect(nodes).to_have_count(2)
    expect(page.locator(".react-flow__edge")).to_have_count(1)  # the edge between the two copied steps
    page.keyboard.press("Control+d")
    expect(nodes).to_have_count(4)
    screenshot("pasted-and-duplicated")
    assert page.evaluate(OVERLAPPING_PAIRS) > 0  # the duplicates sit 40 px off their originals

    page.get_by_role("button", name="Tidy up").click()
    page.wait_for_function(f"({OVERLAPPING_PAIRS})() === 0")
    screenshot("tidied-up")
    page.keyboard.press("Control+z")  # the layout is one step
    expect(nodes).to_have_count(4)
    page.keyboard.press("Control+z")
    expect(nodes).to_have_count(2)
    page.keyboard.press("Control+z")
    expect(nodes).to_have_count(0)

    page.keyboard.press("?")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts.get_by_role("row", name=re.compile("Ctrl\\+D Duplicate"))).to_be_visible()
    screenshot("shortcuts")
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()


def test_a_large_workflow_opens_and_only_its_visible_steps_are_drawn(logged_in, workspace):
    from workflows import services

    page = logged_in
    columns = 20
    nodes = [{"id": "start", "type": "trigger_manual", "position": {"x": 0, "y": -200},
              "data": {"label": "Start", "config": {}}}]
    nodes += [{"id": f"n{i}", "type": "add_tag", "position": {"x": (i % columns) * 260, "y": (i // columns) * 160},
               "data": {"label": f"Tag {i}", "config": {"tag": f"t{i}"}}} for i in range(499)]
    edges = [{"id": f"e{i}", "source": "start" if i == 0 else f"n{i - 1}", "target": f"n{i}",
              "sourceHandle": "default"} for i in range(499)]
    workflow = services.workflow_create(workspace=workspace, name="Large", graph={"nodes": nodes, "edges": edges})

    open_canvas(page, workflow)
    # Fitted at the smallest zoom, the 20 columns are wider than the view: the steps outside it are not drawn.
    expect(page.locator(".react-flow__node").first).to_be_visible()
    drawn = page.locator(".react-flow__node").count()
    assert 0 < drawn < 500, drawn


def test_a_draft_too_spread_to_fit_opens_on_its_start_not_on_the_empty_middle(logged_in, workspace):
    from workflows import services

    page = logged_in
    # Two parts 20,000 px apart: fitted whole at the smallest zoom, the view would show the stretch between them.
    nodes = [{"id": "start", "type": "trigger_manual", "position": {"x": 0, "y": 0},
              "data": {"label": "Start here", "config": {}}},
             {"id": "near", "type": "add_tag", "position": {"x": 0, "y": 160},
              "data": {"label": "Near tag", "config": {"tag": "a"}}},
             {"id": "far", "type": "add_tag", "position": {"x": 20_000, "y": 160},
              "data": {"label": "Far tag", "config": {"tag": "b"}}}]
    edges = [{"id": "e1", "source": "start", "target": "near", "sourceHandle": "default"},
             {"id": "e2", "source": "near", "target": "far", "sourceHandle": "default"}]
    workflow = services.workflow_create(workspace=workspace, name="Spread", graph={"nodes": nodes, "edges": edges})

    open_canvas(page, workflow)

    start = canvas_node(page, "Start here")
    expect(start).to_be_in_viewport()
    expect(canvas_node(page, "Near tag")).to_be_in_viewport()
    expect(canvas_node(page, "Far tag")).to_have_count(0)  # far out of view, so not drawn
