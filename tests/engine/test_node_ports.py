"""Each action node type declares the ports it acts through (``NodeType.ports``), and acts through no other.

The declaration is what the live runtime reads to give a type that is not available yet a port that refuses
(``workflows.live_ports``); a type acting through a port it does not declare would slip past that. Every action
runs once here with recording fakes, and the ports it touched are compared with the ones it declares.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pytest

from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Node, WorkflowSettings
from workflows.engine.ports import Ports
from workflows.engine.registry import StepContext, registry

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

# One valid config per action type. A new action type must add one here: the test below refuses types without.
CONFIGS: dict[str, dict[str, Any]] = {
    "send_email": {"template_id": "t-1"},
    "send_push": {"title": "Hello {{ contact.first_name }}", "url": "https://example.com/"},
    "send_message": {"channels": ["email"], "email": {"template_id": "t-1"}},
    "add_tag": {"tag": "vip"},
    "remove_tag": {"tag": "vip"},
    "update_field": {"field": "plan", "value": "pro"},
    "change_status": {"status": "unsubscribed"},
    "update_score": {"delta": 5},
    "add_to_campaign": {"campaign_id": "c-1"},
    "remove_from_campaign": {"campaign_id": "c-1"},
    "create_task": {"title": "Call this lead"},
    "notify": {"to": ["sales@example.com"], "subject": "New lead", "message": "A lead arrived."},
    "webhook": {"url": "https://hooks.example.com/lead"},
    "enroll_in_workflow": {"workflow_id": "w-2"},
    "send_sms": {"text": "Your order has shipped."},
    "http_request": {"url": "https://api.example.com/plan", "map": {"plan": "$.plan"}},
    "lookup": {"source": "recent_events", "map": {"orders": "$.count"}},
    "social_post": {"account_id": "a-1", "text": "Hello {{ contact.first_name }}", "url": "https://example.com/"},
    "crm_create": {"connector_id": "n-1", "object": "contact", "fields": {"email": "{{ contact.email }}"}},
    "crm_update": {"connector_id": "n-1", "object": "contact", "fields": {"lifecyclestage": "customer"}},
}

# Every step may read the contact's history through the activity port: it is a read, not an action.
READ_PORTS = {"activity"}
# Types that choose their ports per contact (send_message's channels): one run touches some of those declared.
CHOSEN_PER_CONTACT = {"send_message"}


class _Touched:
    """A port that notes its name in ``touched`` whenever a step uses it, then does what the fake does."""

    def __init__(self, name: str, port: Any, touched: set[str]) -> None:
        self._name, self._port, self._touched = name, port, touched

    def __getattr__(self, attribute: str) -> Any:
        self._touched.add(self._name)
        return getattr(self._port, attribute)


def _ports_touched(node_type_name: str, config: dict[str, Any]) -> set[str]:
    world = FakeWorld(contact={"id": "c-1", "email": "ada@example.com", "tags": [], "fields": {}, "score": 0},
                      clock=lambda: NOW)
    fakes = fake_ports(world)
    touched: set[str] = set()
    ports = Ports(**{f.name: _Touched(f.name, getattr(fakes, f.name), touched) for f in fields(Ports)})
    node_type = registry.get(node_type_name)
    assert node_type is not None
    ctx = StepContext(enrollment_id="e-1", contact_id="c-1", contact=world.contact,
                      node=Node(id="n1", type=node_type_name, config=config), now=NOW,
                      settings=WorkflowSettings(), ports=ports)
    node_type.run(ctx, node_type.parse_config(config))
    return touched


ACTIONS = sorted(node_type.type for node_type in registry.all() if node_type.kind == "action")


def test_every_action_type_has_a_config_here() -> None:
    assert set(ACTIONS) == set(CONFIGS), "add a config for each new action type to CONFIGS"


@pytest.mark.parametrize("type_name", ACTIONS)
def test_an_action_acts_only_through_the_ports_it_declares(type_name: str) -> None:
    declared = set(registry.get(type_name).ports)  # type: ignore[union-attr]
    assert declared, f"{type_name} declares no port"
    touched = _ports_touched(type_name, CONFIGS[type_name])
    assert touched - READ_PORTS <= declared, f"{type_name} acted through undeclared ports {touched - declared}"
    if type_name not in CHOSEN_PER_CONTACT:
        assert declared <= touched, f"{type_name} declares ports it never used: {declared - touched}"
