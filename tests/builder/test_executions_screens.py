"""The executions screens in Chromium: the table (filters, search, pages, bulk retry and cancel, the CSV export)
and one execution (its steps and the values behind them, a retry, its path painted on the canvas)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible
from tests.history.screens_seed import seed_executions
from tests.workflows.builders import run_due


def rows(page: Page):
    return page.get_by_role("table", name="Executions, newest first").locator("tbody tr")


def apply_filters(page: Page) -> None:
    page.get_by_role("button", name="Apply filters").click()


def test_filters_and_search_narrow_the_table_and_stay_in_the_address(logged_in, workspace, screenshot):
    page, seeded = logged_in, seed_executions(workspace)
    page.get_by_role("link", name="Executions").click()
    expect(page.get_by_role("heading", name="Executions")).to_be_visible()
    expect(rows(page)).to_have_count(3)
    screenshot("executions")
    assert_accessible(page)
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("executions-1920")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_label("Status", exact=True).select_option("failed")
    apply_filters(page)
    expect(rows(page)).to_have_count(2)
    expect(page).to_have_url(re.compile(r"[?&]status=failed"))
    page.get_by_label("Search", exact=True).fill("LOVELACE")
    apply_filters(page)
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("ada@lovelace.test")
    page.reload()
    expect(page.get_by_label("Search", exact=True)).to_have_value("LOVELACE")
    expect(rows(page)).to_have_count(1)

    page.get_by_role("button", name="Clear filters").click()
    expect(rows(page)).to_have_count(3)
    page.get_by_role("combobox", name="Contact").fill("bob")
    page.get_by_role("option", name=re.compile("bob@builder.test")).click()
    apply_filters(page)
    expect(rows(page)).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"[?&]contact={seeded.bob.contact_id}"))
    page.reload()
    expect(page.get_by_role("group", name="Contact")).to_contain_text("bob@builder.test")
    expect(rows(page)).to_have_count(1)
    page.get_by_role("button", name="Any contact").click()
    apply_filters(page)
    expect(rows(page)).to_have_count(3)
    page.get_by_label("Search", exact=True).fill("Campaign")  # part of the error message
    apply_filters(page)
    expect(rows(page)).to_have_count(2)

    # The canvas's link to the executions standing at one of its steps.
    page.goto(f"/builder/executions?workflow={seeded.onboarding.pk}&node=a")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("carol@example.com")
    expect(page.get_by_label("Workflow", exact=True)).to_have_value(str(seeded.onboarding.pk))
    expect(page.get_by_label("Step", exact=True)).to_have_value("a")
    page.get_by_label("Step", exact=True).select_option(label="Add to launch (c)")
    apply_filters(page)
    expect(rows(page)).to_have_count(2)
    page.get_by_label("Error type", exact=True).fill("TimeoutError")
    apply_filters(page)
    expect(page.get_by_text("No execution matches these filters.")).to_be_visible()
    page.get_by_label("Error type", exact=True).fill("PortError")
    page.get_by_label("Version", exact=True).fill("2")
    apply_filters(page)
    expect(page.get_by_text("No execution matches these filters.")).to_be_visible()
    page.get_by_label("Version", exact=True).fill("1")
    apply_filters(page)
    expect(rows(page)).to_have_count(2)
    expect(page).to_have_url(re.compile(r"[?&]error_type=PortError"))
    expect(page).to_have_url(re.compile(r"[?&]version=1(&|$)"))

    page.get_by_label("Entered from").fill("2099-01-01")
    apply_filters(page)
    expect(page.get_by_text("No execution matches these filters.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]since=2099-01-0"))
    page.get_by_label("Entered from").fill("")
    page.get_by_label("Entered to").fill("2099-01-01")
    apply_filters(page)
    expect(rows(page)).to_have_count(2)  # ada and bob, failed at "c"

    page.get_by_label("Search", exact=True).fill("ab")
    apply_filters(page)
    expect(page.get_by_role("alert")).to_have_text(
        "These filters cannot be used. Search: Search with at least 3 characters. Change them, then apply again.")
    expect(page.get_by_label("Search", exact=True)).to_have_attribute("aria-invalid", "true")
    screenshot("bad-filter")


def test_the_table_pages_with_the_servers_cursor(logged_in, workspace, screenshot):
    page, seeded = logged_in, seed_executions(workspace, waiting=60)
    page.goto(f"/builder/executions?workflow={seeded.drip.pk}")
    expect(rows(page)).to_have_count(50)
    newer, older = page.get_by_role("button", name="← Newer"), page.get_by_role("button", name="Older →")
    expect(newer).to_be_disabled()
    older.click()
    expect(rows(page)).to_have_count(10)
    expect(page).to_have_url(re.compile(r"[?&]cursor="))
    expect(older).to_be_disabled()
    screenshot("second-page")
    page.reload()
    expect(rows(page)).to_have_count(10)
    newer.click()
    expect(rows(page)).to_have_count(50)


def test_bulk_retry_and_cancel_confirm_the_servers_count_then_act(logged_in, workspace, screenshot):
    from workflows.models import Enrollment

    page, seeded = logged_in, seed_executions(workspace, waiting=2)
    page.goto(f"/builder/executions?workflow={seeded.onboarding.pk}")
    expect(rows(page)).to_have_count(3)
    page.get_by_role("button", name="Retry failed…").click()
    dialog = page.get_by_role("dialog", name="Retry failed executions")
    expect(dialog.get_by_role("status")).to_have_text("2 failed executions match these filters.")
    dialog.get_by_label(re.compile("^The start")).check()
    screenshot("bulk-retry")
    assert_accessible(page)
    dialog.get_by_role("button", name="Retry 2 executions").click()
    expect(dialog.get_by_role("status")).to_contain_text("Retried 2 of 2 matching executions.")
    retried = Enrollment.objects.filter(pk__in=[seeded.ada.pk, seeded.bob.pk])
    assert sorted(retried.values_list("status", "error")) == [("active", None), ("active", None)]
    assert Enrollment.objects.get(pk=seeded.carol.pk).status == "completed"  # not failed: left alone
    dialog.get_by_role("button", name="Close").click()
    expect(rows(page).filter(has_text="Running")).to_have_count(2)
    seeded.fix()
    run_due()
    assert sorted(retried.values_list("status", flat=True)) == ["completed", "completed"]

    page.goto(f"/builder/executions?workflow={seeded.drip.pk}")
    page.get_by_role("button", name="Cancel…").click()
    dialog = page.get_by_role("dialog", name="Cancel executions")
    expect(dialog.get_by_role("status")).to_have_text("2 running, waiting or failed executions match these filters.")
    dialog.get_by_role("button", name="Cancel 2 executions").click()
    expect(dialog.get_by_role("status")).to_contain_text("Cancelled 2 of 2 matching executions.")
    assert set(Enrollment.objects.filter(workflow=seeded.drip).values_list("status", flat=True)) == {"cancelled"}
    assert set(Enrollment.objects.filter(workflow=seeded.onboarding).values_list("status", flat=True)) == {"completed"}


def test_export_downloads_the_rows_the_filters_match(logged_in, workspace):
    page, seeded = logged_in, seed_executions(workspace, waiting=3)
    page.goto(f"/builder/executions?workflow={seeded.onboarding.pk}&status=failed")
    expect(rows(page)).to_have_count(2)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert sorted(row["contact_email"] for row in exported) == ["ada@lovelace.test", "bob@builder.test"]
    assert {row["status"] for row in exported} == {"failed"}


def test_an_execution_shows_its_steps_retries_and_paints_its_path(logged_in, workspace, screenshot):
    from workflows.models import Enrollment

    page, seeded = logged_in, seed_executions(workspace)
    page.goto("/builder/executions?q=lovelace")
    page.get_by_role("link", name="ada@lovelace.test").click()
    expect(page.get_by_role("heading", name="Execution of ada@lovelace.test")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/builder/executions/{seeded.ada.pk}$"))
    expect(page.get_by_role("link", name="ada@lovelace.test")).to_have_attribute(
        "href", f"/builder/contacts/{seeded.ada.contact_id}")

    steps = page.get_by_role("list").filter(has=page.get_by_role("listitem")).locator(".step-entry")
    expect(steps).to_have_count(3)
    condition = page.get_by_role("listitem", name=re.compile("Is on pro"))
    values = condition.get_by_role("table", name="Values behind the decision")
    expect(values.get_by_role("row", name=re.compile("contact.fields.plan"))).to_contain_text('"pro"')
    expect(condition).to_contain_text("Took the branch yes")
    failed = page.get_by_role("listitem", name=re.compile("Add to launch"))
    expect(failed).to_contain_text("PortError")
    traceback = failed.locator("pre.traceback")
    expect(traceback).to_be_hidden()
    failed.get_by_text("Traceback", exact=True).click()
    expect(traceback).to_contain_text('raise PortError("Campaign does not exist (deleted?).")')
    screenshot("execution")
    assert_accessible(page)

    page.get_by_role("button", name="Show on canvas").click()
    canvas = page.get_by_role("region", name="Version 1 with this execution's path, read-only")
    expect(canvas.locator(".react-flow__node.test-visited")).to_have_count(3)
    expect(canvas.locator(".react-flow__node.test-failed")).to_contain_text("Add to launch")
    expect(canvas.locator(".react-flow__node.test-dimmed")).to_contain_text("Tag onboarded")
    expect(canvas.locator(".react-flow__edge.test-taken")).to_have_count(2)
    expect(canvas.locator('.react-flow__edge.test-taken[data-id="if-yes-c"]')).to_have_count(1)
    screenshot("execution-on-canvas")
    assert_accessible(page)
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("execution-on-canvas-1920")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("button", name="Retry…").click()
    dialog = page.get_by_role("dialog", name="Retry this execution")
    dialog.get_by_role("button", name="Retry", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Retried: it is running again.")).to_be_visible()
    expect(page.locator(".execution-facts")).to_contain_text("Running")
    ada = Enrollment.objects.get(pk=seeded.ada.pk)
    assert (ada.status, ada.current_node_id, ada.error) == ("active", "c", None)


def test_a_refused_retry_says_why_and_cancel_stops_it(logged_in, workspace, screenshot):
    from workflows.execution_actions import enrollment_retry
    from workflows.models import Enrollment

    page, seeded = logged_in, seed_executions(workspace)
    page.goto(f"/builder/executions/{seeded.bob.pk}")
    expect(page.get_by_role("heading", name="Execution of bob@builder.test")).to_be_visible()
    enrollment_retry(enrollment=Enrollment.objects.get(pk=seeded.bob.pk))  # meanwhile, someone else retried it
    page.get_by_role("button", name="Retry…").click()
    dialog = page.get_by_role("dialog", name="Retry this execution")
    dialog.get_by_role("button", name="Retry", exact=True).click()
    expect(dialog.get_by_role("alert")).to_have_text(
        "Only a failed execution can be retried; this one is active. The page now shows it as it is.")
    expect(page.locator(".execution-facts")).to_contain_text("Running")
    screenshot("refused-retry")
    assert Enrollment.objects.filter(pk=seeded.bob.pk, status="active").count() == 1
    dialog.get_by_role("button", name="Keep it as it is").click()

    page.get_by_role("button", name="Cancel execution…").click()
    dialog = page.get_by_role("dialog", name="Cancel this execution")
    dialog.get_by_role("button", name="Cancel execution").click()
    expect(page.get_by_role("status").filter(has_text="Cancelled: it will not run again.")).to_be_visible()
    expect(page.locator(".execution-facts")).to_contain_text("Cancelled")
    expect(page.get_by_role("button", name="Cancel execution…")).to_be_disabled()
    assert Enrollment.objects.get(pk=seeded.bob.pk).status == "cancelled"
