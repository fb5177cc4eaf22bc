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

from tests.builder.pages import open_canvas

DAYS_LATER = timedelta(days=2)  # past the onboarding's one-day delay
MARKER = "window.__notReloaded"

pytestmark = pytest.mark.usefixtures("asgi_live_server")  # the pages talk to the ASGI server (websockets)


@pytest.fixture
def onboarding(workspace):
    """t (manual) → d (delay 1 day, "Wait a day") → a (add tag "onboarded"), published as version 1."""
    from tests.engine.graphs import chain, node
    from tests.workflows.builders import publish

    nodes = [node("t", "trigger_manual"), node("d", "delay", {"duration": "P1D"}, "Wait a day"),
             node("a", "add_tag", {"tag": "onboarded"})]
    return publish(workspace, nodes, chain("t", "d", "a"), name="Onboarding")


def _enroll(workflow, contact) -> None:
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of

    enrollments_start(version=published_version_of(workflow), entries=[Entry(contact.pk, "t")])


def _count(page: Page, node_id: str, which: str):
    return page.locator(f"[data-counts-node='{node_id}'] [data-count='{which}'] b")


def _mark(page: Page) -> None:
    page.evaluate(f"{MARKER} = true")


def _not_reloaded(page: Page) -> None:
    assert page.evaluate(MARKER) is True, "the page reloaded"


def test_a_running_enrollment_appears_and_advances_live_on_the_canvas_and_in_the_table(
        logged_in, screenshot, workspace, onboarding):
    from tests.factories import ContactFactory
    from tests.workflows.builders import run_due

    canvas = logged_in
    open_canvas(canvas, onboarding)
    canvas.get_by_role("button", name=re.compile("counts", re.I)).click()
    expect(_count(canvas, "d", "entered")).to_have_text("0")
    expect(canvas.get_by_role("status", name=re.compile("^Live updates: on"))).to_be_visible()
    _mark(canvas)

    table = canvas.context.new_page()
    table.goto(f"/builder/executions?workflow={onboarding.id}")
    expect(table.get_by_role("status", name=re.compile("^Live updates: on"))).to_be_visible()
    rows = table.get_by_role("table", name="Executions, newest first").locator("tbody tr")
    expect(rows).to_have_count(0)
    _mark(table)

    ada = ContactFactory(workspace=workspace, email="ada@example.com")
    _enroll(onboarding, ada)
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
    _not_reloaded(canvas)
    _not_reloaded(table)
    canvas.bring_to_front()
    screenshot("canvas-counts-live-completed")
    table.close()
