from __future__ import annotations

import json
from typing import Any

import pytest

from workflows.engine.graph import WorkflowSettings
from workflows.engine.simulator import SimulationInputError, simulate

from .graphs import GraphBuilder, steps

SETTINGS = WorkflowSettings()
START = "2026-11-23T08:00:00Z"


def welcome_graph() -> Any:
    return (
        GraphBuilder()
        .trigger("contact.created", id="signup")
        .send_email("welcome", id="welcome")
        .wait_for_event("email.opened", "P2D", id="wait_open")
        .add_tag("opened", id="tag")
        .build()
    )


def sim(events: list[dict[str, Any]] | None = None, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "graph": welcome_graph(),
        "settings": SETTINGS,
        "contact": {"email": "a@x.test"},
        "start": START,
        "events": events or [],
        "until": "P10D",
    }
    arguments.update(overrides)
    return simulate(**arguments)


@pytest.mark.parametrize(
    ("overrides", "details"),
    [
        (
            {"events": [{"type": "contact.created"}, {"at": "2026-11-24T10:00:00", "type": "email.opened"}]},
            {"events[1].at": "must carry a time zone (e.g. '2026-11-22T10:00:00Z')"},
        ),
        (
            {"events": [{"after": "P1D", "at": "2026-11-24T10:00:00Z", "type": "email.opened"}]},
            {"events[0]": "give 'after' (a duration from start) or 'at' (a timestamp), not both"},
        ),
        (
            {"events": [{"after": "soon", "type": "email.opened"}]},
            {
                "events[0].after": "'soon' is not an ISO 8601 duration; write e.g. 'P3D', 'PT2H', 'P1DT12H' or 'P2W'"
            },
        ),
        (
            {"events": [{"after": "-P1D", "type": "email.opened"}]},
            {"events[0].after": "must not be negative"},
        ),
        (
            {"events": [{"type": "Opened!"}]},
            {
                "events[0].type": "'Opened!' is not an event type: use a catalogue type "
                "such as 'email.opened' or a custom one such as "
                "'custom.purchase_completed' (lower case, at least one dot)"
            },
        ),
        ({"events": [{"after": "P1D"}]}, {"events[0].type": "required"}),
        (
            {"until": "P1M"},
            {
                "until": "'P1M' uses years or months, whose length varies; use days or weeks instead (e.g. 'P30D')"
            },
        ),
        ({"until": "P9999D"}, {"until": "must be longer than zero and at most P3660D"}),
        ({"start": "tomorrow"}, {"start": "must be an ISO 8601 timestamp with a time zone"}),
        ({"contact": {"tags": "vip"}}, {"contact.tags": "must be a list"}),
        ({"contact": "ada"}, {"contact": "must be an object"}),
    ],
)
def test_bad_simulation_input_raises_with_field_paths(
    overrides: dict[str, Any], details: dict[str, str]
) -> None:
    with pytest.raises(SimulationInputError) as raised:
        sim(**overrides)
    assert raised.value.details == details


def test_the_first_event_matching_a_trigger_starts_the_run_and_earlier_events_are_history() -> None:
    result = sim(
        [
            {"after": "PT1H", "type": "page.viewed"},
            {"after": "PT2H", "type": "contact.created"},
            {"after": "PT3H", "type": "contact.created"},
        ]
    )
    assert result.trigger_node == "signup"
    assert result.entered_at.isoformat() == "2026-11-23T10:00:00+00:00"
    assert result.path[0]["at"].isoformat() == "2026-11-23T10:00:00+00:00"


def test_without_a_matching_event_the_contact_enters_by_hand_at_start() -> None:
    result = sim([{"after": "PT1H", "type": "page.viewed"}])
    assert (result.trigger_node, result.entered_at.isoformat()) == ("signup", "2026-11-23T08:00:00+00:00")
    assert result.path[0]["detail"] == {"trigger": "trigger_event", "event": None}


def test_a_manual_trigger_is_preferred_for_a_manual_entry() -> None:
    graph = (
        GraphBuilder()
        .trigger("contact.created", id="signup")
        .add_tag("auto")
        .end()
        .trigger_of("trigger_manual", id="by_hand")
        .add_tag("manual")
        .build()
    )
    result = sim([], graph=graph)
    assert result.trigger_node == "by_hand"
    assert result.contact["tags"] == ["manual"]


def test_an_email_event_without_node_counts_for_the_last_email_sent() -> None:
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .send_email("welcome", id="welcome")
        .delay("P1D")
        .condition({"email_event": {"event": "opened", "node": "welcome", "within": "P1D"}}, id="c")
        .build()
    )
    result = sim([{"type": "contact.created"}, {"after": "PT5H", "type": "email.opened"}], graph=graph)
    assert result.path[-1]["branch"] == "yes"


def test_the_simulated_send_records_an_email_sent_event() -> None:
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .send_email("welcome", id="welcome")
        .condition({"==": [{"event_count": {"type": "email.sent", "within": "PT1H"}}, 1]}, id="c")
        .build()
    )
    assert sim([], graph=graph).path[-1]["branch"] == "yes"


def test_the_run_stops_at_until_and_reports_waiting() -> None:
    result = sim([{"type": "contact.created"}], until="P1D")
    assert result.status == "waiting"
    assert steps(result)[-1] == ("wait_open", "wait", None)
    result = sim([{"type": "contact.created"}], until="P3D")
    assert (result.status, steps(result)[-1]) == ("completed", ("wait_open", "advance", "timeout"))


