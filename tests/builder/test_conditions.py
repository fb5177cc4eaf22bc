"""The condition builder in Chromium: a rule built visually, seen as an expression and as JSON, edited in each."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import Page, expect

from tests.builder.conftest import TIMEOUT_MS, assert_accessible
from tests.builder.pages import open_canvas

pytestmark = pytest.mark.django_db(transaction=True)

TAGS = {"var": "contact.tags"}
EXPECTED = {
    "and": [
        {"contains": [TAGS, "trial"]},
        {
            "or": [
                {"email_event": {"event": "clicked", "within": "P3D"}},
                {">=": [{"event_count": {"type": "email.opened", "within": "P30D"}}, 2]},
            ]
        },
    ]
}


def _workflow(workspace, rule=None):
    from workflows import services

    config = {} if rule is None else {"rule": rule}
    graph = {
        "nodes": [
            {
                "id": "start",
                "type": "trigger_event",
                "position": {"x": 0, "y": 0},
                "data": {"label": "Signed up", "config": {"event": "contact.created"}},
            },
            {
                "id": "check",
                "type": "condition",
                "position": {"x": 0, "y": 160},
                "data": {"label": "Qualified?", "config": config},
            },
        ],
        "edges": [{"id": "e1", "source": "start", "target": "check", "sourceHandle": "default"}],
    }
    return services.workflow_create(workspace=workspace, name="Qualify trials", graph=graph)


def _open_condition(page: Page, workflow):
    open_canvas(page, workflow)
    node = page.locator(".react-flow__node", has=page.locator(".flow-node-label", has_text="Qualified?"))
    node.click()
    panel = page.get_by_role("complementary", name="Settings of Qualified?")
    expect(panel.get_by_role("tablist", name="How to edit the rule")).to_be_visible()
    return node, panel


def _saved_rule(page: Page, workflow):
    """The condition's rule in the draft, as the API answers it."""
    answer = page.request.get(f"/api/v1/workflows/{workflow.id}")
    assert answer.ok, answer.text()
    nodes = answer.json()["draft"]["graph"]["nodes"]
    return next(node for node in nodes if node["id"] == "check")["data"]["config"].get("rule")


def _wait_for_saved_rule(page: Page, workflow, expected) -> None:
    """Wait (polling the API, bounded) until the autosaved draft holds ``expected``."""
    _wait_for_config(page, lambda: _saved_rule(page, workflow), expected)


def _group(panel, level_path: str):
    return panel.locator(f'.ruleGroup[data-path="{level_path}"]')


def _rule(panel, path: str):
    return panel.locator(f'.rule[data-path="{path}"]')


