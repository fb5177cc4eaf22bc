"""Optimizing splits in the engine: the allocation, its floor, the stopping rule and the split step (no database)."""

from __future__ import annotations

import random

from workflows.engine.bandit import (
    SplitState,
    allocation_changed,
    probability_best,
    split_allocation,
    variant_for,
)
from workflows.engine.graph import WorkflowSettings
from workflows.engine.validation import validate

from .graphs import GraphBuilder, Harness, ts

VARIANTS = ["a", "b"]


def allocate(counts: dict, **state) -> object:
    return split_allocation(
        SplitState(counts=counts, **state), variants=VARIANTS, goal="bought", min_share=0.1, confidence=0.95
    )


def test_without_results_the_variants_share_traffic_evenly() -> None:
    allocation = allocate({})
    assert allocation.shares == {"a": 0.5, "b": 0.5} and allocation.winner is None


def test_traffic_moves_towards_the_better_rate_but_never_below_the_floor() -> None:
    allocation = allocate({"a": (60, 6), "b": (60, 12)})
    assert allocation.shares["b"] > 0.7 and allocation.shares["a"] >= 0.1
    assert abs(sum(allocation.shares.values()) - 1) < 1e-3
    assert "Thompson sampling for goal 'bought'" in allocation.reason and "b 20.0% of 60" in allocation.reason


def test_a_winner_needs_the_confidence_enough_entries_and_to_keep_both_while_entries_grow() -> None:
    assert allocate({"a": (40, 2), "b": (40, 20)}).candidate is None  # confident, but too few entries
    first = allocate({"a": (400, 40), "b": (400, 80)})
    assert (first.winner, first.candidate, first.candidate_entries) == (None, "b", 800)
    assert "b reached 95% at 800 entries: it is declared the winner if it holds until 1000" in first.reason
    assert allocation_changed(SplitState({}, shares=first.shares), first)  # the candidate is logged

    assert allocate({"a": (450, 45), "b": (500, 100)}, candidate="b", candidate_entries=800).winner is None
    won = allocate({"a": (450, 45), "b": (550, 110)}, candidate="b", candidate_entries=800)
    assert won.winner == "b" and won.shares == {"a": 0.0, "b": 1.0}
    assert "b is the winner for goal 'bought'" in won.reason


def test_a_candidate_that_falls_back_starts_over() -> None:
    allocation = allocate({"a": (500, 60), "b": (500, 64)}, candidate="b", candidate_entries=800)
    assert (allocation.winner, allocation.candidate) == (None, None)


def test_a_declared_winner_stays_when_later_results_are_noisier() -> None:
    logged = SplitState({}, shares={"a": 0.0, "b": 1.0}, winner="b")
    allocation = allocate({"a": (500, 60), "b": (500, 62)}, winner="b", shares={"a": 0.0, "b": 1.0})
    assert allocation.winner == "b" and not allocation_changed(logged, allocation)


def test_the_probability_to_be_best_is_deterministic_and_sensible() -> None:
    counts = {"a": (1000, 100), "b": (1000, 120)}
    assert probability_best(counts) == probability_best(counts)
    assert 0.88 < probability_best(counts)["b"] < 0.96  # the exact value is about 0.92


def test_buckets_follow_the_shares() -> None:
    rng = random.Random(5)
    picks = [variant_for(rng.random(), {"a": 0.2, "b": 0.8}, VARIANTS) for _ in range(2000)]
    assert 0.17 < picks.count("a") / 2000 < 0.23
    assert variant_for(0.99, {"a": 1.0, "b": 0.0}, VARIANTS) == "a"


def split_graph(**config):
    builder = GraphBuilder().trigger("contact.created")
    variants = [{"id": "a", "weight": 1}, {"id": "b", "weight": 1}]
    builder.node("split", {"variants": variants, **config}, id="split", next_branch="a")
    builder.add_tag("got-a", id="tag_a").on("split", "b").add_tag("got-b", id="tag_b")
    return builder


def test_an_optimizing_split_routes_by_the_results_and_logs_the_change() -> None:
    graph = split_graph(mode="optimize", goal="bought").build()
    run = Harness(graph, at=ts("2026-11-23T07:00:00Z"))
    run.world.splits["split"] = SplitState(
        counts={"a": (300, 3), "b": (300, 60)}, shares={"a": 0.05, "b": 0.95}, candidate="b", candidate_entries=400
    )
    run.run()
    step = next(record for record in run.records if record.node_id == "split")
    assert step.branch == "b" and step.detail["winner"] == "b" and step.detail["mode"] == "optimize"
    assert [entry["winner"] for entry in run.world.allocation_log] == ["b"]


def test_an_optimizing_split_needs_a_goal_the_workflow_has() -> None:
    settings = WorkflowSettings.model_validate({"exit_conditions": [{"event": "order.placed", "goal": "bought"}]})
    bad = validate(split_graph(mode="optimize", goal="signed_up").build(), settings)
    assert [issue.code for issue in bad if issue.level == "error"] == ["unknown_split_goal"]
    assert not [i for i in validate(split_graph(mode="optimize", goal="bought").build(), settings)
                if i.level == "error"]  # fmt: skip
    missing = validate(split_graph(mode="optimize").build(), settings)
    assert any("needs a goal" in issue.message for issue in missing)
