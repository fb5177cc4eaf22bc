"""Canvas editing: dynamic branches described by the server, sticky notes stored with the graph, and the journeys
through the canvas that use them (command menu, insert on an edge, notes, labelled issues, the side panel)."""

from __future__ import annotations

import re
import time

import pytest
from django.db import IntegrityError, transaction
from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import open_canvas
from workflows.canvas_notes import MAX_NOTE_TEXT, MAX_NOTES
from workflows.engine.graph import Graph
from workflows.engine.registry import registry
from workflows.models import Step, WorkflowVersion

GRAPH = {
    "nodes": [
        {
            "id": "n1",
            "type": "trigger_event",
            "position": {"x": 0, "y": 0},
            "data": {"label": "Signed up", "config": {"event": "contact.created"}},
        },
        {
            "id": "n2",
            "type": "delay",
            "position": {"x": 0, "y": 150},
            "data": {"label": "Wait a day", "config": {"duration": "P1D"}},
        },
    ],
    "edges": [{"id": "e1", "source": "n1", "target": "n2", "sourceHandle": "default"}],
}
NOTE = {
    "id": "note_1",
    "text": "Ask Ada before changing the delay.",
    "position": {"x": 300, "y": 40},
    "width": 240,
    "height": 150,
}


def note(**changes):
    return {**NOTE, **changes}


# --- dynamic branches ----------------------------------------------------------------------------------------


def node_type_answer(api, type_name: str) -> dict:
    response = api.get("/api/v1/node-types")
    assert response.status_code == 200
    return next(item for item in response.json() if item["type"] == type_name)


def test_switch_describes_its_cases_and_its_default_branch(api):
    switch = node_type_answer(api, "switch")
    assert switch["branches"] == "dynamic"
    assert switch["branch_source"] == {"items": "cases", "id": "id", "label": "label", "always": ["default"]}


def test_split_describes_its_variants_with_no_branch_of_its_own(api):
    split = node_type_answer(api, "split")
    assert split["branches"] == "dynamic"
    assert split["branch_source"] == {"items": "variants", "id": "id", "label": "label", "always": []}


def test_a_fixed_list_of_branches_has_no_branch_source(api):
    assert node_type_answer(api, "condition")["branch_source"] is None


def test_every_dynamic_type_says_where_its_branches_are_and_agrees_with_the_engine():
    for node in registry.all():
        if node.branches != "dynamic":
            continue
        source = node.branch_source
        assert source is not None, f"{node.type} has dynamic branches but no branch_source"
        # The items' ids then `always`, as the builder computes them, are the branches the engine takes.
        sample = {"cases": [{"id": "a", "rule": {"==": [1, 1]}}, {"id": "b", "rule": {"==": [1, 2]}}],
                  "variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 1}],
                  "branches": [{"id": "a"}, {"id": "b"}]}
        config = node.parse_config({source.items: sample[source.items]})
        assert node.branches_for(config) == ("a", "b", *source.always)


# --- sticky notes ------------------------------------------------------------------------------------------------