def test_a_rule_built_visually_is_saved_as_json_logic_and_survives_every_view(
    logged_in, screenshot, workspace
):
    page = logged_in
    workflow = _workflow(workspace)
    node, panel = _open_condition(page, workflow)
    expect(node.locator(".issue-error", has_text="rule")).to_be_visible()
    expect(panel.get_by_role("tab", name="Visual")).to_have_attribute("aria-selected", "true")
    expect(panel.get_by_text("No condition yet")).to_be_visible()
    screenshot("empty-builder")

    root = _group(panel, "[]")
    root.locator(":scope > .ruleGroup-header").get_by_role("button", name="+ Condition").click()
    first = _rule(panel, "[0]")
    first.get_by_label("Field (a path of the data").fill("contact.tags")
    first.get_by_role("combobox", name="Comparison").select_option("text_contains")
    first.get_by_label("Value", exact=True).fill("trial")

    root.locator(":scope > .ruleGroup-header").get_by_role("button", name="+ Group").click()
    inner = _group(panel, "[1]")
    inner.locator(":scope > .ruleGroup-header").get_by_role(
        "combobox", name="How the conditions of this group combine"
    ).select_option("or")
    inner_add = inner.locator(":scope > .ruleGroup-header").get_by_role("button", name="+ Condition")
    inner_add.click()
    inner_add.click()
    clicked = _rule(panel, "[1,0]")
    clicked.get_by_role("combobox", name="What to test").select_option("$email_event")
    clicked.get_by_role("combobox", name="Email event").select_option("clicked")
    clicked.get_by_label("Within (ISO duration").fill("P3D")
    opened = _rule(panel, "[1,1]")
    opened.get_by_role("combobox", name="What to test").select_option("$event_count")
    opened.get_by_role("combobox", name="Comparison").select_option(">=")
    expect(opened.get_by_label("Event type")).to_have_value("email.opened")
    expect(opened.get_by_label("Counted within")).to_have_value("P30D")
    opened.get_by_label("Count", exact=True).fill("2")

    _wait_for_saved_rule(page, workflow, EXPECTED)
    expect(node.locator(".issue-error")).to_have_count(0)  # the server's validation is satisfied
    expect(page.get_by_role("button", name="No errors", exact=False)).to_be_visible()
    screenshot("built-visually")
    assert_accessible(page)

    panel.get_by_role("tab", name="Expression").click()
    expression = panel.get_by_role("textbox", name="Expression", exact=True)
    expect(expression).to_have_value(
        '$contains(contact.tags, "trial") && (emailEvent({event: "clicked", within: "P3D"}) '
        '|| eventCount("email.opened", "P30D") >= 2)'
    )
    screenshot("expression-view")
    assert_accessible(page)

    panel.get_by_role("tab", name="Visual").click()
    expect(_rule(panel, "[0]").get_by_label("Field (a path of the data")).to_have_value("contact.tags")
    expect(_rule(panel, "[1,0]").get_by_label("Within (ISO duration")).to_have_value("P3D")
    expect(_rule(panel, "[1,1]").get_by_label("Count", exact=True)).to_have_value("2")
    assert _saved_rule(page, workflow) == EXPECTED  # looking changed nothing

    panel.get_by_role("tab", name="JSON").click()
    raw = panel.get_by_role("textbox", name="JsonLogic")
    assert json.loads(raw.input_value()) == EXPECTED
    # Text that does not parse keeps the view open (nothing typed is dropped) and says why.
    raw.fill('{"and": [')
    panel.get_by_role("tab", name="Visual").click()
    expect(panel.get_by_text("Not applied: Not valid JSON yet")).to_be_visible()
    expect(panel.get_by_role("tab", name="JSON")).to_have_attribute("aria-selected", "true")
    edited = json.loads(json.dumps(EXPECTED).replace('"trial"', '"vip"'))
    raw.fill(json.dumps(edited, indent=2))
    expect(panel.get_by_text("Applied to the rule.")).to_be_visible()
    screenshot("json-view")
    panel.get_by_role("tab", name="Visual").click()
    expect(_rule(panel, "[0]").get_by_label("Value", exact=True)).to_have_value("vip")
    _wait_for_saved_rule(page, workflow, edited)
    screenshot("visual-after-json-edit")

    # Undo and redo on the canvas: undo takes back the last edit (the JSON one), and the builder opens on the rule
    # as it is then.
    page.get_by_role("button", name="Undo").click()
    _wait_for_saved_rule(page, workflow, EXPECTED)
    node.click()
    expect(panel.get_by_role("tab", name="Visual")).to_have_attribute("aria-selected", "true")
    expect(_rule(panel, "[0]").get_by_label("Value", exact=True)).to_have_value("trial")
    page.get_by_role("button", name="Redo").click()
    _wait_for_saved_rule(page, workflow, edited)
    node.click()
    expect(_rule(panel, "[0]").get_by_label("Value", exact=True)).to_have_value("vip")


def test_an_expression_is_checked_and_a_rule_the_builder_cannot_show_is_kept_as_it_is(
    logged_in, screenshot, workspace
):
    from tests.factories import SegmentFactory

    page = logged_in
    page.set_viewport_size({"width": 1920, "height": 1080})
    segment = SegmentFactory(workspace=workspace, name="Trial users")
    arithmetic = {">": [{"+": [{"var": "contact.score"}, 1]}, 5]}
    workflow = _workflow(workspace, rule=arithmetic)
    node, panel = _open_condition(page, workflow)
    # Opened in the expression view, with the reason, and not rewritten.
    expect(panel.get_by_role("tab", name="Expression")).to_have_attribute("aria-selected", "true")
    expect(panel.get_by_role("note")).to_contain_text("arithmetic")
    expression = panel.get_by_role("textbox", name="Expression", exact=True)
    expect(expression).to_have_value("contact.score + 1 > 5")
    screenshot("unrepresentable-rule")
    assert_accessible(page)
    panel.get_by_role("tab", name="Visual").click()
    expect(panel.get_by_role("button", name="Clear this rule and build a new one here")).to_be_visible()
    assert _saved_rule(page, workflow) == arithmetic

    # A mistake is located; a fix is applied and, being representable, shows in the visual builder.
    panel.get_by_role("tab", name="Expression").click()
    expression.fill('contact.status == "subscribed" &&')
    expect(panel.get_by_text("Not applied: Line 1, column")).to_be_visible()
    screenshot("expression-error")
    panel.get_by_role("tab", name="Visual").click()
    expect(panel.get_by_text("to switch views")).to_be_visible()
    expect(panel.get_by_role("tab", name="Expression")).to_have_attribute("aria-selected", "true")
    # Switching at once, before the pause after typing: what was typed is compiled and applied first.
    expression.fill(f'contact.status == "subscribed" && !inSegment("{segment.id}")')
    panel.get_by_role("tab", name="Visual").click()
    expect(panel.get_by_role("tab", name="Visual")).to_have_attribute("aria-selected", "true")
    expect(panel.get_by_role("note")).to_have_count(0)
    expect(_rule(panel, "[0]").get_by_label("Value", exact=True)).to_have_value("subscribed")
    expect(
        _group(panel, "[1]").locator(":scope > .ruleGroup-header").get_by_role("checkbox", name="NOT")
    ).to_be_checked()
    expect(_rule(panel, "[1,0]").get_by_label("Segment id")).to_have_value(str(segment.id))
    expect(_rule(panel, "[1,0]").get_by_text("“Trial users”")).to_be_visible()
    _wait_for_saved_rule(
        page,
        workflow,
        {
            "and": [
                {"==": [{"var": "contact.status"}, "subscribed"]},
                {"!": [{"in_segment": [str(segment.id)]}]},
            ]
        },
    )
    expect(node.locator(".issue-error")).to_have_count(0)
    screenshot("expression-applied-visual")
    assert_accessible(page)


