from __future__ import annotations

from typing import Any

from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.validation import MAX_NODES, Issue, split_issues, validate

from .graphs import GraphBuilder, edge, node


def codes(
    graph: Graph, settings: WorkflowSettings | None = None
) -> dict[str, list[tuple[str, str | None, str | None]]]:
    found: dict[str, list[tuple[str, str | None, str | None]]] = {"error": [], "warning": []}
    for issue in validate(graph, settings):
        found[issue.level].append((issue.code, issue.node_id, issue.edge_id))
    return found


TRIGGER = node("t", "trigger_event", {"event": "contact.created"})


def graph(*nodes: dict[str, Any], edges: tuple[dict[str, Any], ...] = ()) -> Graph:
    return Graph.from_builder({"nodes": list(nodes), "edges": list(edges)})


def test_a_simple_valid_graph_has_no_issues() -> None:
    built = (
        GraphBuilder()
        .trigger("contact.created")
        .send_email("welcome")
        .delay("P2D")
        .add_tag("nurtured")
        .build()
    )
    assert validate(built, WorkflowSettings()) == []


def test_no_trigger_is_an_error() -> None:
    assert codes(graph(node("a", "add_tag", {"tag": "x"})))["error"] == [
        ("no_trigger", None, None),
        ("unreachable_node", "a", None),
    ]


def test_too_many_nodes_is_an_error() -> None:
    nodes = [TRIGGER] + [node(f"n{i}", "add_tag", {"tag": "x"}) for i in range(MAX_NODES)]
    edges = tuple(edge("t" if i == 0 else f"n{i - 1}", f"n{i}", id=f"e{i}") for i in range(MAX_NODES))
    assert codes(graph(*nodes, edges=edges))["error"] == [("too_many_nodes", None, None)]


def test_repeated_node_and_edge_ids_are_errors() -> None:
    found = codes(
        graph(
            TRIGGER,
            node("a", "add_tag", {"tag": "x"}),
            node("a", "add_tag", {"tag": "y"}),
            edges=(edge("t", "a", id="e1"), edge("a", "a", id="e1")),
        )
    )["error"]
    assert ("duplicate_node_id", "a", None) in found
    assert ("duplicate_edge_id", None, "e1") in found


def test_unknown_node_type_is_an_error() -> None:
    found = codes(graph(TRIGGER, node("x", "teleport"), edges=(edge("t", "x", id="e1"),)))
    assert found["error"] == [("unknown_node_type", "x", None)]


def test_invalid_config_names_the_config_path() -> None:
    built = graph(
        TRIGGER,
        node("d", "delay", {"duration": "P1M", "window": {"start": "25:00"}}),
        edges=(edge("t", "d", id="e1"),),
    )
    issues = [issue for issue in validate(built) if issue.level == "error"]
    assert [issue.as_dict() for issue in issues] == [
        {
            "code": "invalid_config",
            "node_id": "d",
            "message": "node d: config.duration 'P1M' uses years or months, whose length varies; use days or weeks instead (e.g. 'P30D').",
        },
        {
            "code": "invalid_config",
            "node_id": "d",
            "message": "node d: config.window.start '25:00' is not a time of day; write it as HH:MM, e.g. '09:00'.",
        },
    ]


def test_unknown_config_keys_are_invalid_config() -> None:
    built = graph(TRIGGER, node("a", "add_tag", {"tag": "x", "colour": "red"}), edges=(edge("t", "a", id="e1"),))
    (issue,) = validate(built)
    assert issue.as_dict() == {
        "code": "invalid_config",
        "node_id": "a",
        "message": "node a: config.colour is not a known field; remove it.",
    }


def test_unknown_operations_are_found_in_every_rule_bearing_config() -> None:
    bad = {"teleport": [1]}
    built = graph(
        node("t", "trigger_event", {"event": "contact.created", "filter": bad}),
        node("s", "trigger_schedule", {"at": "2026-12-01T09:00:00Z", "audience": {"rule": bad}}),
        node("c", "condition", {"rule": bad}),
        node("w", "switch", {"cases": [{"id": "a", "rule": True}, {"id": "b", "rule": bad}]}),
        node("f", "wait_for_event", {"event": "email.opened", "timeout": "P1D", "filter": bad}),
        edges=(
            edge("t", "c", id="e1"),
            edge("c", "w", "yes", id="e2"),
            edge("w", "f", "a", id="e3"),
            edge("s", "f", id="e4"),
        ),
    )
    messages = {
        (i.node_id, i.message.split(":")[1].strip()) for i in validate(built) if i.code == "invalid_rule"
    }
    assert messages == {
        ("t", "config.filter"),
        ("s", "config.audience.rule"),
        ("c", "config.rule"),
        ("w", "config.cases[1].rule"),
        ("f", "config.filter"),
    }


