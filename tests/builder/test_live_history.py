"""A running enrollment appears and advances live on the canvas's counts and in the executions table, in a real
Chromium against the real ASGI server (websockets included), without a reload.

The runtime is driven from the test (the due steps run as the workers run them); the pages learn of each commit
through their workflow's socket and read the figures again through the API.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.builder.live import DAYS_LATER_THAN_THE_DELAY, assert_not_reloaded, enroll, mark_page
from tests.builder.pages import open_canvas

DAYS_LATER = timedelta(days=DAYS_LATER_THAN_THE_DELAY)

pytestmark = pytest.mark.usefixtures("asgi_live_server")  # the pages talk to the ASGI server (websockets)


def _count(page: Page, node_id: str, which: str):
    return page.locator(f"[data-counts-node='{node_id}'] [data-count='{which}'] b")


def test_a_running_enrollment_appears_and_advances_live_on_the_canvas_and_in_the_table(
        logged_in, screenshot, workspace, onboarding):
    from tests.factories import ContactFactory
    from tests.workflows.builders import run_due

    canvas = logged_in
    open_canvas(canvas, onboarding)
    canvas.get_by_role("button", name=re.compile("counts", re.I)).click()
    expect(_count(canvas, "d", "entered")).to_have_text("0")
    expect(canvas.get_by_role("status", name=re.compile("^Live updates: on"))).to_be_visible()
    mark_page(canvas)

    table = canvas.context.new_page()
    table.goto(f"/builder/executions?workflow={onboarding.id}")
    expect(table.get_by_role("status", name=re.compile("^Live updates: on"))).to_be_visible()
    rows = table.get_by_role("table", name="Executions, newest first").locator("tbody tr")
    expect(rows).to_have_count(0)
    mark_page(table)

    ada = ContactFactory(workspace=workspace, email="ada@example.com")
    enroll(onboarding, ada)
    run_due()  # t runs, the enrollment waits at d

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ada@example.com")
    expect(rows.first).to_contain_text("Waiting")
    expect(_count(canvas, "d", "entered")).to_have_text("1")
    expect(_count(canvas, "d", "waiting")).to_have_text("1")
    expect(_count(canvas, "a", "entered")).to_have_text("0")
    screenshot("canvas-counts-live-waiting")

    run_due(now=timezone.now() + DAYS_LATER)  # the delay ends: d succeeds, a adds the tag, the run completes

    expect(rows.first).to_contain_text("Completed")
    expect(_count(canvas, "d", "waiting")).to_have_text("0")
    expect(_count(canvas, "a", "entered")).to_have_text("1")
    assert_not_reloaded(canvas)
    assert_not_reloaded(table)
    canvas.bring_to_front()
    screenshot("canvas-counts-live-completed")
    table.close()
