from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.engine.graph import (
    Edge,
    FrozenMap,
    Graph,
    GraphFormatError,
    Node,
    SettingsFormatError,
    WorkflowSettings,
)

BUILDER = {
    "nodes": [
        {
            "id": "n1",
            "type": "trigger_event",
            "position": {"x": 0, "y": 0},
            "data": {"label": "Signed up", "config": {"event": "contact.created"}},
        },
        {
            "id": "n2",
            "type": "condition",
            "position": {"x": 10.5, "y": -3},
            "data": {"label": "Opened?", "config": {"rule": {"in": ["vip", {"var": "contact.tags"}]}}},
        },
    ],
    "edges": [
        {"id": "e1", "source": "n1", "target": "n2", "sourceHandle": "default"},
        {"id": "e2", "source": "n2", "target": "n1", "sourceHandle": "no"},
    ],
}


def test_from_builder_reads_nodes_edges_and_branches() -> None:
    graph = Graph.from_builder(BUILDER)
    assert graph.nodes[1] == Node(
        id="n2",
        type="condition",
        label="Opened?",
        config=FrozenMap({"rule": FrozenMap({"in": ("vip", FrozenMap({"var": "contact.tags"}))})}),
        position=(10.5, -3),
    )
    assert graph.edges == (Edge("e1", "n1", "n2", "default"), Edge("e2", "n2", "n1", "no"))
    assert graph.next_node == {("n1", "default"): "n2", ("n2", "no"): "n1"}


def test_builder_round_trip_is_lossless_including_extra_data_keys() -> None:
    data = {
        **BUILDER,
        "nodes": [{**BUILDER["nodes"][0], "data": {**BUILDER["nodes"][0]["data"], "color": "red"}}],
    }
    assert Graph.from_builder(data).to_builder() == data


def test_node_config_is_immutable_and_graph_hashable() -> None:
    graph = Graph.from_builder(BUILDER)
    with pytest.raises(TypeError):
        graph.nodes[0].config["event"] = "x"  # type: ignore[index]
    assert hash(graph) == hash(Graph.from_builder(BUILDER))
    assert graph.nodes[1].config_dict() == BUILDER["nodes"][1]["data"]["config"]


def test_missing_sourcehandle_means_default_branch() -> None:
    graph = Graph.from_builder({"nodes": [], "edges": [{"id": "e", "source": "a", "target": "b"}]})
    assert graph.edges[0].branch == "default"


def test_to_rows_uses_exactly_the_step_and_connection_columns() -> None:
    steps, connections = Graph.from_builder(BUILDER).to_rows()
    assert steps[1] == {
        "node_id": "n2",
        "type": "condition",
        "label": "Opened?",
        "config": {"rule": {"in": ["vip", {"var": "contact.tags"}]}},
        "position_x": 10.5,
        "position_y": -3,
        "extra": {},
    }
    assert connections[1] == {"edge_id": "e2", "source_node_id": "n2", "target_node_id": "n1", "branch": "no"}


def test_from_rows_accepts_objects_with_the_row_attributes() -> None:
    steps, connections = Graph.from_builder(BUILDER).to_rows()
    objects = [SimpleNamespace(**row) for row in steps], [SimpleNamespace(**row) for row in connections]
    assert Graph.from_rows(*objects) == Graph.from_builder(BUILDER)


def test_extra_builder_data_survives_the_rows_round_trip() -> None:
    data = {"nodes": [{"id": "n1", "type": "trigger_manual", "position": {"x": 0, "y": 0},
                       "data": {"label": "Start", "config": {}, "color": "teal", "note": {"text": "hi"}}}],
            "edges": []}
    steps, connections = Graph.from_builder(data).to_rows()
    assert steps[0]["extra"] == {"color": "teal", "note": {"text": "hi"}}
    assert Graph.from_rows(steps, connections).to_builder() == data


def test_from_rows_reports_malformed_rows_by_path() -> None:
    with pytest.raises(GraphFormatError) as raised:
        Graph.from_rows([{"node_id": "a", "type": 3}], [{"edge_id": "e", "source_node_id": "a"}])
    assert raised.value.details == {
        "steps[0].type": "must be a string",
        "connections[0].target_node_id": "required",
    }