def create(api, graph) -> dict:
    response = api.post("/api/v1/workflows", {"name": "Notes", "graph": graph}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def save(api, workflow_id: str, graph, revision: int = 1):
    return api.put(
        f"/api/v1/workflows/{workflow_id}/draft",
        {"graph": graph, "settings": {}, "revision": revision},
        format="json",
    )


def test_notes_round_trip_with_the_draft(api):
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    assert workflow["draft"]["graph"]["notes"] == [NOTE]
    moved = note(text="Moved", position={"x": 10.4, "y": -20.6})
    assert save(api, workflow["id"], {**GRAPH, "notes": [moved]}).status_code == 200
    stored = api.get(f"/api/v1/workflows/{workflow['id']}").json()["draft"]["graph"]
    assert stored["notes"] == [note(text="Moved", position={"x": 10, "y": -21})]
    assert stored["nodes"] == GRAPH["nodes"]


def test_a_graph_without_notes_answers_as_before(api):
    workflow = create(api, GRAPH)
    assert workflow["draft"]["graph"] == GRAPH
    assert WorkflowVersion.objects.get(workflow_id=workflow["id"]).notes == []


def test_saving_without_notes_removes_them(api):
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    assert save(api, workflow["id"], GRAPH).status_code == 200
    assert "notes" not in api.get(f"/api/v1/workflows/{workflow['id']}").json()["draft"]["graph"]


@pytest.mark.parametrize(
    ("notes", "path"),
    [
        ("not a list", "graph.notes"),
        ([note(text="x" * (MAX_NOTE_TEXT + 1))], "graph.notes[0].text"),
        ([note(id="")], "graph.notes[0].id"),
        ([note(id="x" * 65)], "graph.notes[0].id"),
        ([note(width=10)], "graph.notes[0].width"),
        ([note(height=5000)], "graph.notes[0].height"),
        ([note(position={"x": "0", "y": 0})], "graph.notes[0].position.x"),
        ([note(position={"x": 1e12, "y": 0})], "graph.notes[0].position.x"),
        ([note(colour="red")], "graph.notes[0].colour"),
        ([note(), note()], "graph.notes"),
        ([note(id=f"n{index}") for index in range(MAX_NOTES + 1)], "graph.notes"),
    ],
)
def test_bad_notes_are_refused_with_400_naming_the_field_and_nothing_is_written(api, notes, path):
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    response = save(api, workflow["id"], {**GRAPH, "notes": notes})
    assert response.status_code == 400, response.content
    assert path in response.json()["error"]["details"], response.json()
    draft = WorkflowVersion.objects.get(workflow_id=workflow["id"], number__isnull=True)
    assert (draft.revision, draft.notes) == (1, [NOTE])


def test_as_many_notes_as_allowed_are_kept(api):
    notes = [note(id=f"n{index}", text="x" * MAX_NOTE_TEXT) for index in range(MAX_NOTES)]
    workflow = create(api, {**GRAPH, "notes": notes})
    assert len(workflow["draft"]["graph"]["notes"]) == MAX_NOTES


def test_publish_copies_the_notes_into_the_version_and_they_stay_put(api):
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    response = api.post(f"/api/v1/workflows/{workflow['id']}/publish")
    assert response.status_code == 200, response.content
    version = api.get(f"/api/v1/workflows/{workflow['id']}/versions/1").json()
    assert version["graph"]["notes"] == [NOTE]
    # Later draft edits leave the published notes as they were, and the database refuses to change them.
    assert save(api, workflow["id"], {**GRAPH, "notes": []}, revision=1).status_code == 200
    assert api.get(f"/api/v1/workflows/{workflow['id']}/versions/1").json()["graph"]["notes"] == [NOTE]
    published = WorkflowVersion.objects.get(workflow_id=workflow["id"], number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowVersion.objects.filter(pk=published.pk).update(notes=[])


def test_duplicate_copies_the_notes(api):
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    copy = api.post(f"/api/v1/workflows/{workflow['id']}/duplicate").json()
    assert copy["draft"]["graph"]["notes"] == [NOTE]


def test_the_engine_never_sees_notes(api):
    assert Graph.from_builder({**GRAPH, "notes": [NOTE]}) == Graph.from_builder(GRAPH)
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    api.post(f"/api/v1/workflows/{workflow['id']}/publish")
    published = WorkflowVersion.objects.get(workflow_id=workflow["id"], number=1)
    assert sorted(Step.objects.filter(version=published).values_list("node_id", flat=True)) == ["n1", "n2"]
    assert all("notes" not in step.extra for step in Step.objects.filter(version=published))
    simulated = api.post(
        f"/api/v1/workflows/{workflow['id']}/simulate",
        {
            "version": "draft",
            "contact": {"email": "ada@example.com"},
            "events": [{"after": "PT1M", "type": "contact.created"}],
            "until": "P3D",
        },
        format="json",
    )
    assert simulated.status_code == 200, simulated.content
    assert simulated.json()["status"] == "completed"
    assert {step["node_id"] for step in simulated.json()["path"]} == {"n1", "n2"}


# --- in the browser -----------------------------------------------------------------------------------------------

browser_db = pytest.mark.django_db(transaction=True)


def node(node_id: str, node_type: str, label: str, x: int, y: int, config: dict | None = None) -> dict:
    return {"id": node_id, "type": node_type, "position": {"x": x, "y": y},
            "data": {"label": label, "config": config or {}}}


def edge(edge_id: str, source: str, target: str, branch: str = "default") -> dict:
    return {"id": edge_id, "source": source, "target": target, "sourceHandle": branch}


SIGNED_UP = node("start", "trigger_event", "Signed up", 0, 0, {"event": "contact.created"})
TAG_VIP = node("tag", "add_tag", "Tag VIP", 0, 400, {"tag": "vip"})


def workflow_with(workspace, graph: dict, name: str = "Canvas editing"):
    from workflows import services

    return services.workflow_create(workspace=workspace, name=name, graph=graph)


def canvas_node(page: Page, text: str):
    return page.locator(".react-flow__node", has=page.locator(".flow-node-label", has_text=text))


def draft_graph(workflow) -> dict:
    from workflows import version_graphs

    return version_graphs.builder_graph_of(version_graphs.draft_of(workflow))


def wait_saved(page: Page) -> None:
    expect(page.get_by_text("All changes saved")).to_be_visible()


@browser_db
def test_the_command_menu_opens_from_the_keyboard_and_adds_a_step(logged_in, screenshot, workspace):
    page = logged_in
    workflow = workflow_with(workspace, {"nodes": [SIGNED_UP], "edges": []})
    open_canvas(page, workflow)
    page.locator(".react-flow__pane").click()
    page.keyboard.press("Control+k")
    menu = page.get_by_role("dialog", name="Add a step or run a command")
    expect(menu).to_be_visible()
    search = menu.get_by_role("combobox")
    expect(search).to_be_focused()
    expect(menu.get_by_role("option", name=re.compile("^Tidy up"))).to_be_visible()
    screenshot("command-menu")
    assert_accessible(page)

    search.fill("send email")
    expect(menu.get_by_role("option").first).to_contain_text("Send email")
    screenshot("command-menu-filtered")
    page.keyboard.press("Enter")
    expect(menu).to_be_hidden()
    added = canvas_node(page, "Send email")
    expect(added).to_be_visible()
    # The new step is selected, so its settings are open beside the canvas.
    expect(page.get_by_role("complementary", name=re.compile("^Settings of"))).to_be_visible()

    # "/" opens it too, and a canvas command runs from it.
    page.locator(".react-flow__pane").click()
    page.keyboard.press("/")
    expect(menu).to_be_visible()
    menu.get_by_role("combobox").fill("shortcuts")
    page.keyboard.press("Enter")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts.get_by_text("Open the command menu")).to_be_visible()
    expect(shortcuts.get_by_text("Insert a step on that connection")).to_be_visible()
    screenshot("shortcuts")
    page.keyboard.press("Escape")
    wait_saved(page)
    assert [item["type"] for item in draft_graph(workflow)["nodes"]] == ["trigger_event", "send_email"]


@browser_db
def test_a_step_is_inserted_on_an_edge_as_one_undo_step_and_by_a_drop(logged_in, screenshot, workspace):
    page = logged_in
    workflow = workflow_with(workspace, {"nodes": [SIGNED_UP, TAG_VIP], "edges": [edge("e1", "start", "tag")]})
    open_canvas(page, workflow)
    # The connection is named by the steps it joins, not by their ids.
    expect(page.locator(".react-flow__edge")).to_have_attribute("aria-label", "From Event “Signed up” to Add tag “Tag VIP”")
    plus = page.get_by_role("button", name="Insert a step on this connection")
    # Hidden by being drawn in no colour (canvasEditing.css says why not by opacity).
    expect(plus).to_have_css("color", "rgba(0, 0, 0, 0)")
    expect(plus).to_have_css("background-color", "rgba(0, 0, 0, 0)")
    # Hovering the connection (above its middle, where the "+" is) shows the "+".
    middle = plus.bounding_box()
    page.mouse.move(middle["x"] + middle["width"] / 2, middle["y"] - 40)
    expect(plus).to_have_css("color", "rgb(29, 58, 158)")
    expect(plus).to_have_css("background-color", "rgb(255, 255, 255)")
    screenshot("edge-plus")
    plus.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("dialog", name="Insert a step between Event “Signed up” and Add tag “Tag VIP”")
    expect(menu).to_be_visible()
    # Nothing leads into a trigger: none is offered here.
    expect(menu.get_by_role("option", name=re.compile("^Event"))).to_have_count(0)
    menu.get_by_role("combobox").fill("delay")
    page.keyboard.press("Enter")
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    screenshot("inserted")
    wait_saved(page)
    graph = draft_graph(workflow)
    delay = next(item["id"] for item in graph["nodes"] if item["type"] == "delay")
    assert sorted((e["source"], e["target"], e["sourceHandle"]) for e in graph["edges"]) == sorted(
        [("start", delay, "default"), (delay, "tag", "default")])

    page.locator(".react-flow__pane").click()
    page.keyboard.press("Control+z")
    expect(page.locator(".react-flow__node")).to_have_count(2)
    expect(page.locator(".react-flow__edge")).to_have_count(1)

    # A palette item dropped on the connection goes between its two steps as well.
    box = page.get_by_role("button", name="Insert a step on this connection").bounding_box()
    canvas = page.locator(".canvas-flow").bounding_box()
    page.get_by_role("button", name="Add tag", exact=True).drag_to(page.locator(".canvas-flow"), target_position={
        "x": box["x"] + box["width"] / 2 - canvas["x"], "y": box["y"] + box["height"] + 30 - canvas["y"]})
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    screenshot("dropped-on-edge")
    wait_saved(page)
    graph = draft_graph(workflow)
    added = next(item["id"] for item in graph["nodes"] if item["id"] not in ("start", "tag"))
    assert sorted((e["source"], e["target"]) for e in graph["edges"]) == sorted([("start", added), (added, "tag")])


@browser_db
def test_a_switch_shows_its_cases_and_its_default_exit(logged_in, screenshot, workspace):
    page = logged_in
    switch = node("plan", "switch", "By plan", 0, 150, {"cases": [
        {"id": "pro", "label": "Pro", "rule": {"==": [{"var": "contact.fields.plan"}, "pro"]}}]})
    workflow = workflow_with(workspace, {"nodes": [SIGNED_UP, switch, TAG_VIP], "edges": [edge("e1", "start", "plan")]})
    open_canvas(page, workflow)
    plan = canvas_node(page, "By plan")
    expect(plan.locator(".branch-label")).to_have_text(["Pro", "default"])
    plan.locator(".react-flow__handle[data-handleid=default]").drag_to(
        canvas_node(page, "Tag VIP").locator(".react-flow__handle.target"))
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    screenshot("switch-default")
    wait_saved(page)
    assert ("plan", "tag", "default") in [(e["source"], e["target"], e["sourceHandle"])
                                          for e in draft_graph(workflow)["edges"]]


@browser_db
def test_a_sticky_note_is_added_edited_resized_deleted_and_kept(logged_in, screenshot, workspace):
    page = logged_in
    workflow = workflow_with(workspace, {"nodes": [SIGNED_UP], "edges": []})
    open_canvas(page, workflow)
    page.get_by_role("button", name="Add note").click()
    text = page.get_by_role("textbox", name="Note text")
    text.fill("Ask Ada before changing the trigger.")
    note = page.locator(".react-flow__node-sticky-note")
    # A new note does not cover the steps.
    step_box, note_box = canvas_node(page, "Signed up").bounding_box(), note.bounding_box()
    assert step_box["x"] + step_box["width"] <= note_box["x"] or note_box["x"] + note_box["width"] <= step_box["x"]
    handle = note.locator(".react-flow__resize-control.handle.bottom.right")
    start = handle.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + 120, start["y"] + 80, steps=8)
    page.mouse.up()
    screenshot("note")
    wait_saved(page)
    [stored] = draft_graph(workflow)["notes"]
    assert stored["text"] == "Ask Ada before changing the trigger."
    assert stored["width"] > 300 and stored["height"] > 200

    open_canvas(page, workflow)
    expect(page.get_by_role("textbox", name="Note text")).to_have_value("Ask Ada before changing the trigger.")
    assert_accessible(page)
    page.get_by_role("button", name="Delete this note").click()
    expect(page.locator(".react-flow__node-sticky-note")).to_have_count(0)
    page.locator(".react-flow__pane").click()
    page.keyboard.press("Control+z")
    expect(page.get_by_role("textbox", name="Note text")).to_have_value("Ask Ada before changing the trigger.")
    screenshot("note-after-reload-delete-undo")
    wait_saved(page)
    assert len(draft_graph(workflow)["notes"]) == 1


