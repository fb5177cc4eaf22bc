"""A viewer in Chromium: every screen reads, none offers a write (issue 22). The API refuses a viewer's writes
(penguinflow/common/permissions.py); this proves the builder never asks: no write control on the list, the canvas,
its panels, the versions or the executions, keys that edit do nothing, and the page sends no request that writes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.builder.conftest import member
from tests.builder.pages import canvas_node
from tests.engine.graphs import edge, node
from tests.history.screens_seed import seed_executions

NOTE = {"id": "note_1", "text": "Ask legal before changing the tag", "position": {"x": 0, "y": -200},
        "width": 220, "height": 140}
# What a page may send beside GETs: the login form, and the draft's check (it stores nothing: a viewer may ask it).
STORE_NOTHING = re.compile(r"/builder/login(\?|$)|/api/v1/workflows/[0-9a-f-]+/validate$")
# Buttons that read: a viewer may be offered these, and no other. "Suggestions" is the same button as
# "Suggestions (0)" before the count comes back.
READING_BUTTONS = {
    "Log out", "Copy", "History", "Suggestions", "Suggestions (0)", "Test", "?", "Keyboard shortcuts", "No errors", "Analytics",
    "Zoom In", "Zoom Out", "Fit View", "Show counts", "Hide counts", "Close the settings", "Close", "Compare", "Apply filters", "Clear filters",
    "Any contact", "Previous page", "Next page", "All", "Search", "Show on canvas",
}


@pytest.fixture
def viewer(transactional_db, workspace):
    from penguinflow.workspaces.models import Membership

    return member(workspace, "reader", Membership.Role.VIEWER)


@pytest.fixture
def welcome(workspace):
    """t → d (a day) → a (tag), with a sticky note, published: a branchless draft (it would open as a list)."""
    from workflows.services import workflow_create, workflow_publish

    # Placed here, not on node()'s next free rows: those count every node the suite made before, and late in a run
    # the steps landed tens of thousands of pixels below the note, too far apart to fit in one view at the
    # canvas's least zoom, so the fitted view showed the empty middle and drew no node at all.
    graph = {"nodes": [node("t", "trigger_manual", label="Entered by hand", y=0),
                       node("d", "delay", {"duration": "P1D"}, "Wait a day", y=150),
                       node("a", "add_tag", {"tag": "welcomed"}, "Tag welcomed", y=300)],
             "edges": [edge("t", "d"), edge("d", "a")], "notes": [NOTE]}
    workflow = workflow_create(workspace=workspace, name="Welcome", graph=graph, settings={})
    workflow_publish(workflow=workflow)
    workflow.refresh_from_db()
    return workflow


def writes_sent(page: Page) -> list[str]:
    """Record every request the page sends that may write (not GET/HEAD) and is not one that stores nothing."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {request.url}")
            if request.method not in ("GET", "HEAD", "OPTIONS") and not STORE_NOTHING.search(request.url.split("#")[0])
            else None)
    return sent


def offered_buttons(page: Page) -> set[str]:
    """The names of the enabled buttons on the page (aria-label, else the text)."""
    return set(page.evaluate("""() => [...document.querySelectorAll('button, [role=button]')]
        .filter((b) => !b.disabled && b.offsetParent !== null)
        .map((b) => (b.getAttribute('aria-label') || b.textContent || '').trim())"""))


def place_of(step) -> str:
    """Where a step sits on the canvas (React Flow's translate of it), whatever the view's pan and zoom."""
    return step.evaluate("(element) => element.style.transform")


def assert_reads_only(page: Page, where: str) -> None:
    extra = offered_buttons(page) - READING_BUTTONS
    assert not extra, f"{where}: a viewer is offered {sorted(extra)}"


def stored(workflow) -> tuple:
    """What a write would change: the workflow's row and its draft's revision and notes."""
    from workflows.models import Workflow, WorkflowVersion

    row = Workflow.objects.get(pk=workflow.pk)
    draft = WorkflowVersion.objects.get(workflow=workflow, number__isnull=True)
    return row.updated_at, row.status, row.name, draft.revision, draft.notes


