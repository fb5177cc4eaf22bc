"""The values behind a decision: each `var` a rule names, as the step's evaluation read it."""

from __future__ import annotations

from workflows.engine.conditions import evaluate
from workflows.engine.rule_values import MAX_VALUES, rule_values

DATA = {"contact": {"tags": ["trial"], "score": 12, "fields": {"plan": "pro", "bio": "x" * 1000}}, "event": {}}


def read(rule):
    return evaluate(rule, DATA)


def test_each_var_named_is_read_once_with_its_default_and_nested_in_any_operation():
    rule = {"and": [{"in": ["trial", {"var": "contact.tags"}]},
                    {">": [{"var": ["contact.score", 0]}, 10]},
                    {"==": [{"var": "contact.fields.plan"}, {"var": "contact.fields.plan"}]},
                    {"!": {"var": "contact.fields.missing"}}]}
    assert rule_values([rule], read) == {
        "contact.tags": ["trial"], "contact.score": 12, "contact.fields.plan": "pro", "contact.fields.missing": None,
    }


def test_values_stay_small_and_few():
    assert rule_values([{"var": "contact.fields.bio"}], read) == {"contact.fields.bio": "x" * 300 + "…"}
    assert rule_values([{"var": "contact"}], read) == {"contact": "<dict of 3>"}
    many = {"and": [{"var": f"contact.fields.f{i}"} for i in range(MAX_VALUES + 5)]}
    assert len(rule_values([many], read)) == MAX_VALUES


def test_a_rule_with_no_var_has_no_values():
    assert rule_values([True, {"==": [1, 1]}, {"var": ""}], read) == {}


def test_a_value_is_a_copy_that_a_later_step_cannot_change():
    contact = {"tags": ["trial"]}
    values = rule_values([{"var": "contact.tags"}], lambda rule: evaluate(rule, {"contact": contact}))
    contact["tags"].append("engaged")
    assert values == {"contact.tags": ["trial"]}


def test_reading_values_compiles_each_path_once():
    from workflows.engine import conditions

    rule_values([{"var": "contact.score"}], read)
    before = len(conditions._compiled_by_identity)
    for _ in range(50):
        rule_values([{"var": "contact.score"}], read)
    assert len(conditions._compiled_by_identity) == before
