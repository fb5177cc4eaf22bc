"""crm_create and crm_update in the engine alone (recording fakes, no Django): the record's id goes to the
enrollment's variables, the update reads it back, a deal without one fails saying what to add, and configs the
step cannot run are refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Node, WorkflowSettings
from workflows.engine.outcomes import Advance, Fail
from workflows.engine.registry import StepContext, registry

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
CONTACT = {"id": "c-1", "email": "ada@example.com", "first_name": "Ada", "tags": [], "fields": {}}


def _run(type_name: str, config: dict, *, vars: dict | None = None, world: FakeWorld | None = None):
    world = world or FakeWorld(contact=dict(CONTACT), clock=lambda: NOW)
    node_type = registry.get(type_name)
    ctx = StepContext(enrollment_id="e-1", contact_id="c-1", contact=world.contact,
                      node=Node(id=type_name, type=type_name, config=config), now=NOW, settings=WorkflowSettings(),
                      ports=fake_ports(world), vars=vars)
    return node_type.run(ctx, node_type.parse_config(config)), world


def test_a_create_writes_the_record_id_and_url_variables_with_the_fields_rendered() -> None:
    outcome, world = _run("crm_create", {"connector_id": "n-1", "fields": {"email": "{{ contact.email }}"}})
    assert isinstance(outcome, Advance)
    assert outcome.vars == {"crm_contact_id": "sim-contact-1", "crm_contact_url": None}
    assert outcome.detail["simulated"] and outcome.detail["fields"] == {"email": "ada@example.com"}
    assert world.actions[0]["type"] == "crm_create"


def test_an_update_goes_to_the_stored_id_under_the_variable_named() -> None:
    outcome, _ = _run("crm_update", {"connector_id": "n-1", "object": "deal", "variable": "deal",
                                         "fields": {"dealstage": "won"}}, vars={"deal": "d-9"})
    assert isinstance(outcome, Advance) and outcome.vars == {"deal": "d-9", "deal_url": None}


def test_a_contact_update_without_an_id_is_found_by_email_and_a_deal_update_fails() -> None:
    contact, _ = _run("crm_update", {"connector_id": "n-1", "fields": {"x": "y"}})
    assert isinstance(contact, Advance) and contact.vars["crm_contact_id"] == "sim-contact-by-email"
    deal, _ = _run("crm_update", {"connector_id": "n-1", "object": "deal", "fields": {"x": "y"}})
    assert isinstance(deal, Fail) and "enrollment.vars.crm_deal_id is empty" in deal.reason


@pytest.mark.parametrize("config", [
    {"connector_id": "n-1", "object": "invoice", "fields": {"x": "y"}},
    {"connector_id": "n-1", "fields": {}},
    {"connector_id": "n-1", "fields": {"{{ x }}": "y"}},
    {"connector_id": "n-1", "fields": {"x": "y"}, "variable": "1bad"},
    {"fields": {"x": "y"}},
])
def test_configs_the_step_cannot_run_are_refused(config: dict) -> None:
    with pytest.raises(ValidationError):
        registry.get("crm_create").parse_config(config)


def test_the_connector_is_picked_from_the_connectors_collection() -> None:
    schema = registry.get("crm_create").describe()["config_schema"]
    assert schema["properties"]["connector_id"]["x-reference"] == "connectors"
    assert schema["properties"]["fields"]["additionalProperties"]["x-liquid"] is True
