"""Step semantics of the logic and wait nodes, the runner's waiting contract, failures and settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.nodes.logic import split_bucket
from workflows.engine.ports import PortError, effect_key
from workflows.engine.registry import registry
from workflows.engine.runner import match_exit_condition, reenrollment_allowed
from workflows.engine.state import EnrollmentState, Resume

from .graphs import GraphBuilder, Harness, brief, ts

AT = ts("2026-11-23T10:00:00Z")  # a Monday


# --- condition / switch / split / exit -------------------------------------------------------------------------


def condition_graph(rule: object) -> Graph:
    return (
        GraphBuilder()
        .trigger("contact.created")
        .condition(rule, id="c")
        .add_tag("yes-tag", id="y")
        .on("c", "no")
        .add_tag("no-tag", id="n")
        .build()
    )


def test_condition_takes_yes_when_the_rule_holds_and_records_the_value() -> None:
    run = Harness(
        condition_graph({">=": [{"var": "contact.score"}, 10]}),
        at=AT,
        contact={"id": "c1", "score": 12, "tags": []},
    )
    assert brief(run.run()) == [
        ("trigger", "advance", "default"),
        ("c", "advance", "yes"),
        ("y", "advance", "default"),
    ]
    assert run.records[1].detail == {"value": True, "result": True, "seen": {"contact.score": 12}}
    assert run.state.status == "completed"
    assert run.contact["tags"] == ["yes-tag"]


def test_condition_takes_no_when_the_rule_does_not_hold() -> None:
    run = Harness(
        condition_graph({">=": [{"var": "contact.score"}, 10]}), at=AT, contact={"id": "c1", "score": 3}
    )
    assert brief(run.run())[1:] == [("c", "advance", "no"), ("n", "advance", "default")]
    assert run.contact["tags"] == ["no-tag"]


def test_condition_rule_sees_contact_event_enrollment_and_now() -> None:
    rule = {
        "and": [
            {"==": [{"var": "event.properties.plan"}, "pro"]},
            {"==": [{"var": "enrollment.steps"}, 1]},
            {"==": [{"var": "now"}, "2026-11-23T10:00:00+00:00"]},
            {"==": [{"var": "enrollment.entered_at"}, "2026-11-23T10:00:00+00:00"]},
        ]
    }
    run = Harness(
        condition_graph(rule), at=AT, trigger_event={"type": "contact.created", "properties": {"plan": "pro"}}
    )
    assert brief(run.run())[1] == ("c", "advance", "yes")


def test_an_evaluation_error_fails_the_step_with_the_message_and_takes_no_branch() -> None:
    run = Harness(condition_graph({"/": [1, 0]}), at=AT)
    records = run.run()
    assert brief(records) == [("trigger", "advance", "default"), ("c", "fail", None)]
    assert records[1].error == {"type": "ConditionError", "message": "the rule divides by zero"}
    assert records[1].detail == {
        "reason": "The condition could not be evaluated: the rule divides by zero",
        "permanent": True,
    }
    assert run.state.status == "failed"
    assert run.state.error == "The condition could not be evaluated: the rule divides by zero"
    assert run.world.actions == []


def test_an_unknown_operation_reaching_run_time_fails_the_step() -> None:
    run = Harness(condition_graph({"teleport": [1]}), at=AT)
    assert brief(run.run())[-1] == ("c", "fail", None)
    assert run.state.error == "The condition could not be evaluated: unknown operation 'teleport'"


def switch_graph() -> Graph:
    builder = (
        GraphBuilder()
        .trigger("contact.created")
        .node(
            "switch",
            {
                "cases": [
                    {"id": "gold", "rule": {">": [{"var": "contact.score"}, 100]}},
                    {"id": "silver", "rule": {">": [{"var": "contact.score"}, 10]}},
                    {"id": "also_silver", "rule": {">": [{"var": "contact.score"}, 10]}},
                ]
            },
            id="s",
            next_branch="gold",
        )
    )
    return (
        builder.add_tag("gold", id="g")
        .on("s", "silver")
        .add_tag("silver", id="s1")
        .on("s", "also_silver")
        .add_tag("never", id="s2")
        .on("s", "default")
        .add_tag("default", id="d")
        .build()
    )


@pytest.mark.parametrize(
    ("score", "branch", "checked"),
    [
        (500, "gold", ["gold"]),
        (50, "silver", ["gold", "silver"]),
        (1, "default", ["gold", "silver", "also_silver"]),
    ],
)
def test_switch_takes_the_first_matching_case_else_default(
    score: int, branch: str, checked: list[str]
) -> None:
    run = Harness(switch_graph(), at=AT, contact={"id": "c1", "score": score})
    records = run.run()
    assert (records[1].branch, records[1].detail["checked"]) == (branch, checked)
    assert records[1].detail["seen"] == {"contact.score": score}
    assert run.contact["tags"] == [branch]


def split_graph(weights: tuple[float, float] = (1, 1)) -> Graph:
    variants = [{"id": "a", "weight": weights[0]}, {"id": "b", "weight": weights[1]}]
    return (
        GraphBuilder()
        .trigger("contact.created")
        .node("split", {"variants": variants}, id="s", next_branch="a")
        .add_tag("a", id="ta")
        .on("s", "b")
        .add_tag("b", id="tb")
        .build()
    )


def test_split_bucket_is_a_stable_sha256_of_contact_and_node() -> None:
    # Fixed numbers: a change here would move live contacts between variants.
    assert split_bucket(contact_id="c1", node_id="s") == pytest.approx(0.9210, abs=1e-4)
    assert split_bucket(contact_id="c1", node_id="s") == split_bucket(contact_id="c1", node_id="s")
    assert split_bucket(contact_id="c1", node_id="other") != split_bucket(contact_id="c1", node_id="s")


def test_split_gives_a_contact_the_same_variant_every_time() -> None:
    first = Harness(split_graph(), at=AT, contact={"id": "c1"}).run()[1]
    again = Harness(split_graph(), at=AT + timedelta(days=9), contact={"id": "c1"}).run()[1]
    assert first.branch == again.branch == "b"
    assert first.detail == {"variant": "b", "bucket": 0.921005}


def test_split_never_takes_a_zero_weight_variant() -> None:
    branches = {
        Harness(split_graph((0, 1)), at=AT, contact={"id": f"c{i}"}).run()[1].branch for i in range(200)
    }
    assert branches == {"b"}


def test_split_with_zero_total_weight_fails_at_run_time() -> None:
    run = Harness(split_graph((0, 0)), at=AT)
    assert brief(run.run())[-1] == ("s", "fail", None)
    assert run.state.error == "The split's weights add up to 0, so no variant can be chosen."


def test_exit_node_ends_the_enrollment_as_exited() -> None:
    graph = GraphBuilder().trigger("contact.created").exit("Not a fit", id="x").build()
    run = Harness(graph, at=AT)
    assert brief(run.run()) == [("trigger", "advance", "default"), ("x", "exit", None)]
    assert (run.state.status, run.state.exit_reason) == ("exited", "Not a fit")


def test_no_outgoing_edge_for_the_branch_taken_completes_the_enrollment() -> None:
    graph = GraphBuilder().trigger("contact.created").condition(False, id="c").add_tag("x").build()
    run = Harness(graph, at=AT)
    run.run()
    assert (run.state.status, run.state.current_node, run.state.finished_at) == ("completed", "c", AT)
    assert run.world.actions == []


# --- delay ------------------------------------------------------------------------------------------------------


def test_delay_waits_for_its_duration_and_ignores_early_timers() -> None:
    graph = GraphBuilder().trigger("contact.created").delay("P2DT3H", id="d").add_tag("later", id="a").build()
    run = Harness(graph, at=AT)
    assert brief(run.run()) == [("trigger", "advance", "default"), ("d", "wait", None)]
    assert run.state.status == "waiting"
    assert run.state.next_run_at == ts("2026-11-25T13:00:00Z")
    assert run.timer(ts("2026-11-25T12:59:59Z")) == []
    assert run.state.status == "waiting" and run.contact["tags"] == []
    assert brief(run.timer(ts("2026-11-25T13:00:00Z"))) == [
        ("d", "advance", "default"),
        ("a", "advance", "default"),
    ]
    assert run.state.status == "completed"


def test_events_do_not_wake_a_delay() -> None:
    graph = GraphBuilder().trigger("contact.created").delay("P1D", id="d").add_tag("x").build()
    run = Harness(graph, at=AT)
    run.run()
    assert run.event("email.opened", AT + timedelta(hours=1)) == []
    assert run.state.status == "waiting"


WEEKDAY_WINDOW = {
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "09:00",
    "end": "17:00",
    "timezone": "contact",
}
EVERY_DAY = {
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "start": "09:00",
    "end": "17:00",
    "timezone": "contact",
}


@pytest.mark.parametrize(
    ("entered", "expected"),
    [
        # Saturday 7 March 2026, 17:30 EST + 1 h → Sunday 8 March (DST starts at 02:00) opens at 09:00 EDT.
        ("2026-03-07T22:30:00Z", "2026-03-08T13:00:00Z"),
        # Saturday 31 October 2026, 17:30 EDT + 1 h → Sunday 1 November (DST ends at 02:00) opens at 09:00 EST.
        ("2026-10-31T21:30:00Z", "2026-11-01T14:00:00Z"),
        # The Friday before each change, 20:00 local → Saturday 09:00 local, still on the old offset.
        ("2026-03-07T00:00:00Z", "2026-03-07T14:00:00Z"),
        ("2026-10-30T23:00:00Z", "2026-10-31T13:00:00Z"),
    ],
)
def test_delay_window_opens_at_nine_local_on_both_sides_of_dst(entered: str, expected: str) -> None:
    graph = GraphBuilder().trigger("contact.created").delay("PT1H", window=EVERY_DAY, id="d").build()
    run = Harness(graph, at=ts(entered), contact={"id": "c1", "timezone": "America/New_York"})
    run.run()
    assert run.state.next_run_at == ts(expected)
    from zoneinfo import ZoneInfo

    local = ts(expected).astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (9, 0)


def test_delay_inside_the_window_does_not_defer() -> None:
    graph = GraphBuilder().trigger("contact.created").delay("PT1H", window=WEEKDAY_WINDOW, id="d").build()
    run = Harness(graph, at=ts("2026-11-23T09:00:00Z"), contact={"id": "c1", "timezone": "Europe/Paris"})
    run.run()
    assert run.state.next_run_at == ts("2026-11-23T10:00:00Z")
    assert "window_deferred_from" not in run.records[-1].detail


def test_a_contact_without_a_zone_uses_the_workflow_zone() -> None:
    graph = GraphBuilder().trigger("contact.created").delay("PT1H", window=WEEKDAY_WINDOW, id="d").build()
    # Friday 2026-11-27 20:00 UTC + 1 h; the workflow runs on Tokyo time: Monday 09:00 JST = Monday 00:00 UTC.
    run = Harness(
        graph,
        at=ts("2026-11-27T20:00:00Z"),
        contact={"id": "c1"},
        settings=WorkflowSettings.parse({"timezone": "Asia/Tokyo"}),
    )
    run.run()
    assert run.state.next_run_at == ts("2026-11-30T00:00:00Z")


def test_a_window_with_on_miss_send_does_not_defer() -> None:
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .delay("PT1H", window={**WEEKDAY_WINDOW, "on_miss": "send"})
        .build()
    )
    run = Harness(graph, at=ts("2026-11-28T20:00:00Z"), contact={"id": "c1", "timezone": "UTC"})
    run.run()
    assert run.state.next_run_at == ts("2026-11-28T21:00:00Z")


# --- wait_until ---------------------------------------------------------------------------------------------


def wait_until_graph(config: dict) -> Graph:
    return (
        GraphBuilder()
        .trigger("contact.created")
        .node("wait_until", config, id="w")
        .add_tag("done", id="a")
        .build()
    )


def test_wait_until_a_future_datetime_waits_and_a_past_one_advances_at_once() -> None:
    run = Harness(wait_until_graph({"datetime": "2026-12-01T09:00:00+01:00"}), at=AT)
    run.run()
    assert run.state.next_run_at == ts("2026-12-01T08:00:00Z")
    past = Harness(wait_until_graph({"datetime": "2026-11-01T09:00:00Z"}), at=AT)
    assert brief(past.run())[1:] == [("w", "advance", "default"), ("a", "advance", "default")]
    assert past.records[1].detail == {"until": "2026-11-01T09:00:00+00:00", "already_passed": True}


def test_wait_until_weekday_and_time_in_the_contact_zone() -> None:
    config = {"weekdays": ["thu"], "time": "08:30"}
    run = Harness(wait_until_graph(config), at=AT, contact={"id": "c1", "timezone": "Asia/Kolkata"})
    run.run()
    assert run.state.next_run_at == ts("2026-11-26T03:00:00Z")  # Thursday 08:30 IST


def test_wait_until_a_time_later_today_waits_until_today() -> None:
    run = Harness(wait_until_graph({"time": "18:00", "timezone": "Europe/Paris"}), at=AT)
    run.run()
    assert run.state.next_run_at == ts("2026-11-23T17:00:00Z")


def test_wait_until_a_contact_date_field() -> None:
    contact = {"id": "c1", "timezone": "Europe/Paris", "fields": {"renewal": "2026-12-24"}}
    run = Harness(wait_until_graph({"field": "renewal", "time": "09:00"}), at=AT, contact=contact)
    run.run()
    assert run.state.next_run_at == ts("2026-12-24T08:00:00Z")


def test_wait_until_a_passed_contact_date_advances_at_once() -> None:
    contact = {"id": "c1", "fields": {"renewal": "2026-01-01T00:00:00Z"}}
    run = Harness(wait_until_graph({"field": "fields.renewal"}), at=AT, contact=contact)
    assert brief(run.run())[-1] == ("a", "advance", "default")


def test_wait_until_an_empty_contact_date_fails_with_the_field_name() -> None:
    run = Harness(wait_until_graph({"field": "renewal"}), at=AT, contact={"id": "c1", "fields": {}})
    run.run()
    assert run.state.error == "The contact's field 'renewal' holds no date to wait for."


# --- wait_for_event ---------------------------------------------------------------------------------------------


def reply_graph() -> Graph:
    return (
        GraphBuilder()
        .trigger("contact.created")
        .wait_for_event(
            "review.submitted", "P7D", filter={">=": [{"var": "event.properties.rating"}, 5]}, id="w"
        )
        .add_tag("promoter", id="yes")
        .on("w", "timeout")
        .add_tag("silent", id="no")
        .build()
    )


def test_wait_for_event_takes_event_branch_when_a_matching_event_arrives() -> None:
    run = Harness(reply_graph(), at=AT)
    assert brief(run.run())[-1] == ("w", "wait", None)
    assert (run.state.awaited_event, run.state.next_run_at) == ("review.submitted", AT + timedelta(days=7))
    records = run.event("review.submitted", AT + timedelta(days=2), rating=5)
    assert brief(records) == [("w", "advance", "event"), ("yes", "advance", "default")]
    assert run.contact["tags"] == ["promoter"]


def test_wait_for_event_keeps_waiting_when_the_filter_does_not_match() -> None:
    run = Harness(reply_graph(), at=AT)
    run.run()
    assert run.event("review.submitted", AT + timedelta(days=1), rating=2) == []
    assert run.event("email.opened", AT + timedelta(days=1)) == []
    assert run.state.status == "waiting" and run.state.step_count == 2


def test_wait_for_event_takes_timeout_branch_when_no_event_arrives() -> None:
    run = Harness(reply_graph(), at=AT)
    run.run()
    assert run.timer(AT + timedelta(days=6)) == []
    assert brief(run.timer(AT + timedelta(days=7))) == [
        ("w", "advance", "timeout"),
        ("no", "advance", "default"),
    ]
    assert run.contact["tags"] == ["silent"]


def test_an_event_that_occurred_after_the_deadline_takes_the_timeout_branch() -> None:
    run = Harness(reply_graph(), at=AT)
    run.run()
    records = run.event("review.submitted", AT + timedelta(days=8), rating=5)
    assert brief(records)[0] == ("w", "advance", "timeout")
    assert records[0].detail["late_event"] is True


# --- actions, ports, retries ------------------------------------------------------------------------------------


def test_send_email_outside_its_window_waits_then_sends_exactly_once() -> None:
    graph = (
        GraphBuilder().trigger("contact.created").send_email("welcome", id="m", window=WEEKDAY_WINDOW).build()
    )
    run = Harness(
        graph, at=ts("2026-11-28T10:00:00Z"), contact={"id": "c1", "timezone": "UTC", "status": "subscribed"}
    )
    assert brief(run.run())[-1] == ("m", "wait", None)
    assert run.world.actions == []
    assert brief(run.timer(ts("2026-11-30T09:00:00Z"))) == [("m", "advance", "default")]
    assert [(a["type"], a["key"]) for a in run.world.actions] == [("send_email", "enr-1:m:1")]
    assert run.records[-1].detail == {"template_id": "welcome", "message_id": "message-1", "status": "queued"}


class FlakyEmail:
    def __init__(self, failures: int, *, retryable: bool = True) -> None:
        self.failures = failures
        self.retryable = retryable
        self.keys: list[str] = []

    def send(self, **kwargs: object) -> object:
        from workflows.engine.ports import EmailResult

        self.keys.append(str(kwargs["key"]))
        if len(self.keys) <= self.failures:
            raise PortError("SMTP server unavailable", retryable=self.retryable)
        return EmailResult(message_id="m-1")


def flaky_harness(email: FlakyEmail) -> Harness:
    from dataclasses import replace

    graph = GraphBuilder().trigger("contact.created").send_email("welcome", id="m").build()
    run = Harness(graph, at=AT)
    run.ports = replace(run.ports, email=email)
    return run


def test_a_transient_port_error_retries_later_with_the_same_effect_key() -> None:
    email = FlakyEmail(failures=1)
    run = flaky_harness(email)
    assert brief(run.run())[-1] == ("m", "retry", None)
    assert run.records[-1].error == {"type": "PortError", "message": "SMTP server unavailable"}
    assert run.state.status == "waiting" and run.state.wait.retry is True  # type: ignore[union-attr]
    retry_at = run.state.next_run_at
    # send_email's policy: the first retry after 60 s ± 20 % jitter.
    assert retry_at is not None and timedelta(seconds=48) <= retry_at - AT <= timedelta(seconds=72)
    assert brief(run.timer(retry_at)) == [("m", "advance", "default")]
    assert email.keys == ["enr-1:m:1", "enr-1:m:1"]
    assert run.state.status == "completed"


def test_email_retries_stop_after_its_policys_eight_attempts_and_fail_visibly() -> None:
    run = flaky_harness(FlakyEmail(failures=99))
    run.run()
    for _ in range(20):
        if run.state.status != "waiting":
            break
        run.timer(run.state.next_run_at)  # type: ignore[arg-type]
    assert [record.outcome for record in run.records[1:]] == ["retry"] * 7 + ["fail"]
    assert run.state.error == "Gave up after 8 attempts: SMTP server unavailable"


def test_a_permanent_port_error_fails_without_retry() -> None:
    run = flaky_harness(FlakyEmail(failures=1, retryable=False))
    assert brief(run.run())[-1] == ("m", "fail", None)
    assert run.state.error == "SMTP server unavailable"


def test_an_unexpected_exception_fails_the_step_with_its_traceback() -> None:
    class Broken:
        def send(self, **kwargs: object) -> object:
            raise RuntimeError("boom")

    from dataclasses import replace

    graph = GraphBuilder().trigger("contact.created").send_email("welcome", id="m").build()
    run = Harness(graph, at=AT)
    run.ports = replace(run.ports, email=Broken())
    record = run.run()[-1]
    assert (record.outcome, record.error["type"], record.error["message"]) == ("fail", "RuntimeError", "boom")  # type: ignore[index]
    assert "Traceback" in record.error["traceback"]  # type: ignore[index]
    assert run.state.error == "The step failed unexpectedly (RuntimeError: boom)."


def test_actions_mirror_their_changes_into_the_contact_for_later_conditions() -> None:
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .node("update_score", {"delta": 15})
        .node("update_field", {"field": "plan", "value": "pro"})
        .node("update_field", {"field": "visits", "value": 2, "op": "increment"})
        .node("change_status", {"status": "unsubscribed"})
        .condition(
            {
                "and": [
                    {">": [{"var": "contact.score"}, 10]},
                    {"==": [{"var": "contact.fields.plan"}, "pro"]},
                    {"==": [{"var": "contact.fields.visits"}, 3]},
                    {"==": [{"var": "contact.status"}, "unsubscribed"]},
                ]
            },
            id="c",
        )
        .build()
    )
    run = Harness(
        graph, at=AT, contact={"id": "c1", "score": 0, "fields": {"visits": 1}, "status": "subscribed"}
    )
    assert brief(run.run())[-1] == ("c", "advance", "yes")


def test_an_unknown_node_type_fails_at_run_time() -> None:
    graph = GraphBuilder().trigger("contact.created").node("teleport", {}, id="x").build()
    run = Harness(graph, at=AT)
    run.run()
    assert run.state.error == "Unknown node type 'teleport'."


def test_an_invalid_config_fails_at_run_time_with_its_path() -> None:
    graph = GraphBuilder().trigger("contact.created").node("add_tag", {"tag": ""}, id="x").build()
    run = Harness(graph, at=AT)
    run.run()
    assert run.state.error == "The node's config is invalid (config.tag: must have at least 1 character)."


# --- limits, exits, re-enrollment -------------------------------------------------------------------------------


def test_max_steps_fails_a_runaway_enrollment_with_a_clear_reason() -> None:
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .delay("PT0S", id="d")
        .add_tag("again", id="a")
        .goto("d")
        .build()
    )
    run = Harness(graph, at=AT, settings=WorkflowSettings.parse({"max_steps_per_enrollment": 25}))
    records = run.run()
    assert len(records) == 26 and records[-1].outcome == "fail"
    assert run.state.error == "The enrollment ran 25 steps, the workflow's limit (max_steps_per_enrollment)."
    assert run.state.visits == {"trigger": 1, "d": 13, "a": 12}


def test_every_visit_has_its_own_effect_key() -> None:
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .delay("P1D", id="d")
        .add_tag("again", id="a")
        .goto("d")
        .build()
    )
    run = Harness(graph, at=AT)
    run.run()
    for day in (1, 2, 3):
        run.timer(AT + timedelta(days=day))
    assert [action["key"] for action in run.world.actions] == ["enr-1:a:1", "enr-1:a:2", "enr-1:a:3"]
    assert effect_key("enr-1", "a", 3) == "enr-1:a:3"


def test_an_event_exit_condition_ends_a_waiting_enrollment_at_once_and_counts_the_goal() -> None:
    graph = GraphBuilder().trigger("contact.created").delay("P1D", id="d").add_tag("x").build()
    settings = WorkflowSettings.parse(
        {
            "exit_conditions": [
                {
                    "event": "order.paid",
                    "goal": "Purchase",
                    "filter": {">": [{"var": "event.properties.total"}, 0]},
                }
            ]
        }
    )
    run = Harness(graph, at=AT, settings=settings)
    run.run()
    assert run.event("order.paid", AT + timedelta(hours=2), total=0) == []
    records = run.event("order.paid", AT + timedelta(hours=3), total=10)
    assert brief(records) == [("d", "exit", None)]
    assert records[0].detail == {
        "exit_condition": 0,
        "reason": "Exit condition: event order.paid arrived",
        "goal": "Purchase",
        "event": "order.paid",
    }
    assert (run.state.status, run.state.goal) == ("exited", "Purchase")
    assert run.timer(AT + timedelta(days=1)) == []
    assert run.world.actions == []


def test_a_rule_exit_condition_is_checked_before_every_step() -> None:
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .node("change_status", {"status": "unsubscribed"}, id="s")
        .send_email("promo", id="m")
        .build()
    )
    settings = WorkflowSettings.parse(
        {"exit_conditions": [{"rule": {"==": [{"var": "contact.status"}, "unsubscribed"]}}]}
    )
    run = Harness(graph, at=AT, settings=settings)
    assert brief(run.run()) == [
        ("trigger", "advance", "default"),
        ("s", "advance", "default"),
        ("m", "exit", None),
    ]
    assert [action["type"] for action in run.world.actions] == ["change_status"]


def test_match_exit_condition_returns_the_first_match() -> None:
    settings = WorkflowSettings.parse(
        {
            "exit_conditions": [
                {"event": "email.replied"},
                {"rule": {"in": ["customer", {"var": "contact.tags"}]}},
            ]
        }
    )
    data = {"contact": {"tags": ["customer"]}}
    assert match_exit_condition(settings, event={"type": "email.replied"}, data=data).index == 0  # type: ignore[union-attr]
    assert match_exit_condition(settings, event={"type": "email.opened"}, data=data).index == 1  # type: ignore[union-attr]
    assert match_exit_condition(settings, data={"contact": {"tags": []}}) is None


@pytest.mark.parametrize(
    ("reenrollment", "entries", "has_live", "expected"),
    [
        ({"mode": "never"}, [], False, (True, "First entry.")),
        (
            {"mode": "never"},
            [AT - timedelta(days=400)],
            False,
            (False, "The contact entered on 2025-10-19T10:00:00+00:00 and re-enrollment is off."),
        ),
        ({"mode": "always"}, [AT - timedelta(hours=1)], False, (True, "Re-enrollment is always allowed.")),
        ({"mode": "always"}, [], True, (False, "The contact is already in this workflow.")),
        (
            {"mode": "after", "after": "P90D"},
            [AT - timedelta(days=91)],
            False,
            (True, "The last entry was more than P90D ago."),
        ),
        (
            {"mode": "after", "after": "P90D"},
            [AT - timedelta(days=200), AT - timedelta(days=10)],
            False,
            (False, "The contact may enter again from 2027-02-11T10:00:00+00:00 (re-enrollment after P90D)."),
        ),
    ],
)
def test_reenrollment_rules(
    reenrollment: dict, entries: list[datetime], has_live: bool, expected: tuple
) -> None:
    settings = WorkflowSettings.parse({"reenrollment": reenrollment})
    assert reenrollment_allowed(settings, previous_entries=entries, has_live=has_live, now=AT) == expected


# --- the waiting contract: state survives JSON -------------------------------------------------------------------


def test_state_survives_json_between_runs_and_resumes_identically() -> None:
    graph = reply_graph()
    run = Harness(graph, at=AT)
    run.run()
    stored = json.loads(json.dumps(run.state.to_dict()))
    restored = EnrollmentState.from_dict(stored)
    assert restored == run.state
    assert stored["wait"] == {
        "node_id": "w",
        "since": "2026-11-23T10:00:00+00:00",
        "until": None,
        "event": "review.submitted",
        "timeout_at": "2026-11-30T10:00:00+00:00",
        "retry": False,
        "detail": {"event": "review.submitted", "timeout_at": "2026-11-30T10:00:00+00:00"},
    }
    run.state = restored
    event = {
        "type": "review.submitted",
        "properties": {"rating": 5},
        "occurred_at": "2026-11-24T10:00:00+00:00",
    }
    records = run.run(
        Resume.event_arrived(event=event, at=ts("2026-11-24T10:00:00Z")), at=ts("2026-11-24T10:00:00Z")
    )
    assert brief(records) == [("w", "advance", "event"), ("yes", "advance", "default")]


def test_run_enrollment_does_not_change_the_state_it_was_given() -> None:
    run = Harness(reply_graph(), at=AT)
    before = run.state.to_dict()
    original = run.state
    run.run()
    assert original.to_dict() == before
    assert run.state is not original


def test_a_finished_enrollment_does_nothing_more() -> None:
    graph = GraphBuilder().trigger("contact.created").add_tag("once").build()
    run = Harness(graph, at=AT)
    run.run()
    assert run.run() == [] and run.timer(AT + timedelta(days=1)) == []
    assert len(run.world.actions) == 1


# --- triggers ---------------------------------------------------------------------------------------------------


def test_schedule_trigger_rrule_keeps_local_time_across_dst() -> None:
    schedule = registry.get("trigger_schedule")
    config = schedule.parse_config(
        {
            "rrule": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0",  # type: ignore[union-attr]
            "timezone": "America/New_York",
        }
    )
    first = schedule.next_run(config, after=ts("2026-03-02T15:00:00Z"))  # type: ignore[union-attr]
    assert first == ts("2026-03-09T13:00:00Z")  # Monday 09:00 EDT, after the change
    assert schedule.next_run(config, after=ts("2026-02-24T00:00:00Z")) == ts("2026-03-02T14:00:00Z")  # type: ignore[union-attr]


def test_date_field_trigger_fires_days_before_at_local_time() -> None:
    trigger = registry.get("trigger_date_field")
    config = trigger.parse_config({"field": "renewal_date", "offset": "-P3D", "at_time": "09:00"})  # type: ignore[union-attr]
    from datetime import date

    fired = trigger.fire_at(config, value=date(2026, 11, 3), timezone="America/New_York")  # type: ignore[union-attr]
    assert fired == ts("2026-10-31T13:00:00Z")  # 09:00 EDT, although 3 November is on EST


def test_invalid_rrule_and_missing_schedule_are_config_errors() -> None:
    from pydantic import ValidationError

    schedule = registry.get("trigger_schedule")
    with pytest.raises(ValidationError, match="not a valid RFC 5545 recurrence rule"):
        schedule.parse_config({"rrule": "FREQ=SOMETIMES"})  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="exactly one of 'at'"):
        schedule.parse_config({})  # type: ignore[union-attr]


def test_clock_is_the_only_time_source() -> None:
    graph = GraphBuilder().trigger("contact.created").delay("PT5M", id="d").build()
    far_future = datetime(2099, 1, 1, tzinfo=UTC)
    run = Harness(graph, at=far_future)
    run.run()
    assert run.state.next_run_at == far_future + timedelta(minutes=5)


def test_wants_event_names_the_events_worth_a_resume() -> None:
    from workflows.engine.runner import wants_event

    run = Harness(
        reply_graph(),
        at=AT,
        settings=WorkflowSettings.parse(
            {
                "exit_conditions": [
                    {"event": "order.paid"},
                    {"rule": {"==": [{"var": "contact.status"}, "unsubscribed"]}},
                ]
            }
        ),
    )
    run.run()
    wanted = {
        kind: wants_event(settings=run.settings, state=run.state, event_type=kind)
        for kind in ("review.submitted", "order.paid", "contact.updated", "page.viewed")
    }
    assert wanted == {
        "review.submitted": True,
        "order.paid": True,
        "contact.updated": True,
        "page.viewed": False,
    }


def test_a_goal_exit_enrolls_the_contact_in_the_on_exit_workflow_once() -> None:
    graph = GraphBuilder().trigger("contact.created").delay("P1D", id="d").build()
    settings = WorkflowSettings.parse(
        {"exit_conditions": [{"event": "order.paid", "goal": "Purchase"}], "on_exit_enroll": "wf-customers"}
    )
    run = Harness(graph, at=AT, settings=settings)
    run.run()
    records = run.event("order.paid", AT + timedelta(hours=1))
    assert records[0].detail["enrolled_in"] == "wf-customers"
    assert [(a["type"], a["summary"]) for a in run.world.actions] == [
        ("enroll_in_workflow", "Enrolled in workflow wf-customers")
    ]


def test_a_non_goal_exit_does_not_enroll_elsewhere() -> None:
    graph = GraphBuilder().trigger("contact.created").delay("P1D", id="d").build()
    settings = WorkflowSettings.parse(
        {"exit_conditions": [{"event": "email.replied"}], "on_exit_enroll": "wf-x"}
    )
    run = Harness(graph, at=AT, settings=settings)
    run.run()
    run.event("email.replied", AT + timedelta(hours=1))
    assert run.state.status == "exited" and run.world.actions == []
