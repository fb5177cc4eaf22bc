"""The builder's browser fixtures (a real Chromium, a logged-in marketer, screenshots) for the analytics screens."""

from tests.builder.conftest import browser, logged_in, marketer, page, screenshot  # noqa: F401
