"""Property tests: random graphs always stop, simulations repeat exactly, splits keep their proportions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.registry import StepContext
from workflows.engine.runner import prepare, step
from workflows.engine.simulator import simulate
from workflows.engine.validation import validate

RULES = [
    True,
    {">": [{"var": "contact.score"}, 5]},
    {"in": ["vip", {"var": "contact.tags"}]},
    {"email_event": {"event": "opened"}},
    {"<": [{"event_count": {"type": "page.viewed", "within": "P7D"}}, 2]},
]
EVENT_TYPES = ["contact.created", "email.opened", "email.clicked", "page.viewed", "order.completed"]


@st.composite
def random_graphs(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a graph whose only backward edges leave wait nodes, as validation requires."""
    count = draw(st.integers(1, 14))
    nodes: list[dict[str, Any]] = [
        {"id": "t", "type": "trigger_event", "data": {"config": {"event": "contact.created"}}}
    ]
    kinds = st.sampled_from(
        [
            "condition",
            "switch",
            "split",
            "delay",
            "wait_for_event",
            "add_tag",
            "send_email",
            "update_score",
            "exit",
        ]
    )
    for index in range(count):
        kind = draw(kinds)
        config: dict[str, Any] = {
            "condition": lambda: {"rule": draw(st.sampled_from(RULES))},
            "switch": lambda: {
                "cases": [
                    {"id": "a", "rule": draw(st.sampled_from(RULES))},
                    {"id": "b", "rule": draw(st.sampled_from(RULES))},
                ]
            },
            "split": lambda: {
                "variants": [
                    {"id": "a", "weight": draw(st.integers(1, 5))},
                    {"id": "b", "weight": draw(st.integers(0, 5))},
                ]
            },
            "delay": lambda: {"duration": draw(st.sampled_from(["PT1H", "P1D", "P3D"]))},
            "wait_for_event": lambda: {"event": draw(st.sampled_from(EVENT_TYPES)), "timeout": "P2D"},
            "add_tag": lambda: {"tag": "t"},
            "send_email": lambda: {"template_id": "x"},
            "update_score": lambda: {"delta": 1},
            "exit": lambda: {},
        }[kind]()
        nodes.append({"id": f"n{index}", "type": kind, "data": {"config": config}})
    branches = {
        "condition": ["yes", "no"],
        "switch": ["a", "b", "default"],
        "split": ["a", "b"],
        "wait_for_event": ["event", "timeout"],
        "exit": [],
    }
    edges: list[dict[str, Any]] = []
    for position, node in enumerate(nodes):
        for branch in branches.get(node["type"], ["default"]):
            is_wait = node["type"] in ("delay", "wait_for_event")
            choices = [n["id"] for n in nodes[1:] if is_wait or nodes.index(n) > position]
            if choices and draw(st.booleans()):
                target = draw(st.sampled_from(choices))
                edges.append(
                    {"id": f"e{len(edges)}", "source": node["id"], "target": target, "sourceHandle": branch}
                )
    return {"nodes": nodes, "edges": edges}


timelines = st.lists(
    st.fixed_dictionaries(
        {
            "after": st.sampled_from(["PT0S", "PT2H", "P1D", "P2DT3H", "P5D"]),
            "type": st.sampled_from(EVENT_TYPES),
        }
    ),
    max_size=6,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs(), timelines, st.integers(0, 3))
def test_random_valid_graphs_stop_within_the_step_limit(
    builder: dict[str, Any], events: list, seed: int
) -> None:
    graph = Graph.from_builder(builder)
    workflow = WorkflowSettings.parse({"max_steps_per_enrollment": 200})
    assert [i for i in validate(graph, workflow) if i.code == "cycle_without_wait"] == []
    result = simulate(
        graph=graph,
        settings=workflow,
        contact={"email": "p@x.test", "score": 7},
        start="2026-11-23T08:00:00Z",
        events=events,
        until="P30D",
        seed=seed,
    )
    assert result.status in {"completed", "exited", "waiting", "failed"}
    assert result.state is not None and result.state.step_count <= 200
    assert len(result.path) <= 201
    if result.status == "failed":
        assert result.reason is not None and "max_steps_per_enrollment" in result.reason
    assert all(entry["error"]["type"] != "RuntimeError" for entry in result.path if "error" in entry)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs(), timelines, st.integers(0, 2**31))
def test_a_simulation_is_deterministic_for_a_seed(builder: dict[str, Any], events: list, seed: int) -> None:
    def once() -> dict[str, Any]:
        return simulate(
            graph=Graph.from_builder(builder),
            settings=WorkflowSettings(),
            contact={"email": "p@x.test"},
            start="2026-11-23T08:00:00Z",
            events=events,
            until="P20D",
            seed=seed,
        ).as_dict()

    assert once() == once()


NOW = datetime(2026, 11, 23, tzinfo=UTC)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=2, max_size=4).filter(lambda weights: sum(weights) > 0))
def test_split_proportions_follow_the_weights(weights: list[int]) -> None:
    variants = [{"id": f"v{i}", "weight": weight} for i, weight in enumerate(weights)]
    graph = Graph.from_builder(
        {"nodes": [{"id": "s", "type": "split", "data": {"config": {"variants": variants}}}]}
    )
    prepared = prepare(graph)["s"]
    world = FakeWorld(contact={}, clock=lambda: NOW)
    ports = fake_ports(world)
    contacts = 4000
    counts = dict.fromkeys((v["id"] for v in variants), 0)
    for index in range(contacts):
        ctx = StepContext(
            enrollment_id=f"e{index}",
            contact_id=f"contact-{index}",
            contact={},
            node=prepared.node,
            now=NOW,
            settings=WorkflowSettings(),
            ports=ports,
        )
        counts[step(prepared=prepared, ctx=ctx).branch] += 1  # type: ignore[union-attr]
    total = sum(weights)
    for variant, weight in zip(variants, weights, strict=True):
        share = counts[variant["id"]] / contacts
        assert abs(share - weight / total) < 0.03, (weights, counts)
        if weight == 0:
            assert counts[variant["id"]] == 0
