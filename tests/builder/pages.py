"""Steps that many builder journeys take: opening a canvas in the graph editor, finding, adding and joining steps."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def open_canvas(page: Page, workflow, mode: str = "graph") -> None:
    """Open a workflow on the canvas and wait until its view is settled (fitted to the draft); with
    ``mode="simple"``, leave a branchless workflow in the list it opens as, and wait for its steps."""
    page.goto(f"/builder/workflows/{workflow.id}")
    if mode == "simple":
        expect(page.locator(".simple-list .step-card").first).to_be_visible()
        return
    show_graph(page)


def show_graph(page: Page) -> None:
    """Choose the graph editor (a branchless workflow opens as a list), remembered for the workflow's reloads."""
    page.get_by_role("button", name="Graph", exact=True).click()
    # Fitted, and the server's findings on the draft in: they mark and widen steps, which moved them under tests
    # that measured the canvas as soon as it was fitted.
    expect(page.locator(".canvas-flow[data-view-ready=true][data-checked=true]")).to_be_visible()


def drop_from_palette(page: Page, label: str, x: int, y: int) -> None:
    """Drag a palette item onto the canvas at (x, y) of the canvas's box."""
    page.get_by_role("button", name=label, exact=True).drag_to(
        page.locator(".canvas-flow"), target_position={"x": x, "y": y})


def canvas_node(page: Page, text: str):
    return page.locator(".react-flow__node", has=page.locator(".flow-node-label", has_text=text))


def connect(page: Page, source, target) -> None:
    source.locator(".react-flow__handle.source").drag_to(target.locator(".react-flow__handle.target"))


def pick(page: Page, field: str, search: str, option: str) -> None:
    """Choose an object in a picker of the settings panel (a template, a campaign...) by its name."""
    page.get_by_role("combobox", name=field).fill(search)
    page.get_by_role("option", name=re.compile(re.escape(option))).click()
