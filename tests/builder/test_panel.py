"""The side panel in Chromium: editors chosen by the node types' schema annotations (pickers by name, durations in
words, the delivery window, Liquid previews for a contact), saved as the API stores them, and following undo."""

from __future__ import annotations

import re
import uuid
from itertools import pairwise

import pytest
from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import open_canvas

pytestmark = pytest.mark.django_db(transaction=True)


def node(node_id: str, type_name: str, label: str, config: dict, y: int) -> dict:
    return {"id": node_id, "type": type_name, "position": {"x": 0, "y": y},
            "data": {"label": label, "config": config}}


def chain(*nodes: dict) -> dict:
    edges = [{"id": f"e{index}", "source": a["id"], "target": b["id"], "sourceHandle": "default"}
             for index, (a, b) in enumerate(pairwise(nodes))]
    return {"nodes": list(nodes), "edges": edges}


def open_panel(page: Page, label: str):
    # From the keyboard (Enter selects the focused step): with the panel open, a step may sit under the minimap.
    step = page.locator(".react-flow__node", has=page.locator(".flow-node-label", has_text=label))
    step.focus()
    step.press("Enter")
    panel = page.get_by_role("complementary", name=f"Settings of {label}")
    expect(panel).to_be_visible()
    return panel


def pick(panel, combobox: str, typed: str, option: str) -> None:
    """Search a picker and choose an option by its visible name."""
    box = panel.get_by_role("combobox", name=combobox)
    box.fill(typed)
    panel.get_by_role("option", name=re.compile(re.escape(option))).click()


def saved_config(workflow, node_id: str) -> dict:
    from workflows import version_graphs
    from workflows.engine.graph import thaw

    graph = version_graphs.graph_of(version_graphs.draft_of(workflow))
    found = next(step for step in graph.nodes if step.id == node_id)
    return thaw(found.config)


def saved(page: Page) -> None:
    expect(page.get_by_text("All changes saved")).to_be_visible()


def config_when(workflow, node_id: str, holds, deadline_s: float = 30) -> dict:
    """The node's saved config once `holds` is true of it (the autosave lands a moment after the edit), or as it
    is at the deadline, for the assertion to show."""
    import time

    end = time.monotonic() + deadline_s
    config = saved_config(workflow, node_id)
    while not holds(config) and time.monotonic() < end:
        time.sleep(0.1)  # polling a condition until a deadline, not a fixed wait
        config = saved_config(workflow, node_id)
    return config


