"""The preset libraries: every preset configures its node type validly, and event-entered trigger presets start
an enrollment on their own example."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.engine.graph import WorkflowSettings
from workflows.engine.presets import action_presets, presets_of, step_presets, trigger_presets
from workflows.engine.registry import registry
from workflows.engine.simulator import simulate
from workflows.engine.types import EVENT_TYPE_PATTERN, EVENT_TYPES
from workflows.engine.validation import validate

from .graphs import GraphBuilder

TRIGGERS = trigger_presets(registry)
ACTIONS = action_presets(registry)
STEPS = step_presets(registry)  # logic and waits: the documentation's examples
ALL = TRIGGERS + ACTIONS + STEPS
SETTINGS = WorkflowSettings()
START = "2026-11-23T08:00:00Z"


def by_id(entries: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(entry, id=entry["id"]) for entry in entries]


def graph_of(preset: dict[str, Any]) -> Any:
    """A workflow of the preset: a trigger preset followed by an action, or a manual trigger then the preset's
    node with each of its branches ending in an exit."""
    node_type = registry.get(preset["type"])
    if node_type.kind == "trigger":
        return GraphBuilder().trigger_of(preset["type"], preset["config"]).add_tag("done", id="tag").build()
    graph = GraphBuilder().trigger_of("trigger_manual")
    if node_type.flow == "join":  # a merge joins the branches of a parallel
        graph.node("parallel", {"branches": [{"id": "a"}, {"id": "b"}]}, id="fork", next_branch="a")
        graph.node(preset["type"], preset["config"], id="step").connect("fork", "step", "b")
    else:
        graph.node(preset["type"], preset["config"], id="step")
    graph.cursor = None
    for branch in node_type.branches_for(node_type.parse_config(preset["config"])):
        graph.cursor = ("step", branch)
        graph.exit(id=f"exit_{branch}")
    return graph.build()


def test_the_libraries_are_large_enough_and_ids_are_unique() -> None:
    assert len(TRIGGERS) >= 20
    assert len(ACTIONS) >= 14
    ids = [preset["id"] for preset in ALL]
    assert len(ids) == len(set(ids))


def test_the_libraries_are_sorted_and_shaped_as_the_contract_says() -> None:
    for library in (TRIGGERS, ACTIONS):
        assert library == sorted(library, key=lambda preset: (preset["category"], preset["id"]))
    for preset in ALL:
        assert set(preset) == {"id", "label", "description", "category", "type", "config", "example"}
        assert preset["label"] and preset["description"] and preset["category"]


def test_trigger_presets_are_triggers_and_action_presets_actions() -> None:
    assert {registry.get(preset["type"]).kind for preset in TRIGGERS} == {"trigger"}
    assert {registry.get(preset["type"]).kind for preset in ACTIONS} == {"action"}
    assert {registry.get(preset["type"]).kind for preset in STEPS} == {"logic", "wait"}


def test_every_node_type_has_a_preset_for_its_documented_example() -> None:
    assert [node.type for node in registry if not presets_of(node)] == []


def test_the_issue_asks_for_these_triggers() -> None:
    ids = {preset["id"] for preset in TRIGGERS}
    assert {
        "email-sent", "email-opened", "email-link-clicked", "email-replied", "email-bounced", "contact-created",
        "contact-updated", "contact-tagged", "contact-field-changed", "campaign-contact-added",
        "campaign-contact-removed", "campaign-contact-completed", "segment-entered", "segment-left",
        "form-submitted", "page-visited", "once-at-date", "recurring-weekly", "date-field-anniversary",
        "inactivity", "score-threshold", "manual", "inbound-webhook", "custom-event",
    } <= ids


def test_event_types_named_by_presets_are_the_catalogues_or_custom() -> None:
    import re

    for preset in TRIGGERS:
        event = preset["example"].get("event")
        if event is None:
            continue
        if preset["id"] == "custom-event":
            assert event["type"] not in EVENT_TYPES and re.match(EVENT_TYPE_PATTERN, event["type"])
        else:
            assert event["type"] in EVENT_TYPES, preset["id"]


def test_placeholders_are_explained() -> None:
    for preset in ALL:
        if "<" in str(preset["config"]):
            assert "fill_in" in preset["example"], preset["id"]


@pytest.mark.parametrize("preset", by_id(ALL))
def test_a_preset_config_parses_for_its_node_type(preset: dict[str, Any]) -> None:
    registry.get(preset["type"]).parse_config(preset["config"])


@pytest.mark.parametrize("preset", by_id(ALL))
def test_a_workflow_of_the_preset_validates(preset: dict[str, Any]) -> None:
    assert validate(graph_of(preset), SETTINGS) == []


EVENT_ENTERED = [
    preset for preset in TRIGGERS if getattr(registry.get(preset["type"]), "entered_by", None) == "event"
]


def test_every_event_entered_trigger_preset_has_an_example_event() -> None:
    assert EVENT_ENTERED
    assert all("event" in preset["example"] for preset in EVENT_ENTERED)


@pytest.mark.parametrize("preset", by_id(EVENT_ENTERED))
def test_an_event_trigger_preset_enters_on_its_example(preset: dict[str, Any]) -> None:
    example = preset["example"]
    contact = {"email": "ada@example.test", **example.get("contact", {})}
    result = simulate(
        graph=graph_of(preset), settings=SETTINGS, contact=contact, start=START, events=[example["event"]],
        until="P1D",
    )
    assert result.trigger_node == "trigger", result.reason


def test_presets_are_copies_no_caller_can_change() -> None:
    trigger_presets(registry)[0]["config"]["changed"] = True
    action_presets(registry)[0]["example"]["changed"] = True
    assert trigger_presets(registry) == TRIGGERS
    assert action_presets(registry) == ACTIONS


def test_a_node_type_that_declares_no_presets_offers_none() -> None:
    from workflows.engine.registry import NodeType

    assert presets_of(NodeType()) == ()
