"""Test mode in Chromium: script a contact and their events, run the workflow, read the path it takes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible
from tests.builder.test_browser import canvas_node, open_canvas

pytestmark = pytest.mark.django_db(transaction=True)


def _node(id_: str, type_: str, label: str, config: dict, x: int, y: int) -> dict:
    return {"id": id_, "type": type_, "position": {"x": x, "y": y}, "data": {"label": label, "config": config}}


def _opens_then_decides(workspace):
    """trigger → send email → wait for email.opened → condition (tagged trial?) → a tag per branch."""
    from tests.factories import EmailTemplateFactory
    from workflows import services

    template = EmailTemplateFactory(workspace=workspace, name="Welcome", subject="Welcome, {{ contact.first_name }}",
                                    html="<p>Hi {{ contact.first_name }}, your plan is {{ contact.fields.plan }}.</p>")
    graph = {
        "nodes": [
            _node("start", "trigger_manual", "Enrolled", {}, 0, 0),
            _node("mail", "send_email", "Send welcome", {"template_id": str(template.pk)}, 0, 130),
            _node("opened", "wait_for_event", "Wait for open", {"event": "email.opened", "timeout": "P3D"}, 0, 260),
            _node("trial", "condition", "Is on trial",
                  {"rule": {"in": ["trial", {"var": "contact.tags"}]}}, -150, 400),
            _node("hot", "add_tag", "Tag engaged", {"tag": "engaged"}, -300, 540),
            _node("cold", "add_tag", "Tag cold", {"tag": "cold"}, 0, 540),
            _node("late", "add_tag", "Tag no open", {"tag": "no-open"}, 250, 400),
        ],
        "edges": [
            {"id": "e1", "source": "start", "target": "mail", "sourceHandle": "default"},
            {"id": "e2", "source": "mail", "target": "opened", "sourceHandle": "default"},
            {"id": "e3", "source": "opened", "target": "trial", "sourceHandle": "event"},
            {"id": "e4", "source": "opened", "target": "late", "sourceHandle": "timeout"},
            {"id": "e5", "source": "trial", "target": "hot", "sourceHandle": "yes"},
            {"id": "e6", "source": "trial", "target": "cold", "sourceHandle": "no"},
        ],
    }
    return services.workflow_create(workspace=workspace, name="Onboarding test", graph=graph)


def _panel(page: Page):
    return page.get_by_role("complementary", name="Test mode")


def test_a_scripted_open_shows_the_path_the_decision_and_the_email(logged_in, screenshot, workspace):
    page = logged_in
    workflow = _opens_then_decides(workspace)
    open_canvas(page, workflow)
    page.get_by_role("button", name="Test", exact=True).click()
    panel = _panel(page)
    expect(panel.get_by_role("heading", name="Test mode")).to_be_visible()
    screenshot("test-mode-open")
    assert_accessible(page)

    panel.get_by_label("Tags (separated by commas)").fill("trial")
    panel.get_by_role("button", name="+ Add a field").click()
    panel.get_by_label("Name of field 1").fill("plan")
    panel.get_by_label("Value of field 1").fill("pro")
    panel.get_by_label("Start (your time)").fill("2026-11-23T08:00")
    panel.get_by_role("button", name="+ Opens the email").click()
    expect(panel.get_by_label("How long after the start Event 1 happens")).to_have_value("1 hour")
    panel.get_by_label("How long after the start Event 1 happens").fill("2h")
    screenshot("test-mode-scripted")
    panel.get_by_role("button", name="Run the test").click()

    expect(panel.get_by_role("status").filter(has_text="Completed")).to_be_visible()
    # The path on the canvas: five steps visited and numbered, the other branches dimmed, four edges taken.
    for label in ("Enrolled", "Send welcome", "Wait for open", "Is on trial", "Tag engaged"):
        expect(canvas_node(page, label)).to_have_class(re.compile(r"\btest-visited\b"))
    for label in ("Tag cold", "Tag no open"):
        expect(canvas_node(page, label)).to_have_class(re.compile(r"\btest-dimmed\b"))
    expect(page.locator(".react-flow__edge.test-taken")).to_have_count(4)
    expect(page.locator(".react-flow__edge.test-dimmed")).to_have_count(2)
    expect(page.get_by_test_id("test-badge-opened")).to_contain_text("3")
    expect(page.get_by_test_id("test-badge-opened").locator("time")).to_have_attribute(
        "datetime", re.compile(r"^20\d\d-"))
    expect(page.get_by_test_id("test-badge-hot")).to_contain_text("5")

    timeline = panel.get_by_role("list", name="Steps of the run")
    expect(timeline.get_by_text(re.compile(r"^Waits for email\.opened 3 days, until "))).to_be_visible()
    expect(timeline.get_by_text(re.compile(r"email\.opened arrived at .*: took “event”"))).to_be_visible()
    expect(timeline.get_by_text(re.compile(r"^The rule held \(its value: true\) for .*: took “yes”\.$"))).to_be_visible()
    expect(timeline.get_by_text('It read: contact.tags was ["trial"].')).to_be_visible()
    email = page.frame_locator("iframe.test-email-frame")
    expect(email.locator("body")).to_contain_text("Hi Ada, your plan is pro.")
    expect(panel.get_by_text("Welcome, Ada", exact=True)).to_be_visible()
    expect(panel.get_by_role("list", name="Actions the run would take")).to_contain_text("Added tag 'engaged'")
    screenshot("test-mode-result")
    assert_accessible(page)

    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("test-mode-result-1920")

    # An edit that could change the path says the result is of the workflow as it was.
    canvas_node(page, "Tag cold").click()
    page.keyboard.press("Delete")
    expect(canvas_node(page, "Tag cold")).to_have_count(0)
    expect(panel.get_by_role("status").filter(has_text="The workflow changed since this run")).to_be_visible()

    panel.get_by_role("button", name="Leave test mode").click()
    expect(_panel(page)).to_have_count(0)
    expect(page.locator(".react-flow__node.test-visited, .react-flow__node.test-dimmed")).to_have_count(0)
    expect(page.locator(".react-flow__edge.test-taken")).to_have_count(0)
    expect(page.locator(".test-badge")).to_have_count(0)


def test_problems_are_said_beside_their_fields_and_an_existing_contact_fills_the_form(logged_in, screenshot,
                                                                                     workspace):
    from tests.factories import ContactFactory

    page = logged_in
    ContactFactory(workspace=workspace, email="grace@example.com", first_name="Grace", tags=["vip"],
                   fields={"plan": "team"})
    from workflows import services

    workflow = _opens_then_decides(workspace)
    services.workflow_publish(workflow=workflow)
    open_canvas(page, workflow)
    page.get_by_role("button", name="Test", exact=True).click()
    panel = _panel(page)
    panel.get_by_label("Version to test").select_option(label="Published version 1")

    panel.get_by_role("button", name="Pick an existing one").click()
    panel.get_by_label("Search contacts by email or name").fill("grace")
    panel.get_by_role("button", name="Use grace@example.com (Grace Lovelace)").click()
    expect(panel.get_by_label("Email")).to_have_value("grace@example.com")
    expect(panel.get_by_label("Tags (separated by commas)")).to_have_value("vip")
    expect(panel.get_by_label("Value of field 1")).to_have_value("team")

    # Caught in the browser: a duration it cannot read.
    panel.get_by_role("button", name="+ Replies").click()
    panel.get_by_label("How long after the start Event 1 happens").fill("soon")
    panel.get_by_role("button", name="Run the test").click()
    expect(panel.get_by_text(re.compile("“soon” is not a duration"))).to_be_visible()
    expect(panel.get_by_label("How long after the start Event 1 happens")).to_have_attribute("aria-invalid", "true")

    # Refused by the server (400, details per field): said beside the field it names.
    panel.get_by_label("How long after the start Event 1 happens").fill("1 day")
    panel.get_by_label("Stop after").fill("4000 days")
    panel.get_by_role("button", name="Run the test").click()
    expect(panel.get_by_role("alert").filter(has_text="not valid")).to_be_visible()
    expect(panel.locator("#problem-until")).to_contain_text("P3660D")
    expect(panel.get_by_label("Stop after")).to_have_attribute("aria-invalid", "true")
    screenshot("test-mode-problems")
    assert_accessible(page)

    panel.get_by_label("Stop after").fill("10 days")
    with page.expect_request(lambda sent: sent.url.endswith("/simulate")) as simulated:
        panel.get_by_role("button", name="Run the test").click()
    assert simulated.value.post_data_json["version"] == "1"
    assert simulated.value.post_data_json["contact"]["fields"] == {"plan": "team"}
    # Version 1 runs for Grace: the reply is not an open, so the wait times out after three days.
    expect(panel.get_by_role("status").filter(has_text="Completed")).to_be_visible()
    expect(canvas_node(page, "Tag no open")).to_have_class(re.compile(r"\btest-visited\b"))
    expect(panel.get_by_text(re.compile(r"^No awaited event by .*: took “timeout”\.$"))).to_be_visible()
    screenshot("test-mode-timeout")


def test_leaving_test_mode_returns_a_list_workflow_to_the_list_without_choosing_the_graph(logged_in, screenshot,
                                                                                         workspace):
    from tests.builder.pages import open_canvas
    from workflows import services

    page = logged_in
    workflow = services.workflow_create(workspace=workspace, name="Tagging", graph={"nodes": [
        _node("t", "trigger_manual", "Enrolled", {}, 0, 0),
        _node("tag", "add_tag", "Tag trial", {"tag": "trial"}, 0, 150),
    ], "edges": [{"id": "e1", "source": "t", "target": "tag", "sourceHandle": "default"}]})
    open_canvas(page, workflow, mode="simple")

    page.get_by_role("button", name="Test", exact=True).click()
    expect(_panel(page)).to_be_visible()
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()  # the run is painted on the graph
    screenshot("test-mode-from-a-list")
    _panel(page).get_by_role("button", name="Leave test mode").click()

    expect(_panel(page)).to_have_count(0)
    expect(page.locator(".simple-list .step-label")).to_have_text(["Enrolled", "Tag trial"])
    expect(page.get_by_role("button", name="Simple", exact=True)).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(f"() => localStorage.getItem('penguinflow.builder.editor-mode.{workflow.id}')") is None
    page.reload()
    expect(page.locator(".simple-list .step-label")).to_have_text(["Enrolled", "Tag trial"])