def test_panel_edits_by_annotation_and_saves_what_the_api_stores(logged_in, screenshot, workspace):
    from tests.factories import ContactFactory, EmailTemplateFactory
    from workflows import services

    page = logged_in
    template = EmailTemplateFactory(workspace=workspace, name="Welcome email", subject="Hi {{ contact.first_name }}")
    EmailTemplateFactory(workspace=workspace, name="Renewal reminder")
    ContactFactory(workspace=workspace, first_name="Ada", last_name="Lovelace", email="ada@example.com")
    workflow = services.workflow_create(workspace=workspace, name="Panel", graph=chain(
        node("start", "trigger_manual", "Start", {}, 0),
        node("mail", "send_email", "Send welcome", {}, 150),
        node("wait", "delay", "Wait a bit", {}, 300),
        node("tell", "notify", "Tell sales", {"to": "workspace_admins", "subject": "New lead"}, 450),
    ))
    open_canvas(page, workflow)

    # A template picked by its name; the panel names it and never shows its id.
    panel = open_panel(page, "Send welcome")
    box = panel.get_by_role("combobox", name="Email template (required)")
    box.fill("welc")
    expect(panel.get_by_role("listbox")).to_be_visible()
    expect(panel.get_by_role("listbox").get_by_role("option")).to_have_count(1)
    screenshot("template-picker-open")
    assert_accessible(page)
    box.press("ArrowDown")
    box.press("Enter")
    expect(panel.locator(".chosen-object", has_text="Welcome email")).to_be_visible()
    expect(panel).not_to_contain_text(str(template.id))

    # The contact previews are for, and the template's subject rendered for them.
    pick(panel, "Preview for (a contact)", "Ada", "Ada Lovelace")
    expect(panel.get_by_text("Subject for Ada Lovelace:")).to_be_visible()
    expect(panel.locator(".liquid-rendered", has_text="Hi Ada")).to_be_visible()

    # The window is off until switched on; on, it starts at Monday to Friday and can be set to every day and back.
    expect(panel.get_by_text("Off: the step runs as soon as it is reached")).to_be_visible()
    panel.get_by_label("Only send inside a window").check()
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        expect(panel.get_by_label(day, exact=True)).to_be_checked()
    expect(panel.get_by_label("Sat", exact=True)).not_to_be_checked()
    panel.get_by_role("button", name="Every day").click()
    expect(panel.get_by_label("Sun", exact=True)).to_be_checked()
    panel.get_by_role("button", name="Monday to Friday").click()
    expect(panel.get_by_label("Sun", exact=True)).not_to_be_checked()
    panel.get_by_label("One time zone for everyone").check()
    panel.get_by_label("Time zone (type to search)").fill("Europe/Paris")
    panel.get_by_label("Until", exact=True).fill("18:30")
    screenshot("window-on")
    assert_accessible(page)

    # A duration typed in words, saved as ISO 8601 and said back in words; a mistake is explained.
    panel = open_panel(page, "Wait a bit")
    duration = panel.get_by_label("Duration")
    duration.fill("2 months")
    expect(panel.get_by_text("Months and years vary in length")).to_be_visible()
    duration.fill("2 days")
    expect(panel.get_by_text("Saved as P2D (2 days).")).to_be_visible()
    screenshot("duration")
    assert_accessible(page)

    # A Liquid subject previewed for the contact picked above, its mistakes said in words.
    panel = open_panel(page, "Tell sales")
    expect(panel.locator(".chosen-object", has_text="All workspace admins")).to_be_visible()
    subject = panel.get_by_label("Subject")
    subject.fill("Hot lead: {{ contact.first_name ")
    expect(panel.get_by_text("The Liquid cannot be rendered")).to_be_visible()
    subject.fill("Hot lead: {{ contact.first_name }} {{ contact.last_name }}")
    expect(panel.locator(".liquid-rendered", has_text="Hot lead: Ada Lovelace")).to_be_visible()
    screenshot("liquid-preview")
    assert_accessible(page)
    saved(page)

    window = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:30",
              "timezone": "Europe/Paris", "on_miss": "wait"}
    mail = config_when(workflow, "mail", lambda config: config.get("window") == window)
    assert (mail["template_id"], mail["window"]) == (str(template.id), window)
    assert config_when(workflow, "wait", lambda config: config == {"duration": "P2D"}) == {"duration": "P2D"}
    subject = "Hot lead: {{ contact.first_name }} {{ contact.last_name }}"
    assert config_when(workflow, "tell", lambda config: config.get("subject") == subject)["subject"] == subject

    # After a reload, the panel shows what was saved, in words and by name.
    page.reload()
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()
    panel = open_panel(page, "Wait a bit")
    expect(panel.get_by_label("Duration")).to_have_value("2 days")
    panel = open_panel(page, "Send welcome")
    expect(panel.locator(".chosen-object", has_text="Welcome email")).to_be_visible()
    expect(panel.get_by_label("Only send inside a window")).to_be_checked()
    # Switched off again, the window is left out of the config (null on the server).
    panel.get_by_label("Only send inside a window").uncheck()
    assert "window" not in config_when(workflow, "mail", lambda config: "window" not in config)


def test_undo_and_redo_refresh_every_editor(logged_in, screenshot, workspace):
    from workflows import services

    page = logged_in
    workflow = services.workflow_create(workspace=workspace, name="Undo", graph=chain(
        node("start", "trigger_manual", "Start", {}, 0),
        node("wait", "delay", "Wait a bit", {"duration": "P2D"}, 150),
        node("hook", "webhook", "Call CRM", {"url": "https://crm.example.com/h", "headers": {"X-Plan": "gold"}}, 300),
        node("tell", "notify", "Tell sales", {"to": "workspace_admins", "subject": "First"}, 450),
    ))
    open_canvas(page, workflow)
    undo = page.get_by_role("button", name="Undo")
    redo = page.get_by_role("button", name="Redo")

    panel = open_panel(page, "Call CRM")
    headers = panel.get_by_label("Headers (JSON)")
    expect(headers).to_have_value(re.compile(r'"X-Plan": "gold"'))
    headers.fill('{"X-Plan": "silver"}')
    saved(page)
    undo.click()
    expect(headers).to_have_value(re.compile(r'"X-Plan": "gold"'))
    redo.click()
    expect(headers).to_have_value(re.compile(r'"X-Plan": "silver"'))
    screenshot("json-after-redo")

    panel = open_panel(page, "Wait a bit")
    duration = panel.get_by_label("Duration")
    expect(duration).to_have_value("2 days")
    duration.fill("3 hours")
    expect(panel.get_by_text("Saved as PT3H (3 hours).")).to_be_visible()
    undo.click()
    expect(duration).to_have_value("2 days")
    expect(panel.get_by_text("Saved as P2D (2 days).")).to_be_visible()

    panel = open_panel(page, "Tell sales")
    subject = panel.get_by_label("Subject")
    subject.fill("Second")
    undo.click()
    expect(subject).to_have_value("First")
    # Undo brought the config back, and nothing the form filled in on its own was saved as a new edit: redo works.
    expect(redo).to_be_enabled()
    redo.click()
    expect(subject).to_have_value("Second")
    saved(page)
    screenshot("undo-redo")


