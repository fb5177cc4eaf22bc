"""The social_post step's panel in Chromium: the account is picked by name among the workspace's social accounts
only (a CRM connector is not offered), each said with its network, and saved as its id."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import open_canvas
from tests.builder.test_panel import chain, config_when, node, open_panel

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_account_is_picked_among_the_social_accounts_only(logged_in, screenshot, workspace):
    from connectors.services import connector_create
    from workflows import services

    page = logged_in
    page_account = connector_create(workspace=workspace, kind="linkedin", name="Brand page", secret="t",
                                    settings={"organization_id": "1"})
    connector_create(workspace=workspace, kind="x", name="Brand on X", secret="t")
    connector_create(workspace=workspace, kind="hubspot", name="Brand CRM", secret="t")
    workflow = services.workflow_create(workspace=workspace, name="Social", graph=chain(
        node("start", "trigger_manual", "Start", {}, 0),
        node("post", "social_post", "Announce", {"text": "Hello {{ contact.first_name }}"}, 150),
    ))
    open_canvas(page, workflow)

    panel = open_panel(page, "Announce")
    box = panel.get_by_role("combobox", name="Social account (required)")
    box.fill("brand")
    options = panel.get_by_role("listbox").get_by_role("option")
    expect(options).to_have_count(2)
    expect(panel.get_by_role("listbox")).to_contain_text("LinkedIn page")
    expect(panel.get_by_role("listbox")).not_to_contain_text("Brand CRM")
    screenshot("social-account-picker")
    assert_accessible(page)
    options.filter(has_text="Brand page").click()
    expect(panel.locator(".chosen-object", has_text="Brand page")).to_be_visible()

    config = config_when(workflow, "post", lambda config: config.get("account_id") == str(page_account.pk))
    assert config == {"account_id": str(page_account.pk), "text": "Hello {{ contact.first_name }}"}