@browser_db
def test_findings_name_steps_by_type_and_name_not_by_id(logged_in, screenshot, workspace):
    page = logged_in
    unset = node("n1", "trigger_event", "Signed up", 0, 0, {})
    workflow = workflow_with(workspace, {"nodes": [unset], "edges": []})
    open_canvas(page, workflow)
    page.get_by_role("button", name=re.compile(r"^\d+ errors?")).click()
    issues = page.get_by_role("list", name="Problems in this draft")
    expect(issues).to_contain_text("Event “Signed up”")
    expect(issues).not_to_contain_text("(n1)")
    expect(canvas_node(page, "Signed up").locator(".issue-error").first).to_contain_text("Event “Signed up”")
    screenshot("issues-named")


@browser_db
def test_a_finding_on_an_edge_labels_it_in_the_danger_colour_and_names_it(logged_in, screenshot, workspace):
    page = logged_in
    other = node("other", "add_tag", "Tag other", 300, 400, {"tag": "other"})
    graph = {"nodes": [SIGNED_UP, TAG_VIP, other], "edges": [edge("e1", "start", "tag"), edge("e2", "start", "other")]}
    workflow = workflow_with(workspace, graph)
    open_canvas(page, workflow)
    message = re.compile(r"^The 'default' branch of .* has more than one edge")
    label = page.locator(".edge-label")
    expect(label).to_have_text(message)
    expect(label).to_have_class(re.compile(r"\bedge-error\b"))
    expect(label).to_have_css("color", "rgb(179, 38, 30)")  # --danger
    # Screen readers hear the finding once, as the edge's name; the drawn label is not read again.
    expect(label).to_have_attribute("aria-hidden", "true")
    expect(page.locator('.react-flow__edge[data-id="e2"]')).to_have_attribute("aria-label", message)
    screenshot("edge-finding")

