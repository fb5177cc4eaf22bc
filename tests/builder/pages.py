"""Steps that many builder journeys take: opening a workflow's canvas in the graph editor."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def open_canvas(page: Page, workflow) -> None:
    """Open a workflow on the canvas and wait until its view is settled (fitted to the draft)."""
    page.goto(f"/builder/workflows/{workflow.id}")
    show_graph(page)


def show_graph(page: Page) -> None:
    """Choose the graph editor (a branchless workflow opens as a list), remembered for the workflow's reloads."""
    page.get_by_role("button", name="Graph", exact=True).click()
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()
