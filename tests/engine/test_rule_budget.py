"""Every JsonLogic rule has a budget: refused at validation when its worst case is over it, stopped at run time."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from workflows.engine.conditions import (
    ASSUMED_LIST_ITEMS,
    MAX_RULE_BYTES,
    MAX_RULE_COST,
    CompiledRule,
    ConditionError,
    RuleBudgetExceeded,
    check_rule,
    rule_cost,
)
from workflows.engine.graph import WorkflowSettings
from workflows.engine.validation import validate

from .graphs import GraphBuilder, Harness, brief, ts

AT = ts("2026-11-23T10:00:00Z")
THOUSAND = list(range(1000))
# The rule of the issue: within the size and depth limits, a million operations per evaluation.
MILLION = {"some": [{"map": [THOUSAND, {"map": [THOUSAND, {"+": [1, 1]}]}]}, {"==": [1, 2]}]}


class CountingActivity:
    """An activity port that counts how often a rule asked it something."""

    def __init__(self) -> None:
        self.calls = 0

    def event_count(self, *, contact_id: str, type: str, since: datetime | None) -> int:
        self.calls += 1
        return 0

    def email_event(self, **_: Any) -> bool:
        self.calls += 1
        return False

    def in_segment(self, *, contact_id: str, segment_id: str) -> bool:
        self.calls += 1
        return False


def test_the_rule_of_the_issue_is_refused_with_its_cost_and_the_limit() -> None:
    problems = check_rule(MILLION)

    assert rule_cost(MILLION) > 1_000_000
    assert len(problems) == 1
    assert f"the limit is {MAX_RULE_COST:,}" in problems[0]
    assert "map" in problems[0]


@pytest.mark.parametrize(
    "rule",
    [
        {"in": [{"var": "contact.fields.country"}, [f"C{i}" for i in range(1000)]]},
        {"some": [{"var": "contact.tags"}, {"in": [{"var": ""}, ["vip", "trial", "beta"]]}]},
        {"all": [THOUSAND, {">=": [{"var": ""}, 0]}]},
        {"reduce": [{"var": "event.properties.items"}, {"+": [{"var": "accumulator"}, 1]}, 0]},
        {"and": [{"email_event": {"event": "opened", "within": "P30D"}}, {"in_segment": ["s1"]}]},
    ],
    ids=["thousand_countries", "some_tag", "all_of_a_literal_thousand", "reduce_over_data", "history"],
)
def test_rules_people_write_are_within_the_budget(rule: Any) -> None:
    assert check_rule(rule) == []


def test_a_rule_as_big_as_allowed_without_loops_is_within_the_budget() -> None:
    # A rule of constants costs one operation per two bytes, the most any loop-free rule does.
    rule = {"merge": [[1] * 1000 for _ in range(32)]}
    assert MAX_RULE_BYTES - 2048 < len(json.dumps(rule, separators=(",", ":"))) <= MAX_RULE_BYTES

    assert check_rule(rule) == []


def test_lists_from_the_data_count_at_the_assumed_length() -> None:
    inner = {"some": [{"var": "items"}, {"==": [{"var": ""}, 1]}]}
    nested = {"some": [{"var": "items"}, {"some": [{"var": "items"}, inner]}]}

    assert check_rule(inner) == []
    assert rule_cost(nested) > ASSUMED_LIST_ITEMS**3
    assert check_rule(nested) != []


def test_an_over_budget_rule_stops_before_evaluating_its_body() -> None:
    activity = CountingActivity()
    rule = {"map": [THOUSAND, {"map": [THOUSAND, {"event_count": {"type": "page.viewed"}}]}]}
    compiled = CompiledRule(rule)  # compiling does not refuse it: rules saved before the budget still load

    with pytest.raises(RuleBudgetExceeded, match=f"budget of {MAX_RULE_COST:,} operations"):
        compiled.evaluate({}, contact_id="c1", activity=activity)
    assert activity.calls == 0  # the outer loop's worst case was charged before its first item


def test_the_budget_counts_the_real_length_of_lists_from_the_data() -> None:
    rule = CompiledRule({"some": [{"var": "contact.tags"}, {"==": [{"var": ""}, "vip"]}]})
    assert check_rule(rule.source) == []

    assert rule.holds({"contact": {"tags": ["a", "vip"]}}) is True
    with pytest.raises(RuleBudgetExceeded):
        rule.holds({"contact": {"tags": ["a"] * MAX_RULE_COST}})


def test_the_budget_is_per_evaluation() -> None:
    rule = CompiledRule({"map": [{"var": "items"}, {"+": [{"var": ""}, 1]}]})
    data = {"items": list(range(MAX_RULE_COST // 10))}  # a fifth of the budget or so each time

    for _ in range(20):
        assert len(rule.evaluate(data)) == MAX_RULE_COST // 10


@pytest.mark.parametrize(
    "body, initial",
    [
        ({"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1]),
        ({"cat": [{"var": "accumulator"}, {"var": "accumulator"}]}, "x"),
    ],
    ids=["merge", "cat"],
)
def test_a_value_doubled_in_a_short_loop_is_stopped_at_the_budget(body: Any, initial: Any) -> None:
    # 60 doublings would be 2**60 items; the loop itself is cheap enough to pass the check.
    rule = {"reduce": [list(range(60)), body, initial]}
    assert check_rule(rule) == []

    with pytest.raises(RuleBudgetExceeded):
        CompiledRule(rule).evaluate({})


def test_a_product_squared_in_a_loop_becomes_a_float_instead_of_a_huge_integer() -> None:
    rule = {"reduce": [list(range(60)), {"*": [{"var": "accumulator"}, {"var": "accumulator"}]}, 2]}

    assert CompiledRule(rule).evaluate({}) == float("inf")
    assert CompiledRule({"*": [3, 4]}).evaluate({}) == 12  # small products stay exact integers
    assert type(CompiledRule({"*": [2**40, 2**20]}).evaluate({})) is float


def test_budget_exceeded_is_a_condition_error_so_callers_record_it_as_any_failed_rule() -> None:
    assert issubclass(RuleBudgetExceeded, ConditionError)


def test_a_condition_over_its_budget_fails_that_enrollment_step() -> None:
    rule = {"some": [{"var": "contact.tags"}, {"==": [{"var": ""}, "vip"]}]}
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .condition(rule, id="c")
        .add_tag("yes", id="y")
        .on("c", "no")
        .add_tag("no", id="n")
        .build()
    )
    run = Harness(graph, at=AT, contact={"id": "c1", "tags": ["x"] * MAX_RULE_COST})

    records = run.run()

    assert brief(records) == [("trigger", "advance", "default"), ("c", "fail", None)]
    assert "budget" in (run.state.error or "")
    assert run.state.status == "failed"
    assert run.world.actions == []


def test_validation_refuses_an_over_budget_rule_in_a_node_and_in_an_exit_condition() -> None:
    graph = GraphBuilder().trigger("contact.created", filter=MILLION).condition(MILLION, id="c").build()
    settings = WorkflowSettings.parse({"exit_conditions": [{"rule": MILLION}]})

    issues = [issue for issue in validate(graph, settings) if issue.level == "error"]

    found = sorted((issue.code, issue.node_id) for issue in issues)
    assert found == [("invalid_exit_condition", None), ("invalid_rule", "c"), ("invalid_rule", "trigger")]
    assert all(f"the limit is {MAX_RULE_COST:,}" in issue.message for issue in issues)