@browser_db
@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_the_settings_panel_leaves_the_selected_step_in_view(logged_in, screenshot, workspace, size):
    page = logged_in
    page.set_viewport_size({"width": size[0], "height": size[1]})
    far = node("far", "add_tag", "Far right", 1400, 0, {"tag": "x"})
    workflow = workflow_with(workspace, {"nodes": [SIGNED_UP, far], "edges": []})
    open_canvas(page, workflow)
    canvas_node(page, "Far right").click()
    panel = page.get_by_role("complementary", name=re.compile("^Settings of"))
    expect(panel).to_be_visible()
    page.wait_for_function("""() => {
        const element = document.querySelector('.react-flow__node[data-id="far"]');
        if (!element) return false;  // not drawn while outside the view: wait for the pan to bring it back
        const step = element.getBoundingClientRect();
        const canvas = document.querySelector('.canvas-flow').getBoundingClientRect();
        const panel = document.querySelector('.node-panel').getBoundingClientRect();
        return step.left >= canvas.left && step.right <= canvas.right && step.right <= panel.left;
    }""")
    screenshot(f"panel-{size[0]}x{size[1]}")


@browser_db
def test_a_selected_step_is_brought_out_from_under_the_minimap(logged_in, screenshot, workspace):
    page = logged_in
    page.set_viewport_size({"width": 1280, "height": 800})
    # Fitted to the view, the far step lands in the bottom-right corner, where the minimap is drawn.
    corner = node("corner", "add_tag", "Tag the VIPs", 1400, 900, {"tag": "vip"})
    workflow = workflow_with(workspace, {"nodes": [SIGNED_UP, corner], "edges": [edge("e1", "start", "corner")]})
    open_canvas(page, workflow)
    step = page.get_by_label("Tag the VIPs (Add tag)")
    minimap = page.get_by_role("img", name="Overview of the workflow")
    expect(minimap).to_be_visible()
    # Selected from the keyboard: the pointer could not reach it under the minimap.
    step.locator("xpath=..").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("complementary", name="Settings of Tag the VIPs")).to_be_visible()
    # Looked up afresh each time: a step outside the narrowed view is not drawn until the pan brings it back.
    page.wait_for_function("""() => {
        const step = document.querySelector('[aria-label^="Tag the VIPs (Add tag)"]');
        const minimap = [...document.querySelectorAll('svg[role="img"]')]
            .find((svg) => svg.querySelector('title')?.textContent === 'Overview of the workflow')
            ?.closest('.react-flow__panel');
        if (!step || !minimap) return false;
        const box = step.getBoundingClientRect();
        const map = minimap.getBoundingClientRect();
        const canvas = document.querySelector('.canvas-flow').getBoundingClientRect();
        const clear = box.right <= map.left || box.bottom <= map.top;
        return clear && box.left >= canvas.left && box.right <= canvas.right && box.bottom <= canvas.bottom;
    }""")
    screenshot("step-clear-of-minimap")


