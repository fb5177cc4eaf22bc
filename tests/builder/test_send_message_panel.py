"""send_message in the builder's panel, in a real Chromium: its form comes from its config schema, the email's
fields from send_email's own (template picked by name), and what is missing is said before publishing."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import open_canvas
from tests.builder.test_panel import chain, node, open_panel


def test_the_send_message_panel_edits_channels_and_the_email_from_the_schemas(
    logged_in, screenshot, workspace
):
    from tests.factories import EmailTemplateFactory
    from workflows import services

    page = logged_in
    EmailTemplateFactory(workspace=workspace, name="Welcome email")
    workflow = services.workflow_create(
        workspace=workspace,
        name="Fallback",
        graph=chain(
            node("start", "trigger_manual", "Start", {}, 0),
            node("msg", "send_message", "Reach them", {"channels": ["preferred", "email"], "email": {}}, 150),
        ),
    )
    open_canvas(page, workflow)
    panel = open_panel(page, "Reach them")
    # rjsf's selects hold option indexes as values: the chosen option is what the reader sees.
    expect(panel.get_by_role("combobox", name="Channels-1*").locator("option:checked")).to_have_text(
        "preferred"
    )
    expect(panel.get_by_role("combobox", name="Channels-2*").locator("option:checked")).to_have_text("email")
    # One Transactional: the step's, which decides for every channel.
    expect(panel.get_by_role("checkbox", name="Transactional")).to_have_count(1)
    box = panel.get_by_role("combobox", name="Email template (required)")
    box.fill("welc")
    expect(panel.get_by_role("listbox").get_by_role("option")).to_have_count(1)
    box.press("ArrowDown")
    box.press("Enter")
    expect(panel.locator(".chosen-object", has_text="Welcome email")).to_be_visible()
    expect(panel.get_by_label("Fallback after")).to_be_visible()
    screenshot("send-message-panel")
    assert_accessible(page)