def test_rules_that_are_too_deep_or_too_big_are_refused() -> None:
    deep: Any = True
    for _ in range(70):
        deep = {"!": [deep]}
    built = graph(
        TRIGGER,
        node("c", "condition", {"rule": deep}),
        node("d", "condition", {"rule": {"in": ["x", ["y"] * 1001]}}),
        edges=(edge("t", "c", id="e1"), edge("c", "d", "yes", id="e2")),
    )
    assert [(i.code, i.node_id) for i in validate(built) if i.level == "error"] == [
        ("invalid_rule", "c"),
        ("invalid_rule", "d"),
    ]


def test_dangling_edges_are_errors() -> None:
    found = codes(graph(TRIGGER, edges=(edge("t", "ghost", id="e1"), edge("nobody", "t", id="e2"))))["error"]
    assert found == [("dangling_edge", None, "e1"), ("dangling_edge", None, "e2")]


def test_an_edge_from_a_branch_the_node_lacks_is_an_error() -> None:
    built = graph(
        TRIGGER,
        node("c", "condition", {"rule": True}),
        node("a", "add_tag", {"tag": "x"}),
        edges=(edge("t", "c", id="e1"), edge("c", "a", "maybe", id="e2"), edge("c", "a", "yes", id="e3")),
    )
    assert codes(built)["error"] == [("unknown_branch", "c", "e2")]


def test_exit_nodes_take_no_outgoing_edges() -> None:
    built = graph(
        TRIGGER,
        node("x", "exit"),
        node("a", "add_tag", {"tag": "x"}),
        edges=(edge("t", "x", id="e1"), edge("x", "a", id="e2")),
    )
    assert codes(built)["error"] == [("unknown_branch", "x", "e2"), ("unreachable_node", "a", None)]


def test_two_edges_on_one_branch_are_an_error() -> None:
    built = graph(
        TRIGGER,
        node("a", "add_tag", {"tag": "x"}),
        node("b", "add_tag", {"tag": "y"}),
        edges=(edge("t", "a", id="e1"), edge("t", "b", id="e2")),
    )
    assert codes(built)["error"] == [("duplicate_branch", "t", "e2"), ("unreachable_node", "b", None)]


def test_edges_into_a_trigger_are_errors() -> None:
    built = graph(
        TRIGGER, node("a", "delay", {"duration": "P1D"}), edges=(edge("t", "a", id="e1"), edge("a", "t", id="e2"))
    )
    assert codes(built)["error"] == [("edge_into_trigger", "t", "e2")]


def test_nodes_no_trigger_reaches_are_errors() -> None:
    built = graph(
        TRIGGER,
        node("a", "add_tag", {"tag": "x"}),
        node("b", "add_tag", {"tag": "y"}),
        edges=(edge("t", "a", id="e1"), edge("b", "a", id="e2")),
    )
    assert codes(built)["error"] == [("unreachable_node", "b", None)]


def test_a_cycle_without_a_wait_is_an_error_and_with_a_wait_is_fine() -> None:
    loop = (edge("t", "a", id="e1"), edge("a", "c", id="e2"), edge("c", "a", "yes", id="e3"))
    without = graph(
        TRIGGER, node("a", "add_tag", {"tag": "x"}), node("c", "condition", {"rule": True}), edges=loop
    )
    assert codes(without)["error"] == [("cycle_without_wait", "a", None)]
    with_wait = graph(
        TRIGGER, node("a", "delay", {"duration": "P1D"}), node("c", "condition", {"rule": True}), edges=loop
    )
    assert codes(with_wait) == {"error": [], "warning": [("branch_not_connected", "c", None)]}


def test_a_self_loop_is_a_cycle_without_a_wait() -> None:
    built = graph(
        TRIGGER,
        node("c", "condition", {"rule": True}),
        edges=(edge("t", "c", id="e1"), edge("c", "c", "no", id="e2")),
    )
    assert codes(built)["error"] == [("cycle_without_wait", "c", None)]


