"""Every JsonLogic rule property tells the builder to edit it with the condition builder (``x-widget: rule``), and
the rules that builder writes are ones the server accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from workflows.engine.conditions import check_rule
from workflows.engine.expression_render import rule_normalise, rule_render
from workflows.engine.expressions import expression_compile
from workflows.engine.graph import WorkflowSettings
from workflows.engine.registry import registry

SCHEMAS = {entry["type"]: entry["config_schema"] for entry in registry.describe()}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    found: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return _resolve(schema, found)


def _at(schema: dict[str, Any], *path: str) -> dict[str, Any]:
    """Return the subschema at ``path`` ("[]" steps into array items), through $refs and optional wrappers."""
    node = schema
    for step in path:
        node = _resolve(schema, node)
        node = node["items"] if step == "[]" else node["properties"][step]
    return _resolve(schema, node)


def _rule_options(node: dict[str, Any]) -> list[dict[str, Any]]:
    options = node.get("anyOf", [node])
    return [option for option in options if option.get("type") != "null"]


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        (SCHEMAS["condition"], ("rule",)),
        (SCHEMAS["switch"], ("cases", "[]", "rule")),
        (SCHEMAS["trigger_event"], ("filter",)),
        (SCHEMAS["wait_for_event"], ("filter",)),
        (SCHEMAS["trigger_schedule"], ("audience", "rule")),
        (WorkflowSettings.model_json_schema(), ("exit_conditions", "[]", "rule")),
        (WorkflowSettings.model_json_schema(), ("exit_conditions", "[]", "filter")),
    ],
    ids=[
        "condition",
        "switch case",
        "trigger_event",
        "wait_for_event",
        "schedule audience",
        "exit rule",
        "exit filter",
    ],
)
def test_rule_property_is_marked_for_the_condition_builder(
    schema: dict[str, Any], path: tuple[str, ...]
) -> None:
    (option,) = _rule_options(_at(schema, *path))
    assert option["x-widget"] == "rule"
    assert option["type"] == ["object", "boolean"]


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [found for item in node for found in _walk(item)]
    if not isinstance(node, dict):
        return []
    return [node, *(found for value in node.values() for found in _walk(value))]


def test_only_rules_carry_the_rule_widget_and_schemas_stay_valid() -> None:
    for type_name, schema in SCHEMAS.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        for node in _walk(schema):
            if node.get("x-widget") == "rule":
                assert node["type"] == ["object", "boolean"], type_name


# The condition builder's corpus (frontend/src/conditions/ruleCorpus.json): what the builder writes must be rules
# the server accepts, and the expression view (render, then compile) must give each of them back.
CORPUS = json.loads(
    (Path(__file__).resolve().parents[2] / "frontend/src/conditions/ruleCorpus.json").read_text()
)


@pytest.mark.parametrize("rule", CORPUS["representable"].values(), ids=CORPUS["representable"].keys())
def test_rules_the_condition_builder_writes_are_valid_and_survive_the_expression_view(rule: Any) -> None:
    assert check_rule(rule) == []
    assert rule_normalise(expression_compile(rule_render(rule))) == rule_normalise(rule)
