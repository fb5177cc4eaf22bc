"""Why a rule is false: the clauses that decided, with the values they saw, agreeing with the evaluation."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.engine.conditions import compile_rule, truthy
from workflows.engine.explain import rule_explain

NOW = datetime(2026, 12, 1, tzinfo=UTC)
DATA = {"contact": {"score": 10, "tags": ["trial"], "fields": {"plan": "pro"}}, "event": {"type": "page.viewed"}}


def test_a_rule_that_holds_has_nothing_to_explain():
    assert rule_explain({"==": [{"var": "contact.fields.plan"}, "pro"]}, DATA, now=NOW) == []


def test_an_and_is_explained_by_its_first_false_clause_only():
    rule = {"and": [{">": [{"var": "contact.score"}, 50]}, {"in": ["vip", {"var": "contact.tags"}]}]}
    assert rule_explain(rule, DATA, now=NOW) == [
        {"clause": {">": [{"var": "contact.score"}, 50]}, "js": "contact.score > 50", "result": False,
         "values": {"contact.score": 10}},
    ]


def test_an_or_is_explained_by_all_of_its_clauses():
    rule = {"or": [{">": [{"var": "contact.score"}, 50]}, {"in": ["vip", {"var": "contact.tags"}]}]}
    explained = rule_explain(rule, DATA, now=NOW)
    assert [clause["values"] for clause in explained] == [{"contact.score": 10}, {"contact.tags": ["trial"]}]


def test_a_negation_shows_the_values_of_what_it_negates():
    rule = {"!": {"==": [{"var": "contact.fields.plan"}, "pro"]}}
    assert rule_explain(rule, DATA, now=NOW)[0]["values"] == {"contact.fields.plan": "pro"}


def test_an_operation_argument_is_named_by_its_json():
    rule = {">": [{"days_since": [{"var": "contact.fields.trial_ends"}]}, 3]}
    data = {"contact": {"fields": {"trial_ends": "2026-11-30T00:00:00Z"}}}
    explained = rule_explain(rule, data, now=NOW)
    assert explained[0]["values"] == {'{"days_since": [{"var": "contact.fields.trial_ends"}]}': 1.0}


def test_a_clause_that_cannot_be_evaluated_says_so():
    rule = {"and": [{"in_segment": ["s1"]}]}  # no activity port: the history cannot be read
    explained = rule_explain(rule, DATA, now=NOW)
    assert "error" in explained[0]


CLAUSES = st.sampled_from([
    {">": [{"var": "contact.score"}, 50]},
    {"<": [{"var": "contact.score"}, 50]},
    {"in": ["vip", {"var": "contact.tags"}]},
    {"in": ["trial", {"var": "contact.tags"}]},
    {"==": [{"var": "contact.fields.plan"}, "pro"]},
    {"!": {"==": [{"var": "contact.fields.plan"}, "pro"]}},
])
RULES = st.recursive(CLAUSES, lambda inner: st.builds(
    lambda op, items: {op: items}, st.sampled_from(["and", "or"]), st.lists(inner, min_size=1, max_size=4)),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(RULES)
def test_every_explained_clause_is_false_and_a_false_rule_has_one(rule):
    explained = rule_explain(rule, DATA, now=NOW)
    assert bool(explained) is not truthy(compile_rule(rule).evaluate(DATA, now=NOW))
    for clause in explained:
        assert not truthy(compile_rule(clause["clause"]).evaluate(DATA, now=NOW))