def test_events_after_until_are_ignored() -> None:
    result = sim([{"type": "contact.created"}, {"after": "P1DT1H", "type": "email.opened"}], until="P1D")
    assert result.status == "waiting"
    assert result.actions[-1]["type"] == "send_email"


def test_a_simulation_with_no_trigger_fails_with_a_reason() -> None:
    graph = GraphBuilder().node("add_tag", {"tag": "x"}).build()
    result = sim([], graph=graph)
    assert (result.status, result.reason, result.path) == (
        "failed",
        "The workflow has no trigger to enter at.",
        [],
    )


def test_the_result_is_json_for_the_api() -> None:
    answer = sim([{"type": "contact.created"}, {"after": "PT1H", "type": "email.opened"}]).as_dict()
    assert json.loads(json.dumps(answer)) == answer
    assert answer["status"] == "completed"
    assert set(answer["path"][0]) == {"node_id", "type", "at", "outcome", "branch", "detail"}
    assert answer["actions"] == [
        {
            "node_id": "welcome",
            "type": "send_email",
            "at": "2026-11-23T08:00:00+00:00",
            "summary": "Sent email template welcome",
        },
        {
            "node_id": "tag",
            "type": "add_tag",
            "at": "2026-11-23T09:00:00+00:00",
            "summary": "Added tag 'opened'",
        },
    ]


def test_simulation_does_not_change_the_contact_passed_in() -> None:
    contact = {"email": "a@x.test", "tags": ["trial"], "fields": {"plan": "free"}}
    sim([{"type": "contact.created"}, {"after": "PT1H", "type": "email.opened"}], contact=contact)
    assert contact == {"email": "a@x.test", "tags": ["trial"], "fields": {"plan": "free"}}


def test_a_suppressed_contact_gets_no_email_in_simulation() -> None:
    result = sim([], contact={"email": "a@x.test", "status": "unsubscribed"})
    assert result.actions[0]["summary"] == "Did not send template welcome: contact is unsubscribed"


def segment_filtered_graph() -> Any:
    return (
        GraphBuilder()
        .trigger("contact.created", filter={"in_segment": ["vip"]}, id="signup")
        .add_tag("welcomed", id="tag")
        .build()
    )


def test_a_segment_filter_enters_the_member_at_its_event_and_not_the_non_member() -> None:
    events = [{"after": "PT1H", "type": "contact.created"}]
    member = sim(events, graph=segment_filtered_graph(), contact={"email": "a@x.test", "segments": ["vip"]})
    assert (member.status, member.trigger_node) == ("completed", "signup")
    assert member.entered_at.isoformat() == "2026-11-23T09:00:00+00:00"
    assert member.state.trigger_event["type"] == "contact.created"

    outsider = sim(events, graph=segment_filtered_graph(), contact={"email": "b@x.test", "segments": []})
    assert (outsider.status, outsider.trigger_node, outsider.entered_at) == ("exited", None, None)
    assert (outsider.path, outsider.actions) == ([], [])
    assert outsider.reason == (
        "Not entered: trigger signup did not start because its filter does not hold for this event and contact."
    )


def test_a_filter_about_a_deleted_segment_is_not_entered_and_says_why_on_the_path() -> None:
    result = sim(
        [{"after": "PT1H", "type": "contact.created"}],
        graph=segment_filtered_graph(),
        contact={"email": "a@x.test", "segments": ["vip"]},
        segments_existing={"another"},
    )
    assert (result.status, result.trigger_node) == ("exited", None)
    error = "the segment 'vip' does not exist (deleted since publishing?)"
    assert (
        result.reason
        == f"Not entered: trigger signup did not start because its filter could not be evaluated ({error})."
    )
    assert result.as_dict()["path"] == [
        {
            "node_id": "signup",
            "type": "trigger_event",
            "at": "2026-11-23T09:00:00+00:00",
            "outcome": "not_entered",
            "branch": None,
            "detail": {
                "event": "contact.created",
                "reason": f"Not entered, because its filter could not be evaluated ({error}).",
            },
            "error": {"type": "ConditionError", "message": error},
        }
    ]


def test_an_unevaluable_filter_stays_on_the_path_when_a_later_trigger_starts_the_run() -> None:
    graph = (
        GraphBuilder()
        .trigger("contact.created", filter={"regex": [{"var": "event.properties.code"}, 5]}, id="broken")
        .add_tag("never")
        .end()
        .trigger("order.completed", id="bought")
        .add_tag("bought", id="tag")
        .build()
    )
    result = sim(
        [
            {"type": "contact.created", "properties": {"code": "x"}},
            {"after": "PT1H", "type": "order.completed"},
        ],
        graph=graph,
    )
    assert (result.status, result.trigger_node) == ("completed", "bought")
    assert [(entry["node_id"], entry["outcome"]) for entry in result.path] == [
        ("broken", "not_entered"),
        ("bought", "advance"),
        ("tag", "advance"),
    ]
    assert result.path[0]["error"]["type"] == "ConditionError"


def test_trigger_filters_see_the_history_and_the_virtual_now() -> None:
    graph = (
        GraphBuilder()
        .trigger(
            "order.completed",
            filter={">=": [{"event_count": {"type": "order.completed", "within": "P7D"}}, 2]},
            id="second_order",
        )
        .add_tag("repeat", id="tag")
        .build()
    )
    result = sim(
        [
            {"type": "order.completed"},
            {"after": "P8D", "type": "order.completed"},
            {"after": "P9D", "type": "order.completed"},
        ],
        graph=graph,
        until="P10D",
    )
    assert (result.trigger_node, result.entered_at.isoformat()) == (
        "second_order",
        "2026-12-02T08:00:00+00:00",
    )
