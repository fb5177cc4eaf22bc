"""Engine tests: no database, no Django. They run with or without pytest-django active, and where Django is not
installed at all (`make test-engine`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflows.engine import load_node_types

# Every app that declares node types in a nodes.py (all plain Python, as the engine).
APPS = ["workflows", "contacts", "campaigns", "templates", "sms", "push", "predictions", "connectors"]

# Loaded at import time (not in a fixture) so that hypothesis strategies built at collection see every type.
load_node_types(APPS)


@pytest.fixture
def start() -> datetime:
    return datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
