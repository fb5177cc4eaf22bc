"""sms_event and push_event: conditions on a contact's SMS and push history, as email_event is on its email
(CONTRACT §13), through the activity port; their expression forms smsEvent/pushEvent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workflows.engine.conditions import check_rule, evaluate
from workflows.engine.expression_render import rule_render
from workflows.engine.expressions import expression_compile
from workflows.engine.fakes import FakeWorld, fake_ports

from .graphs import ts

NOW = ts("2026-11-23T10:00:00Z")


def activity(*events: tuple[str, str | None, int]):
    """The recording fakes' activity port over events (type, node id, hours ago)."""
    world = FakeWorld(contact={"id": "c1"}, clock=lambda: NOW)
    for type_, node_id, hours_ago in events:
        properties = {"node_id": node_id} if node_id else {}
        world.add_event(
            {"type": type_, "occurred_at": NOW - timedelta(hours=hours_ago), "properties": properties}
        )
    return fake_ports(world).activity


def holds(rule, port) -> bool:
    return evaluate(rule, {}, now=NOW, contact_id="c1", activity=port)


def test_sms_event_holds_for_the_event_of_the_node_within_the_window() -> None:
    port = activity(("sms.delivered", "text", 5), ("sms.failed", "other", 1))
    assert holds({"sms_event": {"event": "delivered"}}, port)
    assert holds({"sms_event": {"event": "sms.delivered", "node": "text", "within": "PT6H"}}, port)
    assert not holds({"sms_event": {"event": "delivered", "within": "PT4H"}}, port)
    assert not holds({"sms_event": {"event": "delivered", "node": "other"}}, port)
    assert not holds({"sms_event": {"event": "received"}}, port)


def test_push_event_reads_push_events_only() -> None:
    port = activity(("push.clicked", "n", 1), ("email.clicked", "n", 1))
    assert holds({"push_event": {"event": "clicked", "node": "n"}}, port)
    assert not holds({"push_event": {"event": "sent"}}, port)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (
            {"sms_event": {"event": "opened"}},
            "sms_event.event 'opened' is not one of sent, delivered, failed, received",
        ),
        ({"push_event": {}}, "push_event needs 'event', one of sent, failed, clicked"),
        ({"sms_event": {"event": "sent", "url_contains": "x"}}, "sms_event has no parameter 'url_contains'"),
        ({"push_event": {"event": "clicked", "within": "P1M"}}, "push_event.within"),
        ({"sms_event": "delivered"}, "sms_event takes an object"),
    ],
)
def test_a_malformed_channel_event_is_refused_with_what_to_fix(rule, problem) -> None:
    problems = check_rule(rule)
    assert problems and problem in problems[0], problems


def test_channel_events_have_expression_forms_that_round_trip() -> None:
    rule = {
        "and": [{"sms_event": {"event": "delivered", "within": "P3D"}}, {"push_event": {"event": "clicked"}}]
    }
    text = rule_render(rule)
    assert text == 'smsEvent({event: "delivered", within: "P3D"}) && pushEvent({event: "clicked"})'
    assert expression_compile(text) == rule


def test_an_expression_with_a_bad_channel_event_says_how_to_call_it() -> None:
    from workflows.engine.expressions import ExpressionError

    with pytest.raises(ExpressionError) as refused:
        expression_compile('smsEvent("delivered")')
    assert 'smsEvent takes one object: smsEvent({event: "delivered", within: "P3D"})' in str(refused.value)
