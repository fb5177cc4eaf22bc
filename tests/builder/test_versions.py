"""Draft, publish and version control in the builder: the versions API it reads, then the journey in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import open_canvas, pick
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
    assert [(v["number"], v["in_flight"], v["published_by"]) for v in listed] == [(2, 0, "API key"), (1, 2, "API key")]
    detail = api.get(f"/api/v1/workflows/{workflow_id}/versions/1").json()
    assert detail["in_flight"] == 2
    assert [n["id"] for n in detail["graph"]["nodes"]] == ["t", "d", "tag"]


@pytest.mark.django_db
def test_versions_of_another_workspace_are_not_found(api, other_api):
    workflow_id = publish_v1(api)
    assert other_api.get(f"/api/v1/workflows/{workflow_id}/versions").status_code == 404
    assert other_api.get(f"/api/v1/workflows/{workflow_id}/versions/1").status_code == 404
    assert api.get(f"/api/v1/workflows/{workflow_id}/versions/9").status_code == 404


def canvas_node(page: Page, text: str):
    return page.locator(".react-flow__node", has=page.locator(".flow-node-label", has_text=text))


def center(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def mouse_drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


def published_welcome(workspace, template):
    """A workflow with version 1 live: a manual entry, then the email "Welcome"."""
    from workflows import services

    graph = {"nodes": [node("t", "trigger_manual", label="Manual entry", y=0),
                       node("m", "send_email", {"template_id": str(template.id)}, "Welcome", y=200)],
             "edges": chain("t", "m")}
    workflow = services.workflow_create(workspace=workspace, name="Welcome series", graph=graph)
    services.workflow_publish(workflow=workflow)
    workflow.refresh_from_db()
    return workflow


@pytest.mark.django_db(transaction=True)
def test_history_read_only_version_diff_publish_summary_and_pause(logged_in, screenshot, workspace):
    from tests.factories import ContactFactory, EmailTemplateFactory
    from workflows import services
    from workflows.models import Workflow

    page = logged_in
    first, second = (EmailTemplateFactory(workspace=workspace, name=name) for name in ("Hello", "Hello again"))
    workflow = published_welcome(workspace, first)
    services.workflow_enroll(workflow=workflow, contacts=[{"id": str(ContactFactory(workspace=workspace).id)}
                                                          for _ in range(2)])

    open_canvas(page, workflow)
    publish = page.get_by_role("button", name="Publish", exact=True)
    expect(page.get_by_role("status", name="Status: Active")).to_be_visible()
    # The draft is what version 1 is: nothing to publish.
    expect(page.get_by_text("Version 1 is live")).to_be_visible()
    expect(publish).to_be_disabled()

    # Edit the draft: the email's template.
    canvas_node(page, "Welcome").click()
    pick(page, "Email template (required)", "Hello again", "Hello again")
    expect(page.get_by_text("All changes saved")).to_be_visible()
    expect(publish).to_be_enabled()
    screenshot("draft-edited")

    page.get_by_role("button", name="History").click()
    expect(page).to_have_url(re.compile(rf"/builder/workflows/{workflow.id}/versions$"))
    row = page.get_by_role("row", name=re.compile("Version 1"))
    expect(row).to_contain_text("2")  # contacts still on it
    screenshot("history")
    assert_accessible(page)

    row.get_by_role("link", name="Open version 1, read-only").click()
    expect(page).to_have_url(re.compile(r"/versions/1$"))
    expect(page.get_by_text("Version 1, read-only", exact=True)).to_be_visible()
    version_canvas = page.get_by_role("region", name="Version 1, read-only")
    email = version_canvas.locator(".react-flow__node", has_text="Welcome")
    expect(email).to_be_visible()
    screenshot("version-read-only")
    # Nothing is editable: no step can be dragged, selected, connected or opened in the settings panel.
    expect(version_canvas.locator(".react-flow__node.draggable, .react-flow__node.selectable")).to_have_count(0)
    trigger = version_canvas.locator(".react-flow__node", has_text="Manual entry")
    # A step's place in the graph (a drag on a read-only canvas pans the view at most).
    place = 'node => node.style.transform'
    before = email.evaluate(place)
    # With the mouse itself: Playwright's own drag refuses elements that take no pointer events, as these do.
    mouse_drag(page, center(email), (center(email)[0] + 150, center(email)[1] + 90))
    mouse_drag(page, center(trigger.locator(".react-flow__handle.source")), center(email))
    assert email.evaluate(place) == before
    expect(version_canvas.locator(".react-flow__edge")).to_have_count(1)
    page.mouse.click(*center(email))
    expect(page.locator("#root_template_id")).to_have_count(0)
    expect(page.get_by_role("button", name="Undo")).to_have_count(0)
    assert_accessible(page)

    page.get_by_role("link", name="Compare with the draft").click()
    expect(page).to_have_url(re.compile(r"/compare\?from=1&to=draft$"))
    changes = page.get_by_role("region", name="Changes")
    expect(changes).to_contain_text("1 step changed: Send email “Welcome” email template changed.")
    field = changes.get_by_role("row", name=re.compile("email template"))
    expect(field).to_contain_text(str(first.id))
    expect(field).to_contain_text(str(second.id))
    diff_canvas = page.get_by_role("region", name=re.compile("^Differences"))
    expect(diff_canvas.locator(".react-flow__node.diff-changed")).to_have_count(1)
    expect(diff_canvas.locator(".react-flow__node.diff-changed")).to_contain_text("Welcome")
    changes.get_by_role("button", name="Show Send email “Welcome” on the canvas").press("Enter")
    screenshot("diff-version-1-vs-draft")
    assert_accessible(page)
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("diff-1920")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("link", name="← Back to the draft").click()
    publish.click()
    dialog = page.get_by_role("dialog", name="Publish version 2?")
    expect(dialog).to_contain_text("Against version 1: 1 step changed: Send email “Welcome” email template changed.")
    expect(dialog).to_contain_text("2 contacts on version 1 stay on version 1 until they finish.")
    expect(dialog).to_contain_text("New contacts enter version 2.")
    screenshot("publish-summary")
    assert_accessible(page)
    dialog.get_by_role("button", name="Publish version 2").click()
    expect(page.get_by_text("Published version 2.")).to_be_visible()
    # Right after a publish there is nothing new to publish.
    expect(publish).to_be_disabled()
    expect(page.get_by_text("Version 2 is live")).to_be_visible()
    assert workflow.versions.filter(number=2).exists()

    # The history names who published version 2; version 1 was published by nobody known (a service call).
    page.get_by_role("button", name="History").click()
    expect(page.get_by_role("row", name=re.compile("Version 2"))).to_contain_text("marketer")
    expect(page.get_by_role("row", name=re.compile("Version 1"))).to_contain_text("not known")
    page.get_by_role("link", name="← Back to the draft").click()

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status", name="Status: Paused")).to_be_visible()
    assert Workflow.objects.get(pk=workflow.pk).status == "paused"
    screenshot("paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status", name="Status: Active")).to_be_visible()
    assert Workflow.objects.get(pk=workflow.pk).status == "active"

    # Paused meanwhile elsewhere: the refused pause is said in words.
    services.workflow_pause(workflow=Workflow.objects.get(pk=workflow.pk))
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("alert")).to_contain_text("Only an active workflow can be paused; this one is paused.")
    expect(page.get_by_role("status", name="Status: Paused")).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    screenshot("pause-refused")

    # Archive asks first; once archived, nothing can be published, paused or resumed from here.
    page.get_by_role("button", name="Archive").click()
    confirm = page.get_by_role("dialog", name="Archive this workflow?")
    expect(confirm).to_contain_text("contacts already inside run to their end")
    confirm.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("status", name="Status: Archived")).to_be_visible()
    assert Workflow.objects.get(pk=workflow.pk).status == "archived"
    expect(page.get_by_role("button", name="Resume")).to_have_count(0)
    expect(publish).to_be_disabled()
    expect(publish).to_have_attribute("title", re.compile("archived workflow cannot be published"))
    screenshot("archived")


@pytest.mark.django_db(transaction=True)
def test_after_a_conflict_their_draft_is_shown_against_mine_and_nothing_typed_is_lost(logged_in, screenshot,
                                                                                        workspace):
    from workflows import services, version_graphs

    page = logged_in
    workflow = services.workflow_create(workspace=workspace, name="Shared draft")
    open_canvas(page, workflow)
    draft = version_graphs.draft_of(workflow)
    theirs = {"nodes": [node("theirs", "trigger_manual", label="Their trigger", y=0)], "edges": []}
    services.workflow_draft_save(workflow=workflow, graph=theirs, settings=draft.settings, revision=draft.revision)

    page.get_by_role("button", name="Event", exact=True).drag_to(page.locator(".canvas-flow"),
                                                                  target_position={"x": 300, "y": 60})
    expect(page.get_by_text("Not saved: conflict")).to_be_visible()
    page.get_by_role("button", name="See their version").click()
    compare = page.get_by_role("dialog", name="Their version of the draft, compared with yours")
    changes = compare.get_by_role("region", name="Changes")
    expect(changes).to_contain_text("1 step added, 1 removed.")
    expect(compare.locator(".react-flow__node.diff-added")).to_contain_text("Their trigger")
    expect(compare.locator(".react-flow__node.diff-removed")).to_contain_text("Event")
    screenshot("their-version")
    assert_accessible(page)

    compare.get_by_role("button", name="Close the comparison").click()
    expect(compare).to_be_hidden()
    # Looking changed nothing: my step is still on the canvas and the choice is still open.
    expect(canvas_node(page, "Event")).to_be_visible()
    page.get_by_role("button", name="See their version").click()
    compare.get_by_role("button", name="Keep my version").click()
    expect(page.get_by_text("All changes saved")).to_be_visible()
    assert [n.label for n in version_graphs.graph_of(version_graphs.draft_of(workflow)).nodes] == ["Event"]
