"""The contact page and the live screens, in a real Chromium against the real ASGI server (websockets included).

A support person opens a contact to answer "why did this person get that email?": its consent and tags, the
workflows it is in now, and its timeline of events and workflow steps, newest first, filtered and paged. While
the page is open the runtime moves the contact on, and the page shows it without a reload, through the
workspace's websocket; the workflow list's counts follow the same way; and when the server drops the socket,
the page reconnects and refetches what it missed.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible
from tests.builder.live import DAYS_LATER_THAN_THE_DELAY, assert_not_reloaded, enroll, mark_page

DAYS_LATER = timedelta(days=DAYS_LATER_THAN_THE_DELAY)
OVERFLOW = "() => document.scrollingElement.scrollWidth - window.innerWidth"


pytestmark = pytest.mark.usefixtures("asgi_live_server")  # the pages talk to the ASGI server (websockets)


@pytest.fixture
def ada(workspace):
    from tests.factories import ContactFactory

    return ContactFactory(workspace=workspace, email="ada@example.com", first_name="Ada", last_name="Lovelace",
                          tags=["vip", "beta"], fields={"plan": "pro"})


def _page_views(workspace, contact, count: int) -> None:
    """`count` page views of the contact, a minute apart, all before anything the workflows do."""
    from events.services import NewEvent, events_store

    now = timezone.now()
    events_store(workspace=workspace.pk, events=[
        NewEvent(type="page.viewed", contact_id=contact.pk, properties={"path": f"/page-{i}"}, source="api",
                 occurred_at=now - timedelta(hours=1, minutes=i)) for i in range(count)])


def _expect_live(page: Page) -> None:
    expect(page.get_by_role("status", name=re.compile("^Live updates: on"))).to_be_visible()


def _timeline(page: Page):
    return page.get_by_role("list", name="Timeline, newest first").get_by_role("listitem")


def _added_tag(page: Page):
    return _timeline(page).filter(has=page.get_by_text("Add tag", exact=True))


def _times(page: Page) -> list[str]:
    return _timeline(page).locator("time").evaluate_all("(times) => times.map((t) => t.dateTime)")


def _kinds(page: Page) -> set[str]:
    return set(_timeline(page).evaluate_all("(items) => items.map((i) => i.dataset.kind)"))


def _open_contact(page: Page, contact) -> None:
    page.goto(f"/builder/contacts/{contact.pk}")
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    _expect_live(page)


def test_contact_page_shows_events_and_steps_newest_first_filters_and_pages(
        logged_in, screenshot, workspace, onboarding, ada):
    from tests.factories import ContactFactory
    from tests.history.conftest import Failing
    from tests.workflows.builders import run_due

    page = logged_in
    billing = Failing(workspace, name="Billing")
    ContactFactory(workspace=workspace, email="bob@example.com", first_name="Bob")  # not found by "ada"
    _page_views(workspace, ada, 55)
    enroll(onboarding, ada)
    billing.enroll(ada)
    run_due()  # onboarding: t, then waits at d; billing: t, then fails at c

    page.get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    page.get_by_label("Email or name").fill("ada")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/builder/contacts\?q=ada$"))  # the search is in the address
    expect(page.get_by_role("table", name="Contacts").get_by_role("row")).to_have_count(2)
    screenshot("contact-search")
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page).to_have_url(re.compile(rf"/builder/contacts/{ada.pk}$"))
    _expect_live(page)

    profile = page.get_by_role("region", name="Profile")
    expect(profile).to_contain_text("ada@example.com")
    expect(profile).to_contain_text("Subscribed")
    expect(profile.get_by_role("list", name="Tags")).to_contain_text("vip")
    expect(profile).to_contain_text("plan")

    # Live enrollments: the waiting onboarding only (the failed billing run is over).
    enrollments = page.get_by_role("table", name="In workflows now")
    expect(enrollments.get_by_role("row")).to_have_count(2)
    onboarding_row = enrollments.get_by_role("row").nth(1)
    expect(onboarding_row).to_contain_text("Onboarding")
    expect(onboarding_row).to_contain_text("v1")
    expect(onboarding_row).to_contain_text("Waiting")
    expect(onboarding_row.locator("code")).to_have_text("d")
    expect(onboarding_row).to_contain_text("Wait a day")  # the step's label in the version it runs on
    expect(onboarding_row.locator("td").nth(4).locator("time")).to_be_visible()  # waiting until

    # Newest first: the four steps, then the page views; fifty to a page.
    expect(_timeline(page)).to_have_count(50)
    times = _times(page)
    assert times == sorted(times, reverse=True)
    # What the workflows did (4 steps; the runtime's workflow.enrolled x2 and workflow.failed events) comes before
    # the page views, which were an hour earlier.
    recent = _timeline(page).evaluate_all("(items) => items.slice(0, 8).map((i) => i.dataset.kind)")
    assert sorted(recent[:7]) == ["event"] * 3 + ["step"] * 4
    expect(_timeline(page).nth(7)).to_contain_text("path: /page-0")
    failed = _timeline(page).filter(has=page.get_by_text("Failed", exact=True))
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Billing")
    expect(failed).to_contain_text("Error (PortError)")
    execution = failed.get_by_role("link", name="Open execution")
    from workflows.models import Enrollment

    billing_run = Enrollment.objects.get(workflow=billing.workflow, contact=ada)
    expect(execution).to_have_attribute("href", f"/builder/executions/{billing_run.pk}")
    screenshot("contact-page")
    assert_accessible(page)

    page.get_by_role("button", name="Load more").click()
    expect(_timeline(page)).to_have_count(62)
    expect(page.get_by_text("That is the whole timeline: 62 items.")).to_be_visible()
    times = _times(page)
    assert times == sorted(times, reverse=True)
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)

    page.get_by_role("combobox", name="Show").select_option(label="Workflow steps only")
    expect(_timeline(page)).to_have_count(4)
    assert _kinds(page) == {"step"}
    page.get_by_role("combobox", name="Show").select_option(label="Events only")
    expect(_timeline(page)).to_have_count(50)
    assert _kinds(page) == {"event"}
    expect(_timeline(page).first).to_contain_text("workflow.failed")
    expect(_timeline(page).nth(3)).to_contain_text("path: /page-0")
    page.get_by_role("combobox", name="Show").select_option(label="Events and workflow steps")
    page.get_by_role("combobox", name="Workflow", exact=True).select_option(label="Billing")
    expect(_timeline(page)).to_have_count(2)
    expect(_timeline(page).first).to_contain_text("Failed")
    assert _kinds(page) == {"step"}
    screenshot("contact-timeline-of-one-workflow")


def test_contact_page_shows_the_next_step_live_without_a_reload(logged_in, screenshot, onboarding, ada):
    from tests.workflows.builders import run_due

    page = logged_in
    enroll(onboarding, ada)
    run_due()
    _open_contact(page, ada)
    expect(page.get_by_role("table", name="In workflows now")).to_contain_text("Waiting")
    expect(page.get_by_role("list", name="Tags")).not_to_contain_text("onboarded")
    expect(_timeline(page)).to_have_count(3)  # workflow.enrolled, the trigger's step, the delay's (waiting)
    expect(_timeline(page).first).to_contain_text("Wait a day")  # the step's label in its version
    expect(_added_tag(page)).to_have_count(0)
    mark_page(page)

    run_due(now=timezone.now() + DAYS_LATER)  # the delay ends: d succeeds, a adds the tag, the run completes

    expect(_added_tag(page)).to_have_count(1)
    expect(_timeline(page).first).to_contain_text("Add tag")  # the newest (the runtime ran it two days on)
    expect(page.get_by_text("Not in any workflow right now.")).to_be_visible()
    expect(page.get_by_role("list", name="Tags")).to_contain_text("onboarded")  # the profile follows too
    assert_not_reloaded(page)
    screenshot("contact-page-after-live-step")


def test_workflow_list_counts_follow_the_runtime_live(logged_in, screenshot, workspace, onboarding):
    from tests.factories import ContactFactory
    from tests.workflows.builders import run_due

    page = logged_in
    page.goto("/builder/")  # with the workflow made after logging in
    _expect_live(page)
    row = page.locator("tr[data-workflow='Onboarding']")
    expect(row.locator("[data-count=in-now]")).to_have_text("0")
    mark_page(page)

    enroll(onboarding, *ContactFactory.create_batch(2, workspace=workspace))
    run_due()
    # With the socket live the list polls once a minute only: within the 20 s this waits, a message refreshed it.
    expect(row.locator("[data-count=in-now]")).to_have_text("2")
    run_due(now=timezone.now() + DAYS_LATER)
    expect(row.locator("[data-count=in-now]")).to_have_text("0")
    expect(row.locator("[data-count=finished]")).to_have_text("2")
    assert_not_reloaded(page)
    screenshot("workflow-list-live")


def test_after_the_server_drops_the_socket_the_page_reconnects_and_refetches(
        logged_in, screenshot, asgi_live_server, onboarding, ada):
    from tests.workflows.builders import run_due

    page = logged_in
    enroll(onboarding, ada)
    run_due()
    _open_contact(page, ada)
    expect(_timeline(page)).to_have_count(3)  # workflow.enrolled, the trigger's step, the delay's (waiting)
    expect(_timeline(page).first).to_contain_text("Wait a day")  # the step's label in its version
    expect(_added_tag(page)).to_have_count(0)
    mark_page(page)

    asgi_live_server.stop()
    expect(page.get_by_role("status", name=re.compile("^Live updates: reconnecting"))).to_be_visible()
    screenshot("reconnecting")
    # Changed while no socket listened: the message about it goes to no one.
    run_due(now=timezone.now() + DAYS_LATER)
    asgi_live_server.start()

    # The page retries with a backoff that grows to 30 s (±20 %) while the server is down: a deadline past that.
    expect(page.get_by_role("status", name=re.compile("^Live updates: on"))).to_be_visible(timeout=45_000)
    expect(_added_tag(page)).to_have_count(1)
    expect(page.get_by_text("Not in any workflow right now.")).to_be_visible()
    assert_not_reloaded(page)


def test_an_unknown_contact_is_said_in_words(logged_in):
    page = logged_in
    page.goto("/builder/contacts/00000000-0000-0000-0000-000000000000")
    expect(page.get_by_text("There is no such contact in this workspace")).to_be_visible()


@pytest.mark.parametrize("width, height", [(1280, 800), (1920, 1080)])
def test_contact_screens_fit_the_window_and_are_accessible(logged_in, screenshot, onboarding, ada, width, height):
    from tests.workflows.builders import run_due

    page = logged_in
    page.set_viewport_size({"width": width, "height": height})
    enroll(onboarding, ada)
    run_due()
    page.goto("/builder/contacts?tag=vip")
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    assert_accessible(page)
    assert page.evaluate(OVERFLOW) <= 0, "the contact search is wider than the window"
    screenshot(f"contacts-{width}x{height}")
    _open_contact(page, ada)
    expect(_timeline(page)).to_have_count(3)
    _timeline(page).first.get_by_text("All details").click()
    assert_accessible(page)
    assert page.evaluate(OVERFLOW) <= 0, "the contact page is wider than the window"
    screenshot(f"contact-{width}x{height}")
