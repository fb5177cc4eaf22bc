"""Where enrollments start: trigger node types decide, through one scope, for the simulator and live runs alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workflows.engine.entry import (
    SegmentCheckedActivity,
    TriggerScope,
    TriggerType,
    entry_trigger,
    trigger_entries,
    webhook_trigger,
)
from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Graph
from workflows.engine.registry import registry

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def graph_of(*nodes: tuple[str, str, dict[str, Any]]) -> Graph:
    return Graph.from_builder(
        {"nodes": [{"id": i, "type": t, "data": {"config": c}} for i, t, c in nodes], "edges": []}
    )


def scope(
    event: dict[str, Any], *, contact: dict[str, Any] | None = None, activity: Any = None
) -> TriggerScope:
    return TriggerScope(
        event=event, contact=contact or {"id": "c1"}, contact_id="c1", activity=activity, now=NOW
    )


TRIGGERS = graph_of(
    (
        "ev",
        "trigger_event",
        {"event": "email.clicked", "filter": {"contains": [{"var": "event.properties.url"}, "pricing"]}},
    ),
    ("seg", "trigger_segment", {"segment_id": "s1", "on": "enter"}),
    ("up", "trigger_score", {"threshold": 50, "direction": "up"}),
    ("down", "trigger_score", {"threshold": 50, "direction": "down"}),
    ("man", "trigger_manual", {}),
)


def entered(event: dict[str, Any], **extra: Any) -> tuple[str, ...]:
    return trigger_entries(TRIGGERS, scope(event, **extra)).entered


def score(old: Any, new: Any) -> dict[str, Any]:
    return {"type": "contact.updated", "properties": {"changes": {"score": [old, new]}}}


def test_trigger_entries_check_type_filter_and_segment() -> None:
    click = {"type": "email.clicked", "properties": {"url": "https://x.test/Pricing"}}
    assert entered(click) == ("ev",)
    assert entered({**click, "properties": {"url": "/blog"}}) == ()
    assert entered({"type": "segment.entered", "properties": {"segment_id": "s1"}}) == ("seg",)
    assert entered({"type": "segment.exited", "properties": {"segment_id": "s1"}}) == ()
    assert entered({"type": "page.viewed", "properties": {}}) == ()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (40, 55, ("up",)),
        (40, 50, ("up",)),  # reaching the threshold going up counts
        (50, 60, ()),
        (55, 60, ()),
        (60, 45, ("down",)),
        (60, 50, ("down",)),  # reaching the threshold going down counts: "down" mirrors "up"
        (50, 40, ()),  # starting at the threshold is not reaching it
        (None, 60, ()),  # not a number: no crossing
        (40, "55", ()),
    ],
)
def test_score_triggers_start_when_the_score_reaches_the_threshold_in_their_direction(
    old: Any, new: Any, expected: tuple[str, ...]
) -> None:
    assert entered(score(old, new)) == expected


def test_a_trigger_that_heard_the_event_and_did_not_start_says_why() -> None:
    result = trigger_entries(TRIGGERS, scope({"type": "email.clicked", "properties": {"url": "/blog"}}))
    assert result.heard and result.entered == ()
    (refusal,) = result.not_entered
    assert (refusal.node_id, refusal.type, refusal.error) == ("ev", "trigger_event", None)
    assert refusal.reason == "its filter does not hold for this event and contact"
    assert not trigger_entries(TRIGGERS, scope({"type": "page.viewed"})).heard


def test_a_filter_that_cannot_be_evaluated_is_a_reason_not_a_swallowed_error() -> None:
    graph = graph_of(("t", "trigger_event", {"event": "contact.created", "filter": {"in_segment": ["vip"]}}))
    result = trigger_entries(graph, scope({"type": "contact.created"}, activity=None))
    (refusal,) = result.not_entered
    assert result.entered == ()
    assert refusal.error == "in_segment needs the contact's activity, which is not available here"
    assert refusal.reason == f"its filter could not be evaluated ({refusal.error})"


def test_filters_read_the_contacts_activity_and_now_through_the_scope() -> None:
    world = FakeWorld(contact={"id": "c1"}, clock=lambda: NOW, segments={"vip"})
    world.add_event({"type": "page.viewed", "occurred_at": NOW - timedelta(days=2), "properties": {}})
    activity = fake_ports(world).activity
    rules = {
        "member": {"in_segment": ["vip"]},
        "outsider": {"in_segment": ["other"]},
        "recent": {">=": [{"event_count": {"type": "page.viewed", "within": "P7D"}}, 1]},
        "stale": {">=": [{"event_count": {"type": "page.viewed", "within": "P1D"}}, 1]},
        "young": {"<": [{"days_since": [{"var": "contact.created_at"}]}, 3]},
    }
    graph = graph_of(
        *(
            (name, "trigger_event", {"event": "order.completed", "filter": rule})
            for name, rule in rules.items()
        )
    )
    contact = {"id": "c1", "created_at": (NOW - timedelta(days=1)).isoformat()}
    result = trigger_entries(graph, scope({"type": "order.completed"}, contact=contact, activity=activity))
    assert result.entered == ("member", "recent", "young")
    assert [refusal.node_id for refusal in result.not_entered] == ["outsider", "stale"]


def test_a_segment_that_does_not_exist_cannot_be_asked_about() -> None:
    world = FakeWorld(contact={"id": "c1"}, clock=lambda: NOW, segments={"gone"})
    activity = SegmentCheckedActivity(fake_ports(world).activity, segment_exists=lambda _c, s: s == "kept")
    graph = graph_of(
        ("gone", "trigger_event", {"event": "contact.created", "filter": {"in_segment": ["gone"]}}),
        ("kept", "trigger_event", {"event": "contact.created", "filter": {"!": {"in_segment": ["kept"]}}}),
    )
    result = trigger_entries(graph, scope({"type": "contact.created"}, activity=activity))
    assert result.entered == ("kept",)
    (refusal,) = result.not_entered
    assert refusal.error == "the segment 'gone' does not exist (deleted since publishing?)"


def test_an_invalid_trigger_config_starts_nothing() -> None:
    graph = graph_of(("t", "trigger_event", {"event": "Not a type"}))
    assert not trigger_entries(graph, scope({"type": "Not a type"})).heard


def test_manual_and_webhook_entries_are_found_by_declaration() -> None:
    assert entry_trigger(TRIGGERS) == "man"
    assert (
        entry_trigger(graph_of(("a", "trigger_segment", {"segment_id": "s"}), ("b", "trigger_event", {})))
        == "a"
    )
    assert entry_trigger(graph_of(("x", "add_tag", {"tag": "t"}))) is None
    assert webhook_trigger(graph_of(("m", "trigger_manual", {}), ("w", "trigger_webhook", {}))) == "w"
    assert webhook_trigger(TRIGGERS) is None


def test_every_trigger_declares_how_it_is_entered() -> None:
    triggers = [node for node in registry if node.kind == "trigger"]
    assert all(isinstance(node, TriggerType) for node in triggers)
    by = {node.type: node.entered_by for node in triggers}  # type: ignore[attr-defined]
    assert {name for name, how in by.items() if how == "time"} == {
        "trigger_schedule",
        "trigger_date_field",
        "trigger_inactivity",
    }
    assert {name for name, how in by.items() if how == "event"} == {
        "trigger_event",
        "trigger_segment",
        "trigger_score",
        "trigger_prediction",  # a score crossing its threshold arrives as a prediction.crossed event
    }
    assert (by["trigger_manual"], by["trigger_webhook"]) == ("manual", "webhook")


def test_availability_references_and_ports_are_declared_on_the_node_types() -> None:
    assert {node.type for node in registry if not node.available} == set()
    references = {
        node.type: [(r.path, r.model, r.optional) for r in node.references]
        for node in registry
        if node.references
    }
    assert references == {
        "send_email": [("template_id", "templates.EmailTemplate", False)],
        "send_message": [("email.template_id", "templates.EmailTemplate", True)],
        "add_to_campaign": [("campaign_id", "campaigns.Campaign", False)],
        "remove_from_campaign": [("campaign_id", "campaigns.Campaign", False)],
        "trigger_segment": [("segment_id", "contacts.Segment", False)],
        "trigger_schedule": [("audience.segment_id", "contacts.Segment", True)],
        "enroll_in_workflow": [("workflow_id", "workflows.Workflow", False)],
        "http_request": [("credential_id", "workspaces.Credential", True)],
        "social_post": [("account_id", "connectors.Connector", False)],
        "crm_create": [("connector_id", "connectors.Connector", False)],
        "crm_update": [("connector_id", "connectors.Connector", False)],
    }
    unavailable_ports = {port for node in registry if not node.available for port in node.ports}
    assert unavailable_ports == set()