def test_a_viewer_reads_every_screen_and_the_page_never_writes(page, viewer, workspace, welcome, screenshot):
    seeded = seed_executions(workspace)
    before = stored(welcome)
    sent = writes_sent(page)
    page.goto("/builder/")
    page.get_by_label("User name").fill("reader")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()

    # The list: every workflow, no create, rename, duplicate, archive or delete.
    expect(page.locator("tr[data-workflow=Welcome]")).to_be_visible()
    expect(page.locator("tr[data-workflow=Onboarding]")).to_be_visible()
    screenshot("list")
    assert_reads_only(page, "the list")
    expect(page.get_by_role("button", name="Delete Welcome")).to_have_count(0)

    # The canvas: the graph (a branchless draft opens as the list for an editor), read-only.
    page.get_by_role("link", name="Welcome").click()
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Read-only")).to_be_visible()
    steps = page.locator(".react-flow__node")
    expect(steps).to_have_count(4)  # three steps and the note
    expect(page.get_by_role("button", name="No errors")).to_be_visible()  # the draft's check came back
    note_text = page.get_by_role("textbox", name="Note text")
    expect(note_text).to_have_value(NOTE["text"])
    expect(note_text).not_to_be_editable()
    assert page.locator(".palette, .edge-insert, .simple-list").count() == 0
    screenshot("canvas")
    assert_reads_only(page, "the canvas")

    # A step's settings: readable, not editable.
    wait_step = canvas_node(page, "Wait a day")
    placed = place_of(wait_step)
    wait_step.click()
    panel = page.get_by_role("complementary", name="Settings of Wait a day")
    expect(panel.get_by_label("Name on the canvas")).to_have_value("Wait a day")
    expect(panel.get_by_label("Name on the canvas")).not_to_be_editable()
    fields = panel.locator(".schema-form").locator("input, select, textarea")
    expect(fields.first).to_be_disabled()
    assert all(fields.nth(index).is_disabled() for index in range(fields.count()))
    screenshot("panel")
    assert_reads_only(page, "the settings panel")

    # Keys that edit do nothing: delete the selected step, paste a copy of it, undo; a drag moves nothing.
    page.locator(".react-flow__pane").focus()
    wait_step.click()
    for key in ("Delete", "Backspace", "Control+c", "Control+v", "Control+d", "Control+z", "Control+y"):
        page.keyboard.press(key)
    wait_step.drag_to(page.locator(".canvas-flow"), target_position={"x": 200, "y": 500})
    expect(steps).to_have_count(4)
    assert place_of(wait_step) == placed
    expect(page.get_by_role("status").filter(has_text="Read-only")).to_be_visible()

    # The shortcuts a viewer is shown are those that change nothing.
    page.locator(".react-flow__pane").click()
    page.keyboard.press("?")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts.locator("kbd")).to_have_text(["Ctrl+C", "Ctrl+click, or Shift+drag", "?"])
    shortcuts.get_by_role("button", name="Close").click()

    # The suggestions are read (none here), then the versions.
    page.get_by_role("button", name=re.compile(r"^Suggestions")).click()
    expect(page.get_by_role("complementary", name="Suggestions")).to_be_visible()
    assert_reads_only(page, "the suggestions")
    page.get_by_role("button", name="History").click()
    expect(page).to_have_url(re.compile(rf"/workflows/{welcome.pk}/versions$"))
    expect(page.get_by_text("Version 1").first).to_be_visible()
    screenshot("versions")
    assert_reads_only(page, "the versions")

    # The executions: no bulk retry or cancel, and a failed one offers neither Retry nor Cancel.
    page.get_by_role("link", name="Executions").click()
    expect(page.get_by_role("table", name="Executions, newest first").locator("tbody tr")).to_have_count(3)
    assert_reads_only(page, "the executions")
    page.goto(f"/builder/executions/{seeded.ada.pk}")
    expect(page.get_by_text("ada@lovelace.test").first).to_be_visible()
    expect(page.get_by_role("button", name="Retry…")).to_have_count(0)
    screenshot("execution")
    assert_reads_only(page, "an execution")

    # The templates: none to save as a template, nothing installed.
    page.get_by_role("link", name="Templates").click()
    expect(page.get_by_role("heading", name="Workflow templates")).to_be_visible()
    expect(page.get_by_role("button", name="Save a workflow as a template")).to_have_count(0)

    assert sent == [], sent
    assert stored(welcome) == before