def test_split_weights_adding_up_to_zero_is_an_error() -> None:
    built = graph(
        TRIGGER,
        node("s", "split", {"variants": [{"id": "a", "weight": 0}, {"id": "b", "weight": 0}]}),
        edges=(edge("t", "s", id="e1"),),
    )
    assert codes(built)["error"] == [("split_zero_weight", "s", None)]


def test_invalid_exit_conditions_are_errors() -> None:
    built = GraphBuilder().trigger("contact.created").add_tag("x").build()
    settings = WorkflowSettings.parse(
        {
            "exit_conditions": [
                {"rule": {"teleport": []}},
                {"event": "order.paid", "filter": {"regex": ["x", "("]}},
            ]
        }
    )
    issues = validate(built, settings)
    assert [issue.code for issue in issues] == ["invalid_exit_condition", "invalid_exit_condition"]
    assert issues[0].message.startswith("Exit condition 1, rule: unknown operation 'teleport'")
    assert issues[1].message == "Exit condition 2, filter: invalid regular expression '(': missing ): (."


def test_unconnected_branches_of_decisions_are_warnings_not_errors() -> None:
    built = graph(
        TRIGGER,
        node("c", "condition", {"rule": True}),
        node("w", "wait_for_event", {"event": "email.opened", "timeout": "P3D"}),
        node("s", "switch", {"cases": [{"id": "vip", "rule": True}]}),
        node("p", "split", {"variants": [{"id": "a", "weight": 1}, {"id": "control", "weight": 1}]}),
        edges=(
            edge("t", "c", id="e1"),
            edge("c", "w", "yes", id="e2"),
            edge("w", "s", "event", id="e3"),
            edge("s", "p", "vip", id="e4"),
        ),
    )
    assert codes(built) == {
        "error": [],
        "warning": [
            ("branch_not_connected", "c", None),
            ("branch_not_connected", "w", None),
            ("branch_not_connected", "s", None),
            ("branch_not_connected", "p", None),
            ("branch_not_connected", "p", None),
        ],
    }


def test_a_trigger_leading_nowhere_is_a_warning_and_a_last_action_is_not() -> None:
    assert codes(graph(TRIGGER)) == {"error": [], "warning": [("trigger_not_connected", "t", None)]}
    assert codes(GraphBuilder().trigger("contact.created").add_tag("x").build()) == {
        "error": [],
        "warning": [],
    }


def test_a_loop_with_no_way_out_is_a_warning() -> None:
    built = graph(
        TRIGGER,
        node("d", "delay", {"duration": "P1D"}),
        node("a", "add_tag", {"tag": "x"}),
        edges=(edge("t", "d", id="e1"), edge("d", "a", id="e2"), edge("a", "d", id="e3")),
    )
    assert codes(built) == {
        "error": [],
        "warning": [
            ("no_way_to_complete", "t", None),
            ("no_way_to_complete", "d", None),
            ("no_way_to_complete", "a", None),
        ],
    }


def test_split_issues_groups_errors_and_warnings_as_api_dicts() -> None:
    issues = [Issue("warning", "w", "fix w", node_id="n"), Issue("error", "e", "fix e", edge_id="x")]
    assert split_issues(issues) == {
        "errors": [{"code": "e", "message": "fix e", "edge_id": "x"}],
        "warnings": [{"code": "w", "message": "fix w", "node_id": "n"}],
    }


def test_errors_come_before_warnings() -> None:
    built = graph(
        TRIGGER, node("c", "condition", {"rule": True}), node("x", "teleport"), edges=(edge("t", "c", id="e1"),)
    )
    levels = [issue.level for issue in validate(built)]
    assert levels == sorted(levels, key=lambda level: level != "error") and "warning" in levels


def test_a_500_node_graph_is_valid_and_a_501st_node_is_refused() -> None:
    # Speed is measured by `manage.py bench engine`, never asserted here.
    from bench.engine import realistic_graph

    built = realistic_graph(nodes=500)
    assert len(built.nodes) == 500
    assert [issue for issue in validate(built) if issue.level == "error"] == []
    bigger = realistic_graph(nodes=501)
    assert "too_many_nodes" in {issue.code for issue in validate(bigger)}
