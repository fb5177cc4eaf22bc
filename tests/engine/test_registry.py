from __future__ import annotations

import jsonschema
import pytest
from pydantic import BaseModel, Field

from workflows.engine import load_node_types
from workflows.engine.outcomes import Advance
from workflows.engine.registry import NodeConfig, NodeType, Registry, node_type, registry

CONTRACT_TYPES = {
    "trigger": {
        "trigger_event",
        "trigger_segment",
        "trigger_schedule",
        "trigger_date_field",
        "trigger_inactivity",
        "trigger_score",
        "trigger_prediction",
        "trigger_manual",
        "trigger_webhook",
    },
    "logic": {"condition", "switch", "split", "exit", "parallel", "merge", "for_each"},
    "wait": {"delay", "wait_until", "wait_for_event"},
    "action": {
        "send_email",
        "send_push",
        "send_message",
        "add_to_campaign",
        "remove_from_campaign",
        "update_field",
        "add_tag",
        "remove_tag",
        "change_status",
        "update_score",
        "create_task",
        "notify",
        "webhook",
        "enroll_in_workflow",
        "send_sms",
        "http_request",
        "lookup",
        "social_post",
        "crm_create",
        "crm_update",
    },
}


def test_describe_covers_every_contract_type_with_its_kind() -> None:
    described = {entry["type"]: entry for entry in registry.describe()}
    for kind, types in CONTRACT_TYPES.items():
        for type_name in types:
            assert described[type_name]["kind"] == kind
    assert set(described) == set().union(*CONTRACT_TYPES.values())


def test_describe_entries_have_exactly_the_api_keys() -> None:
    for entry in registry.describe():
        assert set(entry) == {"type", "kind", "label", "description", "config_schema", "branches", "branch_source"}
        assert entry["label"] and entry["description"]


@pytest.mark.parametrize("entry", registry.describe(), ids=lambda entry: entry["type"])
def test_every_config_schema_is_valid_json_schema(entry: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(entry["config_schema"])
    assert entry["config_schema"]["type"] == "object"
    assert entry["config_schema"]["additionalProperties"] is False


def test_branches_are_static_lists_or_dynamic() -> None:
    described = {entry["type"]: entry["branches"] for entry in registry.describe()}
    assert described["condition"] == ["yes", "no"]
    assert described["wait_for_event"] == ["event", "timeout"]
    assert described["switch"] == "dynamic"
    assert described["split"] == "dynamic"
    assert described["exit"] == []
    assert described["add_tag"] == ["default"]


def test_dynamic_branches_come_from_the_config() -> None:
    switch = registry.get("switch")
    split = registry.get("split")
    assert switch is not None and split is not None
    config = switch.parse_config({"cases": [{"id": "vip", "rule": True}, {"id": "new", "rule": False}]})
    assert switch.branches_for(config) == ("vip", "new", "default")
    config = split.parse_config({"variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 1}]})
    assert split.branches_for(config) == ("a", "b")


def test_a_config_example_validates_against_its_published_schema() -> None:
    schema = registry.get("send_email").Config.model_json_schema()  # type: ignore[union-attr]
    jsonschema.validate({"template_id": "t1", "window": {"days": ["mon"], "start": "09:00"}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"template_id": "t1", "surprise": 1}, schema)


def test_get_returns_none_for_unknown_types() -> None:
    assert registry.get("teleport") is None
    assert "teleport" not in registry


def test_load_node_types_imports_only_packages_that_have_nodes() -> None:
    loaded = load_node_types(["workflows", "contacts", "campaigns", "templates", "json", "no_such_package"])
    assert loaded == ["contacts.nodes", "campaigns.nodes", "templates.nodes"]


def test_node_type_refuses_configs_that_accept_unknown_keys() -> None:
    with pytest.raises(TypeError, match="NodeConfig"):

        @node_type("lenient_test_type", kind="action", label="Lenient")
        class Lenient(NodeType):
            class Config(BaseModel):
                tag: str = Field(min_length=1)

    assert registry.get("lenient_test_type") is None


def test_registry_refuses_two_classes_for_one_type() -> None:
    local = Registry()

    class First(NodeType):
        type = "twice"
        kind = "action"
        label = "Twice"

    class Second(First):
        pass

    local.register(First())
    with pytest.raises(ValueError, match="declared twice"):
        local.register(Second())


def test_declaration_style_of_the_issue_works_end_to_end() -> None:
    local_types_before = len(registry.all())

    @node_type("test_only_stamp", kind="action", label="Stamp", description="Stamp the contact.")
    class Stamp(NodeType):
        class Config(NodeConfig):
            mark: str = Field(min_length=1)

        def run(self, ctx, config):  # type: ignore[no-untyped-def]
            return Advance(detail={"mark": config.mark})

    try:
        assert registry.get("test_only_stamp").describe()["config_schema"]["required"] == ["mark"]  # type: ignore[union-attr]
        assert len(registry.all()) == local_types_before + 1
    finally:
        registry._types.pop("test_only_stamp")
        registry._described = None
