"""Fixtures of the runtime tests."""

from __future__ import annotations

import pytest

# The email tests' real SMTP server and "email" queue, for the steps that send.
from tests.templates.conftest import _smtp_controller, email_queue, run_email_jobs, smtp  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_trigger_index():
    """Start every test with no trigger index in memory: a test's workflows are published inside its transaction,
    whose commit (and so the index's invalidation) never comes."""
    from workflows import trigger_index

    trigger_index._cache.reset()
    yield
    trigger_index._cache.reset()
