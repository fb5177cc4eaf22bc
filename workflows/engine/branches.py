"""Where the branches of a ``parallel`` node go: the nodes each one runs and the merge they meet at.

Read by the runner (where a forked enrollment waits) and by validation (branches that never meet, or that share
nodes). A branch's region is every node reachable from its first node without passing a merge; the merge of a
parallel is the one merge its branches reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workflows.engine.graph import Graph

__all__ = ["BranchRegion", "each_problems", "join_of", "parallel_problems", "regions_of"]

FlowOf = Callable[[str], str | None]  # a node id → "fork", "join" or None (by its type's ``flow``)


@dataclass(frozen=True, slots=True)
class BranchRegion:
    """One branch of a parallel: the edge's branch id, the nodes it runs, and the merges it reaches."""

    branch: str
    nodes: frozenset[str]
    joins: frozenset[str]


def _successors(graph: Graph) -> dict[str, list[str]]:
    cached = graph._cache.get("successors")
    if cached is None:
        cached = {}
        for edge in graph.edges:
            cached.setdefault(edge.source, []).append(edge.target)
        graph._cache["successors"] = cached
    return cached


def regions_of(graph: Graph, fork_id: str, branches: tuple[str, ...], flow_of: FlowOf) -> list[BranchRegion]:
    """Return the region of each connected branch of the parallel ``fork_id``, in the order of ``branches``."""
    successors = _successors(graph)
    regions: list[BranchRegion] = []
    for branch in branches:
        start = graph.next_node.get((fork_id, branch))
        if start is None:
            continue
        nodes: set[str] = set()
        joins: set[str] = set()
        pending = [start]
        while pending:
            node_id = pending.pop()
            if flow_of(node_id) == "join":
                joins.add(node_id)
                continue
            if node_id in nodes or node_id == fork_id:
                continue
            nodes.add(node_id)
            pending.extend(successors.get(node_id, ()))
        regions.append(BranchRegion(branch, frozenset(nodes), frozenset(joins)))
    return regions


def join_of(graph: Graph, fork_id: str, branches: tuple[str, ...], flow_of: FlowOf) -> str | None:
    """Return the merge the parallel's branches meet at (the first one found, in branch order), or ``None``."""
    key = f"join:{fork_id}"
    if key not in graph._cache:
        found = [
            join for region in regions_of(graph, fork_id, branches, flow_of) for join in sorted(region.joins)
        ]
        graph._cache[key] = found[0] if found else None
    return graph._cache[key]


def parallel_problems(
    graph: Graph, forks: dict[str, tuple[str, ...]], joins: dict[str, int | None], flow_of: FlowOf
) -> list[tuple[str, str, str]]:
    """Return ``(code, message, node id)`` for parallels and merges that cannot run as drawn.

    ``forks`` maps each parallel to its branches; ``joins`` each merge to the count it waits for (``None``: all
    or any). Branches must meet at one merge that each of them reaches, without sharing a node before it and
    without a parallel inside; a merge takes its inputs from one parallel's branches only, and no more than it has.
    """
    problems: list[tuple[str, str, str]] = []
    served: dict[str, str] = {}
    for fork_id, branches in forks.items():
        regions = regions_of(graph, fork_id, branches, flow_of)
        problems += _fork_problems(fork_id, regions, flow_of)
        met = sorted({join for region in regions for join in region.joins})
        if len(met) != 1:
            continue
        join = met[0]
        served[join] = fork_id
        count = joins.get(join)
        if count is not None and count > len(regions):
            problems.append(
                (
                    "merge_count_too_large",
                    f"The merge {join} waits for {count} branches but the "
                    f"parallel {fork_id} sends only {len(regions)} its way; lower the count.",
                    join,
                )
            )
        inside = set().union(*(region.nodes for region in regions))
        for edge in graph.edges:
            if edge.target == join and edge.source not in inside and edge.source != fork_id:
                problems.append(
                    (
                        "merge_input_outside",
                        f"The merge {join} has an input from {edge.source}, which "
                        f"is not on a branch of the parallel {fork_id}; a merge joins one parallel's "
                        "branches only.",
                        join,
                    )
                )
    for join in joins:
        if join not in served and join in graph.node_by_id:
            problems.append(
                (
                    "merge_without_parallel",
                    f"The merge {join} is not where the branches of one "
                    "parallel meet; connect each branch of a parallel to it, or remove it.",
                    join,
                )
            )
    return problems


def _fork_problems(fork_id: str, regions: list[BranchRegion], flow_of: FlowOf) -> list[tuple[str, str, str]]:
    problems: list[tuple[str, str, str]] = []
    met = sorted({join for region in regions for join in region.joins})
    if len(met) > 1:
        problems.append(
            (
                "parallel_merges_differ",
                f"The branches of the parallel {fork_id} meet at more than one "
                f"merge ({', '.join(met)}); lead them all to one.",
                fork_id,
            )
        )
    elif met:
        for region in regions:
            if met[0] not in region.joins:
                problems.append(
                    (
                        "merge_unreachable",
                        f"The branch '{region.branch}' of the parallel {fork_id} "
                        f"never reaches the merge {met[0]}, which would wait for it in vain; connect "
                        "it to the merge.",
                        fork_id,
                    )
                )
    seen: dict[str, str] = {}
    for region in regions:
        for node_id in sorted(region.nodes):
            if flow_of(node_id) in ("fork", "each"):
                problems.append(
                    (
                        "nested_parallel",
                        f"The parallel {node_id} is on a branch of the parallel "
                        f"{fork_id}; parallels inside parallels are not supported.",
                        node_id,
                    )
                )
            if node_id in seen and seen[node_id] != region.branch:
                problems.append(
                    (
                        "branches_share_nodes",
                        f"The branches '{seen[node_id]}' and '{region.branch}' "
                        f"of the parallel {fork_id} both run {node_id}; give each branch nodes of its "
                        "own up to the merge.",
                        node_id,
                    )
                )
            seen.setdefault(node_id, region.branch)
    return problems


def each_problems(graph: Graph, loops: list[str], flow_of: FlowOf) -> list[tuple[str, str, str]]:
    """Return ``(code, message, node id)`` for for_each nodes whose ``item`` path cannot run once per item: one
    that reaches a merge, holds a parallel or another for_each, or leads back to the for_each itself."""
    problems: list[tuple[str, str, str]] = []
    successors = _successors(graph)
    for each_id in loops:
        for region in regions_of(graph, each_id, ("item",), flow_of):
            for join in sorted(region.joins):
                problems.append(
                    (
                        "for_each_reaches_merge",
                        f"The 'item' path of the for_each {each_id} reaches the "
                        f"merge {join}; an item's run ends where its path ends, without a merge.",
                        each_id,
                    )
                )
            for node_id in sorted(region.nodes):
                if flow_of(node_id) in ("fork", "each"):
                    problems.append(
                        (
                            "nested_parallel",
                            f"The {node_id} is on the 'item' path of the for_each "
                            f"{each_id}; parallels and for_each inside a for_each are not supported.",
                            node_id,
                        )
                    )
                if each_id in successors.get(node_id, ()):
                    problems.append(
                        (
                            "for_each_loops_back",
                            f"The 'item' path of the for_each {each_id} leads back "
                            f"to it from {node_id}; an item's run must end, and the for_each goes on "
                            "along 'done' by itself.",
                            node_id,
                        )
                    )
    return problems
