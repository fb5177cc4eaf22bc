"""The simulator's tasks port renders the task's title with Liquid against the simulated contact, as the live
port does, and acts once per effect key (Liquid is a plain library: `make test-engine` runs this without Django)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.ports import PortError

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _tasks():
    world = FakeWorld(contact={"id": "c-1", "email": "ada@example.com", "first_name": "Ada"}, clock=lambda: NOW)
    return world, fake_ports(world).tasks


def test_the_fake_renders_the_title_against_the_contact_once_per_key() -> None:
    world, tasks = _tasks()
    args = {"contact_id": "c-1", "title": "Call {{ contact.first_name }}", "description": "{{ contact.email }}",
            "assignee_email": "sales@example.com", "due_at": None}
    assert tasks.create_task(key="e-1:k:1", **args) == "task-1"
    assert tasks.create_task(key="e-1:k:1", **args) is None
    assert [action["summary"] for action in world.actions] == ["Created task 'Call Ada' for sales@example.com"]


def test_a_title_that_cannot_render_fails_for_good() -> None:
    _, tasks = _tasks()
    with pytest.raises(PortError) as raised:
        tasks.create_task(key="e-1:k:1", contact_id="c-1", title="Call {% if %}", description="",
                          assignee_email=None, due_at=None)
    assert raised.value.retryable is False and "title" in str(raised.value)

