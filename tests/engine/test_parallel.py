"""Parallel branches and their merge: one enrollment down several branches at once, joined again."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.state import EnrollmentState

from .graphs import Harness, edge, node, ts

AT = ts("2026-11-23T10:00:00Z")


def family_graph(
    merge: dict[str, Any] | None = None, *, b_waits: str | None = None, c_node: Any = None
) -> Graph:
    """trigger → parallel p {a, b, c}; a: tag; b: (delay) tag; c: tag (or ``c_node``); all → merge m → tag done."""
    nodes = [
        node("trigger", "trigger_event", {"event": "contact.created"}),
        node("p", "parallel", {"branches": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}),
        node("ta", "add_tag", {"tag": "a"}),
        node("tb", "add_tag", {"tag": "b"}),
        c_node or node("tc", "add_tag", {"tag": "c"}),
        node("m", "merge", merge or {"mode": "all"}),
        node("done", "add_tag", {"tag": "done"}),
        node("late", "add_tag", {"tag": "late"}),
    ]
    edges = [
        edge("trigger", "p"),
        edge("p", "ta", "a"),
        edge("p", "tc", "c"),
        edge("ta", "m"),
        edge("tb", "m"),
        edge("tc", "m"),
        edge("m", "done"),
        edge("m", "late", "timeout"),
    ]
    if b_waits:
        nodes.append(node("wb", "delay", {"duration": b_waits}))
        edges += [edge("p", "wb", "b"), edge("wb", "tb")]
    else:
        edges.append(edge("p", "tb", "b"))
    if c_node is not None:
        edges = (
            [e for e in edges if e["source"] != "tc"] + [edge(c_node["id"], "m")]
            if c_node["type"] != "exit"
            else [e for e in edges if e["source"] != "tc"]
        )
        edges = [e if e["target"] != "tc" else edge("p", c_node["id"], "c") for e in edges]
    return Graph.from_builder({"nodes": nodes, "edges": edges})


def paths(records: list[Any]) -> list[tuple[str | None, str, str]]:
    return [(r.detail.get("path"), r.node_id, r.outcome) for r in records]


def test_every_branch_runs_and_the_merge_goes_on_once_all_arrived() -> None:
    run = Harness(family_graph(), at=AT)
    records = run.run()
    assert paths(records) == [
        (None, "trigger", "advance"),
        (None, "p", "advance"),
        ("p.a", "ta", "advance"),
        ("p.a", "m", "wait"),
        ("p.b", "tb", "advance"),
        ("p.b", "m", "wait"),
        ("p.c", "tc", "advance"),
        ("p.c", "m", "wait"),
        (None, "m", "advance"),
        (None, "done", "advance"),
    ]
    assert records[-2].branch == "default" and records[-2].detail["arrived"] == ["a", "b", "c"]
    assert sorted(run.contact["tags"]) == ["a", "b", "c", "done"]
    assert run.state.status == "completed" and run.state.branches == {}


def test_a_waiting_branch_holds_the_merge_and_its_timer_resumes_it() -> None:
    run = Harness(family_graph(b_waits="P1D"), at=AT)
    run.run()
    assert run.state.status == "waiting" and run.state.current_node == "m"
    assert run.state.next_run_at == ts("2026-11-24T10:00:00Z")
    assert set(run.state.branches) == {"p.a", "p.b", "p.c"}
    again = EnrollmentState.from_dict(run.state.to_dict())  # what the runtime stores and loads
    assert again.branches["p.b"].wait.node_id == "wb" and again.branches["p.a"].arrived == "m"
    run.state = again
    assert run.timer(ts("2026-11-23T12:00:00Z")) == []  # not due yet: nothing happens
    records = run.timer(ts("2026-11-24T10:00:00Z"))
    assert paths(records) == [
        ("p.b", "wb", "advance"),
        ("p.b", "tb", "advance"),
        ("p.b", "m", "wait"),
        (None, "m", "advance"),
        (None, "done", "advance"),
    ]
    assert run.state.status == "completed"


def test_any_mode_goes_on_with_the_first_arrival_and_cancels_the_others() -> None:
    run = Harness(family_graph({"mode": "any"}, b_waits="P1D"), at=AT)
    records = run.run()
    assert (None, "m", "advance") in paths(records)
    assert ("p.b", "wb", "cancel") in paths(records)
    assert run.state.status == "completed" and "b" not in run.contact["tags"]


def test_count_mode_and_the_timeout_branch() -> None:
    graph = family_graph({"mode": "all", "timeout": "PT1H"}, b_waits="P1D")
    run = Harness(graph, at=AT)
    run.run()
    assert run.state.next_run_at == ts("2026-11-23T11:00:00Z")  # the merge's timeout comes first
    records = run.timer(ts("2026-11-23T11:00:00Z"))
    assert paths(records) == [("p.b", "wb", "cancel"), (None, "m", "advance"), (None, "late", "advance")]
    assert records[1].branch == "timeout" and records[1].detail["arrived"] == ["a", "c"]
    counted = Harness(family_graph({"mode": "count", "count": 2}, b_waits="P1D"), at=AT)
    counted.run()
    assert counted.state.status == "completed" and "done" in counted.contact["tags"]


def test_an_exit_in_one_branch_ends_every_branch() -> None:
    run = Harness(family_graph(b_waits="P1D", c_node=node("x", "exit", {"reason": "Bought"})), at=AT)
    records = run.run()
    assert run.state.status == "exited" and run.state.exit_reason == "Bought"
    assert ("p.b", "wb", "cancel") in paths(records)
    assert run.state.branches == {}


def test_an_exit_condition_event_ends_every_branch() -> None:
    settings = WorkflowSettings.model_validate(
        {"exit_conditions": [{"event": "order.placed", "goal": "bought"}]}
    )
    run = Harness(family_graph(b_waits="P1D"), at=AT, settings=settings)
    run.run()
    records = run.event("order.placed", ts("2026-11-23T12:00:00Z"))
    assert run.state.status == "exited" and run.state.goal == "bought"
    assert [r.outcome for r in records] == ["exit", "cancel"]


def test_branch_effects_have_keys_of_their_own() -> None:
    run = Harness(family_graph(), at=AT)
    run.run()
    keys = [action["key"] for action in run.world.actions]
    assert len(keys) == len(set(keys)) == 4


# --- validation at publish ---------------------------------------------------------------------------------------


def errors(graph: Graph) -> list[tuple[str, str | None]]:
    from workflows.engine.validation import validate

    return [(issue.code, issue.node_id) for issue in validate(graph) if issue.level == "error"]


def test_a_well_drawn_parallel_and_merge_is_valid() -> None:
    assert errors(family_graph()) == []
    assert errors(family_graph({"mode": "count", "count": 3, "timeout": "P2D"}, b_waits="P1D")) == []


def test_a_branch_that_never_reaches_the_merge_is_an_error() -> None:
    built = family_graph()
    cut = Graph.from_builder(
        {**_json(built), "edges": [e for e in _json(built)["edges"] if e["source"] != "tc"]}
    )
    assert ("merge_unreachable", "p") in errors(cut)


def test_a_count_larger_than_the_branches_is_an_error() -> None:
    assert ("merge_count_too_large", "m") in errors(family_graph({"mode": "count", "count": 4}))


def test_a_count_mode_without_a_count_is_an_invalid_config() -> None:
    assert ("invalid_config", "m") in errors(family_graph({"mode": "count"}))


def test_branches_sharing_a_node_and_a_merge_without_parallel_are_errors() -> None:
    data = _json(family_graph())
    data["edges"] = [e for e in data["edges"] if e["source"] != "ta"] + [edge("ta", "tb")]
    assert ("branches_share_nodes", "tb") in errors(Graph.from_builder(data))
    alone = Graph.from_builder(
        {
            "nodes": [node("trigger", "trigger_event", {"event": "contact.created"}), node("m", "merge", {})],
            "edges": [edge("trigger", "m")],
        }
    )
    assert ("merge_without_parallel", "m") in errors(alone)


def test_a_parallel_inside_a_branch_is_an_error() -> None:
    data = _json(family_graph())
    data["nodes"].append(node("p2", "parallel", {"branches": [{"id": "x"}, {"id": "y"}]}))
    data["edges"] = [e for e in data["edges"] if e["source"] != "ta"] + [edge("ta", "p2")]
    assert ("nested_parallel", "p2") in errors(Graph.from_builder(data))


def _json(graph: Graph) -> dict[str, Any]:
    return graph.to_builder()


# --- the simulator ------------------------------------------------------------------------------------------------


def test_the_simulator_shows_the_branches_side_by_side() -> None:
    from workflows.engine.simulator import simulate

    result = simulate(
        graph=family_graph(b_waits="P1D"),
        settings=WorkflowSettings(),
        contact={"email": "a@x.test"},
        start="2026-11-23T10:00:00Z",
        events=[{"type": "contact.created"}],
        until="P3D",
    )
    answer = result.as_dict()
    assert answer["status"] == "completed"
    assert [(step["node_id"], step["outcome"]) for step in answer["branches"]["p.b"]] == [
        ("wb", "wait"),
        ("wb", "advance"),
        ("tb", "advance"),
        ("m", "wait"),
    ]
    assert [step["node_id"] for step in answer["branches"]["p.a"]] == ["ta", "m"]
    assert answer["path"][-1]["node_id"] == "done" and "branch_path" not in answer["path"][-1]
    assert answer["branches"]["p.a"][0]["at"] == "2026-11-23T10:00:00+00:00"
    assert answer["branches"]["p.b"][-1]["at"] == "2026-11-24T10:00:00+00:00"


# --- for_each ------------------------------------------------------------------------------------------------------


def each_graph(limit: int | None = 10, *, item_nodes: list[dict[str, Any]] | None = None) -> Graph:
    """trigger → for_each fe over event.properties.items → item: tag per item → done: tag 'after'."""
    config: dict[str, Any] = {"items": "event.properties.items"}
    if limit is not None:
        config["limit"] = limit
    nodes = [
        node("trigger", "trigger_event", {"event": "cart.updated"}),
        node("fe", "for_each", config),
        *(item_nodes or [node("ti", "add_tag", {"tag": "item-{{ enrollment.vars.item.sku }}"})]),
        node("after", "add_tag", {"tag": "after"}),
    ]
    first = (item_nodes or [{"id": "ti"}])[0]["id"]
    edges = [edge("trigger", "fe"), edge("fe", first, "item"), edge("fe", "after", "done")]
    for a, b in pairwise(nodes[2:-1]):
        edges.append(edge(a["id"], b["id"]))
    return Graph.from_builder({"nodes": nodes, "edges": edges})


CART = {"type": "cart.updated", "properties": {"items": [{"sku": "a1"}, {"sku": "b2"}, {"sku": "c3"}]}}


def test_for_each_runs_the_item_path_once_per_item_then_goes_on_with_the_result() -> None:
    graph = each_graph(
        item_nodes=[node("c", "condition", {"rule": {"==": [{"var": "enrollment.vars.item.sku"}, "b2"]}})]
    )
    data = graph.to_builder()
    data["nodes"].append(node("hit", "add_tag", {"tag": "found-b2"}))
    data["edges"].append(edge("c", "hit", "yes"))
    run = Harness(Graph.from_builder(data), at=AT, trigger_event=CART)
    records = run.run()
    assert [(r.detail.get("path"), r.node_id, r.branch) for r in records] == [
        (None, "trigger", "default"),
        (None, "fe", None),
        ("fe.0", "c", "no"),
        ("fe.1", "c", "yes"),
        ("fe.1", "hit", "default"),
        ("fe.2", "c", "no"),
        (None, "fe", "done"),
        (None, "after", "default"),
    ]
    assert run.state.status == "completed" and sorted(run.contact["tags"]) == ["after", "found-b2"]
    assert run.state.vars["for_each"] == {"count": 3, "completed": 3, "results": [{}, {}, {}]}
    assert "item" not in run.state.vars


def test_for_each_takes_at_most_its_limit_and_an_empty_list_goes_straight_on() -> None:
    run = Harness(each_graph(limit=2), at=AT, trigger_event=CART)
    run.run()
    assert run.state.vars["for_each"]["count"] == 2 and run.records[1].detail["items"] == 3
    empty = Harness(each_graph(), at=AT, trigger_event={"type": "cart.updated", "properties": {}})
    empty.run()
    assert empty.state.status == "completed" and empty.state.vars["for_each"]["count"] == 0


def test_for_each_items_that_wait_keep_their_own_visits_and_effect_keys() -> None:
    items = [node("d", "delay", {"duration": "P1D"}), node("ti", "add_tag", {"tag": "x"})]
    run = Harness(each_graph(item_nodes=items), at=AT, trigger_event=CART)
    run.run()
    assert run.state.status == "waiting" and len(run.state.branches) == 3
    run.state = EnrollmentState.from_dict(run.state.to_dict())
    run.timer(ts("2026-11-24T10:00:00Z"))
    assert run.state.status == "completed" and run.state.vars["for_each"]["completed"] == 3
    keys = [action["key"] for action in run.world.actions if action["node_id"] == "ti"]
    assert len(keys) == len(set(keys)) == 3


def test_a_for_each_that_is_not_a_list_fails_with_the_reason() -> None:
    run = Harness(
        each_graph(), at=AT, trigger_event={"type": "cart.updated", "properties": {"items": "nope"}}
    )
    run.run()
    assert run.state.status == "failed" and "is not a list" in run.state.error


def test_a_loop_without_a_bound_or_over_the_cap_is_an_error_at_publish() -> None:
    assert ("loop_without_bound", "fe") in errors(each_graph(limit=None))
    assert ("loop_limit_too_high", "fe") in errors(each_graph(limit=1000))
    assert errors(each_graph(limit=100)) == []
    back = each_graph().to_builder()
    back["edges"].append(edge("ti", "fe"))
    assert ("for_each_loops_back", "ti") in errors(Graph.from_builder(back))


def test_the_builders_fixture_of_the_flow_control_types_is_what_the_registry_describes() -> None:
    import json
    from pathlib import Path

    from workflows.engine.registry import registry

    fixture = Path(__file__).resolve().parents[2] / "frontend/src/canvas/flowControlTypes.json"
    assert json.loads(fixture.read_text()) == {
        t: registry.get(t).describe() for t in ("parallel", "merge", "for_each")
    }
