"""The builder's screens at two window sizes: accessible (axe), nothing wider than the window, screenshots kept;
and an API refusal said in words on the screen, never a server error."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import open_canvas

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = [(1280, 800), (1920, 1080)]

GRAPH = {
    "nodes": [
        {"id": "t", "type": "trigger_event", "position": {"x": 0, "y": 0},
         "data": {"label": "Signed up", "config": {"event": "contact.created"}}},
        {"id": "d", "type": "delay", "position": {"x": 0, "y": 160},
         "data": {"label": "Wait a day", "config": {"duration": "P1D"}}},
        {"id": "a", "type": "add_tag", "position": {"x": 0, "y": 320},
         "data": {"label": "Tag them", "config": {"tag": "welcomed"}}},
    ],
    "edges": [{"id": "e1", "source": "t", "target": "d", "sourceHandle": "default"},
              {"id": "e2", "source": "d", "target": "a", "sourceHandle": "default"}],
}

OVERFLOW = "() => document.scrollingElement.scrollWidth - window.innerWidth"


def check_screen(page: Page, screenshot, name: str) -> None:
    """The screen as it is now: no serious accessibility violation, no horizontal overflow; a screenshot."""
    assert_accessible(page)
    assert page.evaluate(OVERFLOW) <= 0, f"{name}: the page is wider than the window"
    screenshot(name)


def test_screens_are_accessible_and_fit_the_window_at_two_sizes(logged_in, screenshot, workspace):
    from workflows import services

    page = logged_in
    workflow = services.workflow_create(workspace=workspace, name="Welcome series", description="greets sign-ups",
                                        graph=GRAPH)
    services.workflow_create(workspace=workspace, name="Cart recovery")
    analytics_requests: list[str] = []
    page.on("request", lambda sent: analytics_requests.append(sent.url) if re.search(r"/api/v1/.*/analytics", sent.url)
            else None)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        size = f"{width}x{height}"

        page.goto("/builder/")
        row = page.locator("tr[data-workflow='Welcome series']")
        expect(row.locator("[data-count=in-now]")).to_have_text("0")
        expect(row.locator("[data-count=finished]")).to_have_text("0")
        check_screen(page, screenshot, f"list-{size}")

        open_canvas(page, workflow)
        page.locator(".react-flow__node", has_text="Wait a day").click()
        expect(page.get_by_role("complementary", name="Settings of Wait a day")).to_be_visible()
        check_screen(page, screenshot, f"canvas-panel-{size}")

        page.get_by_role("button", name="Keyboard shortcuts").click()
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
        check_screen(page, screenshot, f"shortcuts-{size}")
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    # The list's counts come with the list answer: no request per row.
    assert analytics_requests == []


def test_an_api_refusal_is_shown_in_words(logged_in, screenshot, workspace):
    from workflows import services

    page = logged_in
    services.workflow_create(workspace=workspace, name="Welcome series")
    statuses: list[int] = []
    page.on("response", lambda answer: statuses.append(answer.status) if "/api/v1/" in answer.url else None)
    page.goto("/builder/")
    page.get_by_role("button", name="Rename Welcome series").click()
    dialog = page.get_by_role("dialog")
    field = dialog.get_by_label("New name")
    # The field stops at the server's limit; an older page (or a pasted script) would not: ask the server anyway.
    field.evaluate("(input) => input.removeAttribute('maxlength')")
    field.fill("W" * 250)
    dialog.get_by_role("button", name="Rename").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_be_visible()
    text = alert.inner_text()
    assert "200 characters" in text and "HTTP 5" not in text and "server failed" not in text, text
    screenshot("rename-refused")
    assert 400 in statuses and not [status for status in statuses if status >= 500]
    from workflows.models import Workflow

    assert Workflow.objects.filter(name="Welcome series").exists()  # nothing written
