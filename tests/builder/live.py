"""What the live screens' browser tests share (with the `onboarding` fixture in conftest.py): an enrollment
started as the API starts one, and a check that a page updated itself without reloading."""

from __future__ import annotations

from playwright.sync_api import Page

DAYS_LATER_THAN_THE_DELAY = 2  # days: past the onboarding's one-day delay
MARKER = "window.__notReloaded"


def enroll(workflow, *contacts) -> None:
    """Start the contacts at the workflow's trigger `t`, on its published version."""
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of

    enrollments_start(version=published_version_of(workflow), entries=[Entry(c.pk, "t") for c in contacts])


def mark_page(page: Page) -> None:
    """Leave a mark in the page's window that a reload would wipe."""
    page.evaluate(f"{MARKER} = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate(MARKER) is True, "the page reloaded"
