"""Graph validation: what stops a workflow from being published (errors) and what deserves a look (warnings).

Errors are graphs that cannot run as drawn: no trigger, unknown types, invalid configs or rules, edges that
point nowhere or leave from a branch the node does not have, two edges on one branch, edges into a trigger,
nodes no trigger reaches, cycles without a wait, a split whose weights add up to 0, invalid exit conditions,
more than ``MAX_NODES`` nodes, repeated ids.

A branch left unconnected is a warning, never an error. The contract gives it a meaning (a node with no
outgoing edge for the branch taken ends the enrollment as ``completed``), and it is often what the marketer
wants: the ``no`` of "if opened, tag as engaged", the ``timeout`` of a wait for a reply, a control-group
variant of a split, a switch's ``default``. Refusing it would force an Exit node, which ends the enrollment as
``exited`` instead and distorts the analytics. Single-exit nodes without a next node are not reported at all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from workflows.engine.branches import each_problems, parallel_problems
from workflows.engine.conditions import check_rule
from workflows.engine.errors import pydantic_details
from workflows.engine.graph import DEFAULT_BRANCH, Edge, Graph, Node, WorkflowSettings
from workflows.engine.registry import NodeType, registry

__all__ = ["MAX_NODES", "Issue", "split_issues", "validate"]

MAX_NODES = 500


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a graph; ``message`` says how to fix it."""

    level: Literal["error", "warning"]
    code: str
    message: str
    node_id: str | None = None
    edge_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return ``{code, message, node_id?, edge_id?}`` as the API shows it."""
        found: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.node_id is not None:
            found["node_id"] = self.node_id
        if self.edge_id is not None:
            found["edge_id"] = self.edge_id
        return found


def split_issues(issues: Iterable[Issue]) -> dict[str, list[dict[str, Any]]]:
    """Return ``{"errors": [...], "warnings": [...]}`` of issue dicts."""
    split: dict[str, list[dict[str, Any]]] = {"errors": [], "warnings": []}
    for issue in issues:
        split["errors" if issue.level == "error" else "warnings"].append(issue.as_dict())
    return split


def _name(node: Node) -> str:
    return f"{node.label!r} ({node.id})" if node.label else f"node {node.id}"


@dataclass(slots=True)
class _Checked:
    node: Node
    node_type: NodeType | None
    config: Any
    branches: tuple[str, ...] | None  # None: unknown (invalid config or type)


class _Found:
    """The issues found so far, in the order found."""

    __slots__ = ("issues",)

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def error(self, code: str, message: str, **ids: str | None) -> None:
        self.issues.append(Issue("error", code, message, **ids))

    def warning(self, code: str, message: str, **ids: str | None) -> None:
        self.issues.append(Issue("warning", code, message, **ids))


def validate(graph: Graph, settings: WorkflowSettings | None = None) -> list[Issue]:
    """Return every error and warning of ``graph`` under ``settings``, errors first."""
    found = _Found()
    _check_size(graph, found)
    _check_unique_ids(graph, found)
    checked = {node.id: _check_node(node, found) for node in graph.node_by_id.values()}
    triggers = _check_triggers(checked, found)
    successors, connected = _check_edges(graph, checked, found)
    reachable = _reachable(triggers, successors)
    _check_reachable(checked, triggers, reachable, found)
    _check_cycles(checked, successors, found)
    _check_branches_connected(checked, connected, found)
    for node_id in _cannot_complete(checked, connected, successors, reachable):
        found.warning(
            "no_way_to_complete",
            f"From {_name(checked[node_id].node)} every path loops forever: no path ends or exits. Add a way "
            "out of the loop (a condition leading to an end, or an Exit).",
            node_id=node_id,
        )
    _check_exit_conditions(settings or WorkflowSettings(), found)
    _check_split_goals(checked, settings or WorkflowSettings(), found)
    _check_parallels(graph, checked, found)
    found.issues.sort(key=lambda issue: issue.level != "error")
    return found.issues


def _check_parallels(graph: Graph, checked: dict[str, _Checked], found: _Found) -> None:
    """Parallels whose branches never meet at their merge, share nodes or nest; merges that join no parallel."""

    def flow_of(node_id: str) -> str | None:
        item = checked.get(node_id)
        return item.node_type.flow if item is not None and item.node_type is not None else None

    forks = {
        node_id: item.branches
        for node_id, item in checked.items()
        if flow_of(node_id) == "fork" and item.branches is not None
    }
    joins = {node_id: getattr(item.config, "count", None) for node_id, item in checked.items()
             if flow_of(node_id) == "join"}  # fmt: skip
    loops = [node_id for node_id in checked if flow_of(node_id) == "each"]
    if not forks and not joins and not loops:
        return
    for code, message, node_id in parallel_problems(graph, forks, joins, flow_of) + each_problems(
        graph, loops, flow_of
    ):
        found.error(code, message, node_id=node_id)


def _check_size(graph: Graph, found: _Found) -> None:
    if len(graph.nodes) > MAX_NODES:
        found.error(
            "too_many_nodes",
            f"The workflow has {len(graph.nodes)} nodes; split it into workflows of at most {MAX_NODES}.",
        )


def _check_unique_ids(graph: Graph, found: _Found) -> None:
    for node_id, count in Counter(node.id for node in graph.nodes).items():
        if count > 1:
            found.error(
                "duplicate_node_id",
                f"{count} nodes share the id {node_id!r}; give each node its own id.",
                node_id=node_id,
            )
    for edge_id, count in Counter(edge.id for edge in graph.edges).items():
        if count > 1:
            found.error(
                "duplicate_edge_id",
                f"{count} edges share the id {edge_id!r}; give each edge its own id.",
                edge_id=edge_id,
            )


def _check_node(node: Node, found: _Found) -> _Checked:
    node_type = registry.get(node.type)
    if node_type is None:
        found.error(
            "unknown_node_type",
            f"{_name(node)} has the unknown type {node.type!r}; replace it with a node from the palette.",
            node_id=node.id,
        )
        return _Checked(node, None, None, None)
    try:
        config = node_type.parse_config(node.config_dict())
    except ValidationError as failure:
        for path, text in pydantic_details(failure, prefix="config").items():
            found.error("invalid_config", f"{_name(node)}: {path} {text}.", node_id=node.id)
        branches = None if node_type.branches == "dynamic" else node_type.branches
        return _Checked(node, node_type, None, branches)  # type: ignore[arg-type]
    for path, rule in node_type.rules(config):
        for problem in check_rule(rule):
            found.error("invalid_rule", f"{_name(node)}: config.{path}: {problem}.", node_id=node.id)
    for level, code, message in node_type.problems(config):
        report = found.error if level == "error" else found.warning
        report(code, f"{_name(node)}: {message}", node_id=node.id)
    return _Checked(node, node_type, config, tuple(node_type.branches_for(config)))


def _check_triggers(checked: dict[str, _Checked], found: _Found) -> list[str]:
    """Return the ids of the trigger nodes (an error if there is none)."""
    triggers = [
        c.node.id for c in checked.values() if c.node_type is not None and c.node_type.kind == "trigger"
    ]
    if not triggers:
        found.error(
            "no_trigger",
            "The workflow has no trigger: add one (e.g. an Event trigger) so that contacts can enter.",
        )
    return triggers


def _check_edges(
    graph: Graph, checked: dict[str, _Checked], found: _Found
) -> tuple[dict[str, list[str]], set[tuple[str, str]]]:
    """Return each node's next nodes and the (node, branch) pairs connected, by the edges that are sound."""
    successors: dict[str, list[str]] = defaultdict(list)
    connected: set[tuple[str, str]] = set()
    for edge in graph.edges:
        if _edge_problem(edge, checked, connected, found):
            continue
        connected.add((edge.source, edge.branch))
        successors[edge.source].append(edge.target)
    return successors, connected