@browser_db
def test_the_overview_draws_every_step_pans_the_view_and_catches_up_with_a_drag(logged_in, screenshot, workspace):
    page = logged_in
    corner = node("corner", "add_tag", "Tag the VIPs", 900, 500, {"tag": "vip"})
    workflow = workflow_with(workspace, {"nodes": [SIGNED_UP, corner], "edges": [edge("e1", "start", "corner")]})
    open_canvas(page, workflow)
    overview = page.get_by_role("img", name="Overview of the workflow")
    steps = overview.locator("path.react-flow__minimap-node")
    expect(steps).to_have_attribute("d", re.compile(r"^(M[^M]+){2}$"))  # one rectangle per step
    drawn = steps.get_attribute("d")
    viewport, dots = page.locator(".react-flow__viewport"), page.locator(".canvas-dots")
    view, dots_at = viewport.get_attribute("style"), dots.evaluate("(e) => e.style.backgroundPosition")
    # Dragging on the overview pans the view, and the dots follow it.
    box = overview.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 15, box["y"] + box["height"] / 2 + 10, steps=5)
    page.mouse.up()
    expect(viewport).not_to_have_attribute("style", view)
    assert dots.evaluate("(e) => e.style.backgroundPosition") != dots_at
    # A step dragged: the canvas says so while it moves, and the overview draws it where it came to rest.
    step = canvas_node(page, "Tag the VIPs").bounding_box()
    page.mouse.move(step["x"] + step["width"] / 2, step["y"] + step["height"] / 2)
    page.mouse.down()
    page.mouse.move(step["x"] - 60, step["y"] + 20, steps=8)
    expect(page.locator(".canvas-flow.is-moving")).to_have_count(1)
    page.mouse.up()
    expect(page.locator(".canvas-flow.is-moving")).to_have_count(0)
    expect(steps).not_to_have_attribute("d", drawn)
    screenshot("overview-after-drag")