def test_missing_objects_are_said_in_words_and_people_are_picked_by_name(logged_in, screenshot, workspace, marketer,
                                                                          page):
    from workflows import services

    page.set_viewport_size({"width": 1920, "height": 1080})
    marketer.first_name, marketer.last_name, marketer.email = "Mary", "Marketer", "mary@acme.test"
    marketer.save()
    workflow = services.workflow_create(workspace=workspace, name="Missing", graph=chain(
        node("start", "trigger_manual", "Start", {}, 0),
        node("mail", "send_email", "Send gone", {"template_id": str(uuid.uuid4())}, 150),
        node("task", "create_task", "Call them", {"title": "Call {{ contact.first_name }}",
                                                  "assignee_email": "left@acme.test"}, 300),
        node("tell", "notify", "Tell people", {"to": ["mary@acme.test"], "subject": "Hi"}, 450),
    ))
    open_canvas(page, workflow)

    panel = open_panel(page, "Send gone")
    expect(panel.locator(".chosen").get_by_text("The email template chosen here no longer exists")).to_be_visible()
    # Values the config leaves out show the server's defaults (tracking is on unless switched off).
    expect(panel.get_by_label("Track opens")).to_be_checked()
    screenshot("deleted-template")
    assert_accessible(page)

    panel = open_panel(page, "Call them")
    expect(panel.locator(".chosen").get_by_text("left@acme.test is not a member of this workspace")).to_be_visible()
    pick(panel, "Assignee", "mary", "Mary Marketer")
    expect(panel.locator(".chosen-object", has_text="Mary Marketer")).to_be_visible()
    expect(panel.get_by_text("Pick a contact under “Preview for”")).to_be_visible()

    panel = open_panel(page, "Tell people")
    expect(panel.locator(".chosen-object", has_text="Mary Marketer")).to_be_visible()
    pick(panel, "To (required)", "admins", "All workspace admins")
    expect(panel.locator(".chosen-object", has_text="All workspace admins")).to_be_visible()
    screenshot("people-1920")
    assert_accessible(page)
    saved(page)
    task = config_when(workflow, "task", lambda config: config.get("assignee_email") == "mary@acme.test")
    assert task["assignee_email"] == "mary@acme.test"
    assert config_when(workflow, "tell", lambda config: config["to"] == "workspace_admins")["to"] == "workspace_admins"


def test_liquid_values_offsets_and_bodies(logged_in, screenshot, workspace):
    from tests.factories import ContactFactory
    from workflows import services

    page = logged_in
    ContactFactory(workspace=workspace, first_name="Grace", last_name="Hopper", email="grace@example.com")
    workflow = services.workflow_create(workspace=workspace, name="Texts", graph=chain(
        node("start", "trigger_date_field", "Renewal", {"field": "renewal_date"}, 0),
        node("set", "update_field", "Set nickname", {"field": "nickname", "op": "set", "value": "x"}, 150),
        node("hook", "webhook", "Call CRM", {"url": "https://crm.example.com/h"}, 300),
    ))
    open_canvas(page, workflow)

    # An offset before the date, typed in words.
    panel = open_panel(page, "Renewal")
    offset = panel.get_by_label("Offset")
    expect(offset).to_have_value("0 minutes")  # the server's default, shown while the config leaves it out
    offset.fill("3 days before")
    expect(panel.get_by_text("Saved as -P3D (3 days before).")).to_be_visible()

    # A field's value in Liquid, typed as plain text and previewed for a contact.
    panel = open_panel(page, "Set nickname")
    pick(panel, "Preview for (a contact)", "Grace", "Grace Hopper")
    value = panel.get_by_label("Value (a text, or JSON)")
    value.fill("{{ contact.first_name | upcase }}-vip")
    expect(panel.locator(".liquid-rendered", has_text="GRACE-vip")).to_be_visible()

    # A webhook's URL and body, each text of the body rendered.
    panel = open_panel(page, "Call CRM")
    expect(panel.get_by_label("Method").locator("option:checked")).to_have_text("POST")
    panel.get_by_label("Url").fill("https://crm.example.com/{{ contact.email }}")
    expect(panel.locator(".liquid-rendered", has_text="https://crm.example.com/grace@example.com")).to_be_visible()
    panel.get_by_label("Body (a text, or JSON)").fill('{"name": "{{ contact.last_name }}", "n": 1}')
    expect(panel.locator(".liquid-rendered", has_text='"name": "Hopper"')).to_be_visible()
    screenshot("webhook-previews")
    assert_accessible(page)
    saved(page)

    assert config_when(workflow, "start", lambda config: config.get("offset") == "-P3D")["offset"] == "-P3D"
    nickname = config_when(workflow, "set", lambda config: config.get("value") != "x")
    assert nickname["value"] == "{{ contact.first_name | upcase }}-vip"
    body = config_when(workflow, "hook", lambda config: "body" in config)["body"]
    assert body == {"name": "{{ contact.last_name }}", "n": 1}