def _edge_problem(
    edge: Edge, checked: dict[str, _Checked], connected: set[tuple[str, str]], found: _Found
) -> bool:
    """Report what is wrong with ``edge`` (the first thing only); return whether anything is."""
    source, target = checked.get(edge.source), checked.get(edge.target)
    if source is None or target is None:
        missing = " and ".join(
            f"{role} {node_id!r}"
            for role, node_id in (("source", edge.source), ("target", edge.target))
            if node_id not in checked
        )
        found.error(
            "dangling_edge",
            f"The edge points to a missing {missing}; delete it or reconnect it.",
            edge_id=edge.id,
        )
    elif source.branches is not None and edge.branch not in source.branches:
        have = ", ".join(source.branches) or "none"
        found.error(
            "unknown_branch",
            f"{_name(source.node)} has no branch {edge.branch!r} (its branches: {have}); reconnect the edge "
            "from one of them.",
            node_id=source.node.id,
            edge_id=edge.id,
        )
    elif target.node_type is not None and target.node_type.kind == "trigger":
        found.error(
            "edge_into_trigger",
            f"An edge leads into the trigger {_name(target.node)}; triggers start enrollments and take no "
            "incoming edges. Delete the edge.",
            node_id=target.node.id,
            edge_id=edge.id,
        )
    elif (edge.source, edge.branch) in connected:
        found.error(
            "duplicate_branch",
            f"The {edge.branch!r} branch of {_name(source.node)} has more than one edge; keep one (a branch "
            "leads to exactly one next node).",
            node_id=source.node.id,
            edge_id=edge.id,
        )
    else:
        return False
    return True