def test_every_rule_property_gets_the_builder_switch_cases_and_an_optional_filter(
    logged_in, screenshot, workspace
):
    from workflows import services

    page = logged_in
    graph = {
        "nodes": [
            {
                "id": "start",
                "type": "trigger_event",
                "position": {"x": 0, "y": 0},
                "data": {"label": "Form sent", "config": {"event": "form.submitted"}},
            },
            {
                "id": "route",
                "type": "switch",
                "position": {"x": 0, "y": 160},
                "data": {
                    "label": "Route by plan",
                    "config": {
                        "cases": [
                            {
                                "id": "pro",
                                "label": "Pro",
                                "rule": {"==": [{"var": "contact.fields.plan"}, "pro"]},
                            },
                            {
                                "id": "free",
                                "label": "Free",
                                "rule": {"==": [{"var": "contact.fields.plan"}, "free"]},
                            },
                        ]
                    },
                },
            },
        ],
        "edges": [{"id": "e1", "source": "start", "target": "route", "sourceHandle": "default"}],
    }
    workflow = services.workflow_create(workspace=workspace, name="Routing", graph=graph)
    open_canvas(page, workflow)

    def node(label):
        return page.locator(".react-flow__node", has=page.locator(".flow-node-label", has_text=label))

    node("Route by plan").click()
    panel = page.get_by_role("complementary", name="Settings of Route by plan")
    expect(panel.get_by_role("tablist", name="How to edit the rule")).to_have_count(2)
    second = panel.locator(".rule-field").nth(1)
    value = second.locator('.rule[data-path="[0]"]').get_by_label("Value", exact=True)
    expect(value).to_have_value("free")
    value.fill("starter")
    screenshot("switch-cases")
    assert_accessible(page)

    def saved_config(node_id):
        nodes = page.request.get(f"/api/v1/workflows/{workflow.id}").json()["draft"]["graph"]["nodes"]
        return next(item for item in nodes if item["id"] == node_id)["data"]["config"]

    _wait_for_config(page, lambda: saved_config("route")["cases"][1]["rule"]["=="][1], "starter")
    cases = saved_config("route")["cases"]
    assert [case["rule"] for case in cases] == [
        {"==": [{"var": "contact.fields.plan"}, "pro"]},
        {"==": [{"var": "contact.fields.plan"}, "starter"]},
    ]

    # An optional filter: built, then emptied again, is left out of the config (no filter), not saved as {}.
    node("Form sent").click()
    panel = page.get_by_role("complementary", name="Settings of Form sent")
    root = panel.locator('.ruleGroup[data-path="[]"]')
    root.locator(":scope > .ruleGroup-header").get_by_role("button", name="+ Condition").click()
    panel.locator('.rule[data-path="[0]"]').get_by_label("Field (a path of the data").fill(
        "event.properties.form"
    )
    row = panel.locator('.rule[data-path="[0]"]')
    row.get_by_role("combobox", name="Comparison").select_option("one_of")
    # Typed key by key: the comma stays in the field while the list follows it.
    row.get_by_label("Values, separated by commas").press_sequentially("demo, trial")
    expect(row.get_by_label("Values, separated by commas")).to_have_value("demo, trial")
    _wait_for_config(
        page,
        lambda: saved_config("start").get("filter"),
        {"in": [{"var": "event.properties.form"}, ["demo", "trial"]]},
    )
    panel.locator('.rule[data-path="[0]"]').get_by_role("button", name="Remove").click()
    _wait_for_config(page, lambda: saved_config("start").get("filter"), None)


def _wait_for_config(page: Page, read, expected) -> None:
    """Wait (polling the API, bounded) until ``read()`` answers ``expected``."""
    expect(page.get_by_text("All changes saved")).to_be_visible()
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    found = read()
    while found != expected and time.monotonic() < deadline:
        page.wait_for_timeout(200)  # polling the API until the autosave lands
        found = read()
    assert found == expected
