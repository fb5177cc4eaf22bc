"""The builder's whole journey in one run, in the order a marketer takes it: build, check, keep, publish, test,
look back, delete. The other files test each screen in depth; this one proves they work together on one workflow.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import canvas_node, connect, drop_from_palette, show_graph

pytestmark = pytest.mark.django_db(transaction=True)


def test_build_check_publish_test_compare_and_delete_one_workflow(logged_in, screenshot, workspace):
    from tests.factories import EmailTemplateFactory
    from workflows.models import Workflow

    page = logged_in
    template = EmailTemplateFactory(workspace=workspace, name="Trial welcome", subject="Welcome {{ contact.email }}")

    page.get_by_role("button", name="New workflow").click()
    page.get_by_role("dialog").get_by_label("Name", exact=True).fill("Trial journey")
    page.get_by_role("button", name="Create and open").click()
    expect(page.get_by_role("heading", name="Trial journey")).to_be_visible()
    show_graph(page)

    # Three steps from the palette, joined.
    drop_from_palette(page, "Event", 300, 40)
    drop_from_palette(page, "Send email", 300, 170)
    drop_from_palette(page, "Condition", 300, 300)
    trigger, email, condition = (canvas_node(page, label) for label in ("Event", "Send email", "Condition"))
    for step in (trigger, email, condition):
        expect(step).to_be_visible()
    connect(page, trigger, email)
    connect(page, email, condition)
    screenshot("three-steps")
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    expect(page.get_by_role("button", name=re.compile(r"^\d+ errors?"))).to_be_visible()
    screenshot("three-steps-with-errors")

    # Each configured in the side panel; the condition in the visual builder.
    trigger.click()
    page.locator("#root_event").fill("contact.created")
    email.click()
    page.get_by_role("combobox", name="Email template (required)").fill("Trial")
    page.get_by_role("option", name=re.compile(template.name)).click()
    condition.click()
    panel = page.get_by_role("complementary", name="Settings of Condition")
    root = panel.locator('.ruleGroup[data-path="[]"]')
    root.locator(":scope > .ruleGroup-header").get_by_role("button", name="+ Condition").click()
    row = panel.locator('.rule[data-path="[0]"]')
    row.get_by_label("Field (a path of the data").fill("contact.tags")
    row.get_by_role("combobox", name="Comparison").select_option("text_contains")
    row.get_by_label("Value", exact=True).fill("trial")
    screenshot("condition-built-visually")
    assert_accessible(page)

    # The server's validation clears, and the draft is saved.
    expect(page.get_by_role("button", name=re.compile("^No errors"))).to_be_visible()
    expect(page.get_by_text("All changes saved")).to_be_visible()

    # Undo and redo: a deleted step comes back with its connection, and goes again.
    condition.click()
    page.keyboard.press("Delete")
    expect(page.locator(".react-flow__node")).to_have_count(2)
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    page.get_by_role("button", name="Redo").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.get_by_text("All changes saved")).to_be_visible()

    # Reloaded, the workflow is as it was left.
    page.reload()
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    expect(page.get_by_role("button", name=re.compile("^No errors"))).to_be_visible()
    saved = Workflow.objects.get(name="Trial journey").versions.get(number=None)
    rules = [step.config["rule"] for step in saved.steps.all() if step.type == "condition"]
    assert rules == [{"contains": [{"var": "contact.tags"}, "trial"]}]

    # Two steps copied and pasted: two more, then undone as one step.
    canvas_node(page, "Event").click()
    canvas_node(page, "Send email").click(modifiers=["Control"])
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Paste").click()
    expect(page.locator(".react-flow__node")).to_have_count(5)
    screenshot("pasted-two-steps")
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.get_by_role("button", name=re.compile("^No errors"))).to_be_visible()

    # Published with its summary.
    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Published version 1.")).to_be_visible()

    # Test mode: a contact tagged "trial" goes through the email and the condition's "yes".
    page.get_by_role("button", name="Test", exact=True).click()
    tester = page.get_by_role("complementary", name="Test mode")
    tester.get_by_label("Email").fill("ada@example.com")
    tester.get_by_label("Tags (separated by commas)").fill("trial")
    tester.get_by_role("button", name="Run the test").click()
    expect(tester.get_by_role("status").filter(has_text="Completed")).to_be_visible()
    for label in ("Event", "Send email", "Condition"):
        expect(canvas_node(page, label)).to_have_class(re.compile(r"\btest-visited\b"))
    expect(page.frame_locator("iframe.test-email-frame").locator("body")).to_be_visible()
    expect(tester.get_by_text("Welcome ada@example.com", exact=True)).to_be_visible()
    screenshot("test-mode-path")
    tester.get_by_role("button", name="Leave test mode").click()

    # The draft moves on; version 1 stays as published, read-only, and the two compare.
    canvas_node(page, "Condition").click()
    page.get_by_label("Name on the canvas").fill("Still on trial?")
    expect(page.get_by_text("All changes saved")).to_be_visible()
    page.get_by_role("button", name="History").click()
    page.get_by_role("link", name="Open version 1, read-only").click()
    expect(page.get_by_text("Version 1, read-only", exact=True)).to_be_visible()
    version = page.get_by_role("region", name="Version 1, read-only")
    expect(version.locator(".react-flow__node")).to_have_count(3)
    expect(version.locator(".react-flow__node.draggable, .react-flow__node.selectable")).to_have_count(0)
    screenshot("version-1-read-only")
    page.get_by_role("link", name="Compare with the draft").click()
    changes = page.get_by_role("region", name="Changes")
    expect(changes).to_contain_text("1 step changed")
    differences = page.get_by_role("region", name=re.compile("^Differences"))
    expect(differences.locator(".react-flow__node.diff-changed")).to_have_count(1)
    expect(differences.locator(".react-flow__node.diff-changed")).to_contain_text("Still on trial?")
    screenshot("diff-version-1-against-the-draft")
    assert_accessible(page)

    # Deleted, after a confirmation that says what goes.
    page.goto("/builder/")
    page.locator("tr", has_text="Trial journey").get_by_role("button", name="Delete Trial journey").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("1 published version")
    screenshot("delete-confirmation")
    dialog.get_by_role("button", name="Delete for good").click()
    expect(page.get_by_text("No workflows yet")).to_be_visible()
    assert not Workflow.objects.filter(name="Trial journey").exists()