@pytest.mark.parametrize(
    ("builder", "details"),
    [
        ({"nodes": [{"type": "x"}]}, {"nodes[0].id": "required"}),
        ({"nodes": [{"id": "a", "type": "x"}, {"id": 3, "type": "x"}]}, {"nodes[1].id": "must be a string"}),
        ({"nodes": "all"}, {"nodes": "must be a list"}),
        ([1, 2], {"(root)": "must be an object"}),
        (
            {"nodes": [{"id": "a", "type": "x", "data": {"config": []}}]},
            {"nodes[0].data.config": "must be an object"},
        ),
        (
            {"nodes": [{"id": "a", "type": "x", "position": {"x": "1"}}]},
            {"nodes[0].position.x": "must be an integer"},
        ),
        ({"edges": [{"id": "e", "source": "a"}]}, {"edges[0].target": "required"}),
        ({"nodes": [{"id": "", "type": "x"}]}, {"nodes[0].id": "must have at least 1 character"}),
    ],
)
def test_malformed_builder_json_raises_graph_format_error_with_paths(
    builder: Any, details: dict[str, str]
) -> None:
    with pytest.raises(GraphFormatError) as raised:
        Graph.from_builder(builder)
    assert raised.value.details == details


# --- hypothesis round trip --------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(max_size=20),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ids = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=12)
numbers = st.one_of(st.integers(-5000, 5000), st.floats(-5000, 5000, allow_nan=False))


@st.composite
def builder_graphs(draw: st.DrawFn) -> dict[str, Any]:
    node_ids = draw(st.lists(ids, max_size=8, unique=True))
    nodes = [
        {
            "id": node_id,
            "type": draw(st.sampled_from(["trigger_event", "condition", "delay", "made_up"])),
            "position": {"x": draw(numbers), "y": draw(numbers)},
            "data": {
                "label": draw(st.text(max_size=10)),
                "config": draw(st.dictionaries(st.text(max_size=8), json_values, max_size=4)),
            },
        }
        for node_id in node_ids
    ]
    edges = [
        {"id": f"e{index}", "source": draw(ids), "target": draw(ids), "sourceHandle": draw(ids)}
        for index in range(draw(st.integers(0, 8)))
    ]
    return {"nodes": nodes, "edges": edges}


@settings(max_examples=150, deadline=None)
@given(builder_graphs())
def test_builder_to_rows_and_back_is_lossless(builder: dict[str, Any]) -> None:
    graph = Graph.from_builder(builder)
    again = Graph.from_rows(*graph.to_rows())
    assert again == graph
    assert again.to_builder() == builder


# --- settings ---------------------------------------------------------------------------------------------------


def test_settings_defaults_follow_the_contract() -> None:
    assert WorkflowSettings.parse({}).as_dict() == {
        "reenrollment": {"mode": "never", "after": None},
        "exit_conditions": [],
        "on_exit_enroll": None,
        "timezone": "UTC",
        "max_steps_per_enrollment": 1000,
    }


def test_settings_parse_the_contract_example() -> None:
    parsed = WorkflowSettings.parse(
        {
            "reenrollment": {"mode": "after", "after": "P90D"},
            "exit_conditions": [
                {"event": "email.replied"},
                {"event": "custom.subscription_paid", "goal": "Paid subscription"},
                {"rule": {"==": [{"var": "contact.status"}, "unsubscribed"]}},
            ],
            "on_exit_enroll": None,
            "timezone": "Europe/Paris",
            "max_steps_per_enrollment": 50,
        }
    )
    assert parsed.reenrollment.after == "P90D"
    assert parsed.exit_conditions[1].goal == "Paid subscription"
    assert parsed.timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("data", "details"),
    [
        (
            {"reenrollment": {"mode": "after"}},
            {
                "settings.reenrollment": "mode 'after' needs 'after', the minimum gap since the last entry (e.g. 'P90D')"
            },
        ),
        (
            {"reenrollment": {"mode": "sometimes"}},
            {"settings.reenrollment.mode": "must be 'never', 'always' or 'after'"},
        ),
        (
            {"timezone": "Mars/Olympus"},
            {"settings.timezone": "'Mars/Olympus' is not an IANA time zone (e.g. 'Europe/Paris')"},
        ),
        (
            {"max_steps_per_enrollment": 0},
            {"settings.max_steps_per_enrollment": "must be greater than or equal to 1"},
        ),
        (
            {"exit_conditions": [{"goal": "x"}]},
            {
                "settings.exit_conditions[0]": "give exactly one of 'event' (an event type) or 'rule' (a JsonLogic rule)"
            },
        ),
        (
            {"reenrollment": {"mode": "after", "after": "P1M"}},
            {
                "settings.reenrollment.after": "'P1M' uses years or months, whose length varies; use days or weeks instead (e.g. 'P30D')"
            },
        ),
        ({"colour": "blue"}, {"settings.colour": "is not a known field; remove it"}),
    ],
)
def test_invalid_settings_raise_with_field_paths(data: dict[str, Any], details: dict[str, str]) -> None:
    with pytest.raises(SettingsFormatError) as raised:
        WorkflowSettings.parse(data)
    assert raised.value.details == details


def test_settings_are_frozen() -> None:
    parsed = WorkflowSettings.parse({})
    with pytest.raises(ValueError):
        parsed.timezone = "Europe/Paris"  # type: ignore[misc]
