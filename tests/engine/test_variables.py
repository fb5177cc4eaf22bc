"""Enrollment variables: answer paths, the size bound, and the variables a lookup writes read by a condition and
a template later in the same run (the simulator runs the live code path with fakes)."""

from __future__ import annotations

import re

import pytest

from workflows.engine.conditions import compile_rule
from workflows.engine.expressions import expression_compile
from workflows.engine.graph import WorkflowSettings
from workflows.engine.simulator import simulate
from workflows.engine.state import EnrollmentState
from workflows.engine.validation import validate
from workflows.engine.variables import MAX_VARS_BYTES, MissingPath, VarsTooLarge, value_at, vars_merged

from .graphs import GraphBuilder, steps

ANSWER = {"data": {"plan": "pro", "items": [{"sku": "a-1", "unit price": 5}]}, "empty": {}}


@pytest.mark.parametrize(("path", "value"), [
    ("$.data.plan", "pro"), ("$.data.items[0].sku", "a-1"), ("$.data.items[-1]['unit price']", 5), ("$", ANSWER),
])
def test_a_path_reads_one_value_of_the_answer(path: str, value: object) -> None:
    assert value_at(ANSWER, path) == value


@pytest.mark.parametrize(("path", "says"), [
    ("$.data.tier", "$.data has no key 'tier' (it has: items, plan)"),
    ("$.data.items[2]", "$.data.items has 1 item, so no item [2]"),
    ("$.data.plan.name", "$.data.plan is a string, not an object"),
])
def test_a_path_the_answer_lacks_says_where_it_stopped(path: str, says: str) -> None:
    with pytest.raises(MissingPath, match=re.escape(says)):
        value_at(ANSWER, path)


def test_variables_past_the_bound_are_refused_and_the_state_keeps_them() -> None:
    big = "x" * (MAX_VARS_BYTES // 2)
    merged = vars_merged({}, {"a": big})
    with pytest.raises(VarsTooLarge, match="limit of 32,768"):
        vars_merged(merged, {"b": big})
    state = EnrollmentState(enrollment_id="e", contact_id="c", trigger_node="t", entered_at=None, vars=merged)  # type: ignore[arg-type]
    assert EnrollmentState.from_dict(state.to_dict()).vars == merged


def test_a_malformed_path_a_bad_name_or_a_stray_credential_is_a_validation_error_at_publish() -> None:
    graph = (GraphBuilder().trigger_of("trigger_manual")
             .node("lookup", {"source": "recent_events", "map": {"n": "$..count"}}, id="bad_path")
             .node("http_request", {"url": "https://api.example.com/", "map": {"1st": "$.a"}}, id="bad_name")
             .node("http_request", {"url": "https://api.example.com/",
                                    "headers": {"Authorization": "Bearer {{ credential }}"}}, id="no_credential")
             .node("http_request", {"url": "https://api.example.com/?k={{credential}}", "credential_id": "c-1"},
                   id="in_url")
             .node("lookup", {"source": "contact", "map": {"x": "$.found"}}, id="no_key")
             .build())
    errors = {issue.node_id: issue for issue in validate(graph, WorkflowSettings()) if issue.level == "error"}
    assert set(errors) == {"bad_path", "bad_name", "no_credential", "in_url", "no_key"}
    assert "'..' are not supported" in errors["bad_path"].message
    assert "'1st' is not a variable name" in errors["bad_name"].message
    assert (errors["no_credential"].code, errors["in_url"].code, errors["no_key"].code) == (
        "credential_missing", "credential_outside_headers", "lookup_key_missing")


def _lookup_graph(lookup_map: dict[str, str]):
    return (GraphBuilder().trigger("contact.created")
            .node("lookup", {"source": "recent_events", "key": "order.completed", "map": lookup_map}, id="look")
            .condition({">": [{"var": "enrollment.vars.total"}, 100]}, id="big")
            .on("big", "yes").node("http_request", {"url": "https://api.example.com/vip?total={{ enrollment.vars.total }}",
                                                    "method": "POST"}, id="call")
            .build())


def test_a_lookup_writes_variables_that_a_condition_and_a_template_read_later() -> None:
    result = simulate(
        graph=_lookup_graph({"total": "$.last.properties.total"}), settings=WorkflowSettings(),
        contact={"email": "ada@example.com"}, start="2026-11-23T08:00:00Z",
        events=[{"after": "PT0S", "type": "order.completed", "properties": {"total": 120}},
                {"after": "PT1M", "type": "contact.created"}],
    )
    assert steps(result) == [("trigger", "advance", "default"), ("look", "advance", "default"),
                             ("big", "advance", "yes"), ("call", "advance", "default")]
    assert result.state.vars == {"total": 120}
    call = next(action for action in result.actions if action["type"] == "http_request")
    assert call["request"]["url"] == "https://api.example.com/vip?total=120"


def test_a_mapped_path_the_answer_lacks_fails_the_step_with_the_path() -> None:
    result = simulate(
        graph=_lookup_graph({"total": "$.last.properties.amount"}), settings=WorkflowSettings(),
        contact={"email": "ada@example.com"}, start="2026-11-23T08:00:00Z",
        events=[{"after": "PT0S", "type": "order.completed", "properties": {"total": 120}},
                {"after": "PT1M", "type": "contact.created"}],
    )
    assert result.status == "failed"
    assert "$.last.properties has no key 'amount'" in (result.reason or "")
    assert result.state.vars == {}
    assert not [action for action in result.actions if action["type"] == "http_request"]


def test_an_expression_reads_variables_as_a_rule_does() -> None:
    rule = expression_compile('enrollment.vars.plan == "pro" && enrollment.vars.seats > 3')
    assert rule == {"and": [{"==": [{"var": "enrollment.vars.plan"}, "pro"]},
                            {">": [{"var": "enrollment.vars.seats"}, 3]}]}
    assert compile_rule(rule).holds({"enrollment": {"vars": {"plan": "pro", "seats": 5}}}) is True
