"""The template marketplace in Chromium: the gallery (categories, search, sort), a template's page (read-only
canvas with the sample run, emails, settings, needs), and the install dialog that asks only for what is missing
and opens the new draft on the canvas."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.builder.conftest import assert_accessible


def _open_gallery(page):
    page.get_by_role("link", name="Templates", exact=True).click()
    expect(page.get_by_role("heading", name="Workflow templates")).to_be_visible()


def test_the_gallery_filters_by_category_and_finds_templates_by_search(logged_in, screenshot):
    page = logged_in
    _open_gallery(page)
    cards = page.locator(".template-card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 50
    screenshot("gallery")
    assert_accessible(page)

    page.get_by_role("button", name=re.compile(r"^E-commerce")).click()
    expect(page.get_by_role("link", name="Abandoned cart recovery", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Welcome series", exact=True)).to_have_count(0)
    expect(page).to_have_url(re.compile(r"category=e-commerce"))

    page.get_by_role("button", name="All templates").click()
    page.get_by_label("Search templates", exact=True).fill("break-up")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("link", name="Cold outreach in three steps", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Abandoned cart recovery", exact=True)).to_have_count(0)
    page.get_by_label("Sort by", exact=True).select_option("newest")
    expect(page).to_have_url(re.compile(r"sort=newest"))
    screenshot("searched")


def test_a_template_page_shows_the_workflow_and_installs_creating_what_is_missing(
    logged_in, workspace, screenshot
):
    from contacts.models import Segment
    from workflows.models import Workflow

    page = logged_in
    _open_gallery(page)
    page.get_by_role("link", name="Webinar promotion", exact=True).click()
    expect(page.get_by_role("heading", name="Webinar promotion")).to_be_visible()
    canvas = page.get_by_role("region", name="The template's workflow, read-only")
    expect(canvas.locator(".react-flow__node")).to_have_count(4)
    expect(canvas.locator(".react-flow__node.test-visited")).to_have_count(
        4
    )  # the sample run's path, painted
    expect(page.get_by_role("list", name="Sample path").get_by_role("listitem")).to_have_text(
        ["In the audience", "Invitation", "Wait 3 days", "Reminder"]
    )
    expect(page.get_by_text("Webinar invitation:")).to_be_visible()
    screenshot("template")
    assert_accessible(page)

    page.get_by_role("button", name="Install this template").click()
    dialog = page.get_by_role("dialog", name="Install “Webinar promotion”")
    expect(dialog.get_by_text("missing one thing")).to_be_visible()
    choice = dialog.get_by_label("Segment: Webinar audience", exact=True)
    expect(choice).to_have_value("create")
    screenshot("install-dialog")
    dialog.get_by_role("button", name="Install and open").click()

    expect(page).to_have_url(re.compile(r"/builder/workflows/[0-9a-f-]{36}$"))
    workflow = Workflow.objects.for_workspace(workspace).get()
    assert page.url.endswith(str(workflow.pk))
    # The installed draft is a chain, so it opens as the list of its steps. (Looking for canvas nodes here once
    # matched the template page's read-only canvas, still on screen for a moment after the address changed.)
    expect(page.locator(".simple-list .step-card .step-label")).to_have_text(
        ["In the audience", "Invitation", "Wait 3 days", "Reminder"])
    assert Segment.objects.for_workspace(workspace).filter(name="Webinar audience").count() == 1
    screenshot("installed-draft")


def test_install_asks_for_a_required_setting_and_can_use_an_existing_object(logged_in, workspace):
    from campaigns.models import Campaign
    from workflows.models import Workflow

    page = logged_in
    page.goto("/builder/templates/crm-sync-webhook")
    page.get_by_role("button", name="Install this template").click()
    dialog = page.get_by_role("dialog", name="Install “Send new customers to your CRM”")
    install = dialog.get_by_role("button", name="Install and open")
    expect(install).to_be_disabled()
    dialog.get_by_label("The CRM's webhook URL", exact=True).fill("https://crm.example.com/hooks/in")
    expect(install).to_be_enabled()
    install.click()
    expect(page).to_have_url(re.compile(r"/builder/workflows/[0-9a-f-]{36}$"))
    draft = Workflow.objects.for_workspace(workspace).get()
    assert draft.name == "Send new customers to your CRM"

    mine = Campaign.objects.create(workspace=workspace, name="Existing onboarding")
    page.goto("/builder/templates/customer-onboarding")
    page.get_by_role("button", name="Install this template").click()
    dialog = page.get_by_role("dialog", name="Install “New customer onboarding”")
    dialog.get_by_label("Campaign: Customer onboarding", exact=True).select_option(
        label="Use “Existing onboarding”"
    )
    dialog.get_by_role("button", name="Install and open").click()
    expect(page).to_have_url(re.compile(r"/builder/workflows/[0-9a-f-]{36}$"))
    assert Campaign.objects.for_workspace(workspace).count() == 1
    installed = Workflow.objects.for_workspace(workspace).get(name="New customer onboarding")
    step = installed.versions.get(number__isnull=True).steps.get(node_id="add_campaign")
    assert step.config["campaign_id"] == str(mine.pk)


def test_a_workflow_saved_as_a_template_is_shared_by_a_link_that_installs_it(
    logged_in, workspace, screenshot
):
    from templates.models import EmailTemplate
    from workflows.models import Workflow
    from workflows.services import workflow_create

    email = EmailTemplate.objects.create(workspace=workspace, name="Hello", subject="Hello", html="<p>Hi</p>")
    nodes = [
        {
            "id": "t",
            "type": "trigger_manual",
            "position": {"x": 0, "y": 0},
            "data": {"label": "Start", "config": {}},
        },
        {
            "id": "s",
            "type": "send_email",
            "position": {"x": 0, "y": 120},
            "data": {"label": "Say hello", "config": {"template_id": str(email.pk)}},
        },
    ]
    edges = [{"id": "e", "source": "t", "target": "s", "sourceHandle": "default"}]
    workflow_create(workspace=workspace, name="Hello flow", graph={"nodes": nodes, "edges": edges})

    page = logged_in
    _open_gallery(page)
    page.get_by_role("button", name="Save a workflow as a template").click()
    dialog = page.get_by_role("dialog", name="Save a workflow as a template")
    dialog.get_by_label("Workflow", exact=True).select_option(label="Hello flow")
    dialog.get_by_label("Category", exact=True).select_option(label="Onboarding and trials")
    dialog.get_by_role("button", name="Save as a template").click()
    expect(page.get_by_role("heading", name="Hello flow")).to_be_visible()
    expect(page.locator("summary", has_text="Hello: Hello")).to_be_visible()  # the email, found and copied

    page.get_by_role("button", name="Make a share link").click()
    link = page.get_by_label("Share link", exact=True)
    expect(link).to_contain_text("/builder/templates/shared/")
    screenshot("shared")
    page.goto(link.inner_text())
    expect(page.get_by_role("heading", name="Hello flow")).to_be_visible()
    page.get_by_role("button", name="Install this template").click()
    page.get_by_role("dialog", name="Install “Hello flow”").get_by_role(
        "button", name="Install and open"
    ).click()
    expect(page).to_have_url(re.compile(r"/builder/workflows/[0-9a-f-]{36}$"))
    assert Workflow.objects.for_workspace(workspace).filter(name="Hello flow").count() == 2
    update = page.get_by_role("status").filter(has_text="version 2 is out")
    expect(update).to_have_count(0)

    # The author publishes a second version: the installed copy is told, and is not changed.
    from marketplace.authoring import template_version_add
    from marketplace.models import WorkflowTemplate

    template_version_add(template=WorkflowTemplate.objects.get(name="Hello flow"))
    page.reload()
    expect(update).to_be_visible()
    screenshot("template-update-available")
    update.get_by_role("link", name="See the template").click()
    expect(page.get_by_role("heading", name="Hello flow")).to_be_visible()