def _check_reachable(
    checked: dict[str, _Checked], triggers: list[str], reachable: set[str], found: _Found
) -> None:
    for node_id, item in checked.items():
        if node_id not in reachable and node_id not in triggers:
            found.error(
                "unreachable_node",
                f"No trigger leads to {_name(item.node)}; connect it to the flow or delete it.",
                node_id=node_id,
            )


def _check_cycles(checked: dict[str, _Checked], successors: dict[str, list[str]], found: _Found) -> None:
    waits = {
        node_id for node_id, item in checked.items() if item.node_type is not None and item.node_type.is_wait
    }
    for cycle in _cycles_without(waits, checked, successors):
        listed = ", ".join(cycle)
        found.error(
            "cycle_without_wait",
            f"The loop through {listed} has no wait node, so a contact would go round it instantly; add a "
            "Delay, Wait until or Wait for event to the loop.",
            node_id=cycle[0],
        )


def _check_branches_connected(
    checked: dict[str, _Checked], connected: set[tuple[str, str]], found: _Found
) -> None:
    """Warn about triggers that lead nowhere and branches left open (they complete there: see the top)."""
    for node_id, item in checked.items():
        if item.branches is None or item.node_type is None:
            continue
        if item.node_type.kind == "trigger":
            if (node_id, DEFAULT_BRANCH) not in connected:
                found.warning(
                    "trigger_not_connected",
                    f"The trigger {_name(item.node)} leads nowhere: contacts who enter complete at once. Connect "
                    "it to the first step.",
                    node_id=node_id,
                )
            continue
        if item.branches == (DEFAULT_BRANCH,):
            continue
        for branch in item.branches:
            if (node_id, branch) not in connected:
                found.warning(
                    "branch_not_connected",
                    f"The {branch!r} branch of {_name(item.node)} is not connected: contacts who take it "
                    "complete there. Connect it if they should go on.",
                    node_id=node_id,
                )


def _check_exit_conditions(settings: WorkflowSettings, found: _Found) -> None:
    for index, condition in enumerate(settings.exit_conditions):
        for part, rule in (("rule", condition.rule), ("filter", condition.filter)):
            if rule is None:
                continue
            for problem in check_rule(rule):
                found.error("invalid_exit_condition", f"Exit condition {index + 1}, {part}: {problem}.")


def _check_split_goals(checked: dict[str, _Checked], settings: WorkflowSettings, found: _Found) -> None:
    """An optimizing split learns from one goal: it must be the goal of an exit condition, or nothing counts."""
    goals = {condition.goal for condition in settings.exit_conditions if condition.goal}
    for item in checked.values():
        config = item.config
        if item.node.type == "split" and getattr(config, "mode", None) == "optimize" and config.goal not in goals:
            found.error(
                "unknown_split_goal",
                f"{_name(item.node)} optimizes for the goal {config.goal!r}, which no exit condition names: add an "
                "exit condition with that goal, or choose one of the workflow's goals.",
                node_id=item.node.id,
            )


def _reachable(starts: Iterable[str], successors: dict[str, list[str]]) -> set[str]:
    seen = set(starts)
    stack = list(seen)
    while stack:
        for target in successors.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _cycles_without(
    waits: set[str], checked: dict[str, _Checked], successors: dict[str, list[str]]
) -> list[list[str]]:
    """Return the loops (strongly connected parts) that remain when wait nodes are taken out (Tarjan, iterative)."""
    graph = {
        node_id: [target for target in successors.get(node_id, ()) if target not in waits]
        for node_id in checked
        if node_id not in waits
    }
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node_id, position = work.pop()
            if position == 0:
                index_of[node_id] = low[node_id] = counter
                counter += 1
                stack.append(node_id)
                on_stack.add(node_id)
            targets = graph[node_id]
            if position < len(targets):
                work.append((node_id, position + 1))
                target = targets[position]
                if target not in index_of:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node_id] = min(low[node_id], index_of[target])
                continue
            if low[node_id] == index_of[node_id]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node_id:
                        break
                if len(component) > 1 or node_id in graph[node_id]:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node_id])
    return found


def _cannot_complete(
    checked: dict[str, _Checked],
    connected: set[tuple[str, str]],
    successors: dict[str, list[str]],
    reachable: set[str],
) -> list[str]:
    """Return the reachable nodes from which no path ends (an unconnected branch, or an Exit)."""
    ends = {
        node_id
        for node_id, item in checked.items()
        if item.branches is None
        or not item.branches
        or any((node_id, branch) not in connected for branch in item.branches)
    }
    predecessors: dict[str, list[str]] = defaultdict(list)
    for source, targets in successors.items():
        for target in targets:
            predecessors[target].append(source)
    can_end = _reachable(ends, predecessors)
    return [node_id for node_id in checked if node_id in reachable and node_id not in can_end]