def stored_place(workflow, node_id: str, *, other_than: dict, timeout: float = 60) -> dict:
    """Answer the step's place in the saved draft once it is not `other_than` (the autosave follows the drag)."""
    deadline = time.monotonic() + timeout
    while True:
        place = next(item["position"] for item in draft_graph(workflow)["nodes"] if item["id"] == node_id)
        if place != other_than:
            return place
        assert time.monotonic() < deadline, f"the draft still has {node_id} at {other_than}"
        time.sleep(0.1)


@browser_db
def test_a_dragged_step_and_its_edge_follow_the_mouse_and_it_is_saved_where_it_rests_and_undone_in_one_step(
        logged_in, workspace):
    page = logged_in
    workflow = workflow_with(workspace, {"nodes": [SIGNED_UP, TAG_VIP], "edges": [edge("e1", "start", "tag")]})
    open_canvas(page, workflow)
    step, path = canvas_node(page, "Tag VIP"), page.locator('.react-flow__edge[data-id="e1"] path').first
    place, drawn = step.evaluate("(node) => node.style.transform"), path.get_attribute("d")
    box = step.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 40, steps=8)
    # While the button is still down, the step and its edge are drawn where the mouse took them.
    page.wait_for_function("([node, before]) => document.querySelector(`.react-flow__node[data-id='${node}']`)"
                           ".style.transform !== before", arg=["tag", place])
    expect(path).not_to_have_attribute("d", drawn)
    page.mouse.up()
    moved = stored_place(workflow, "tag", other_than=TAG_VIP["position"])
    assert moved["x"] > TAG_VIP["position"]["x"] and moved["y"] > TAG_VIP["position"]["y"]
    # The whole drag is one step of history: one undo puts the step back where it was, and that is saved too.
    page.locator(".react-flow__pane").click()
    page.keyboard.press("Control+z")
    expect(step).to_have_attribute("style", re.compile(re.escape(place)))
    expect(path).to_have_attribute("d", drawn)
    assert stored_place(workflow, "tag", other_than=moved) == TAG_VIP["position"]
