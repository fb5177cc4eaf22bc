"""What changed between two versions of a workflow, in words a reviewer reads (CONTRACT §17's `workflows diff`).

Nodes are matched by id and edges by where they leave from (node and branch): an edge's own id is the builder's
bookkeeping, and a moved card is no change to the journey, so positions are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from workflows.engine.graph import Graph, Node, WorkflowSettings, thaw

__all__ = ["EdgeChange", "GraphDiff", "NodeChange", "graph_diff"]

Change = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class NodeChange:
    node_id: str
    type: str
    change: Change
    fields: tuple[str, ...] = ()  # for "changed": "type", "label" and the config fields that differ

    def sentence(self) -> str:
        if self.change != "changed":
            return f"Node {self.node_id} ({self.type}) {self.change}."
        return f"Node {self.node_id} ({self.type}) changed: {', '.join(self.fields)}."


@dataclass(frozen=True, slots=True)
class EdgeChange:
    source: str
    branch: str
    change: Change
    target: str | None  # the new target (the old one when removed)
    old_target: str | None = None

    def sentence(self) -> str:
        leaving = f"{self.source}" if self.branch == "default" else f"{self.source} [{self.branch}]"
        if self.change == "added":
            return f"Edge {leaving} → {self.target} added."
        if self.change == "removed":
            return f"Edge {leaving} → {self.target} removed."
        return f"Edge {leaving} now goes to {self.target} (was {self.old_target})."


@dataclass(frozen=True)
class GraphDiff:
    nodes: tuple[NodeChange, ...] = ()
    edges: tuple[EdgeChange, ...] = ()
    settings: tuple[str, ...] = ()  # the settings that differ
    _touched: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def empty(self) -> bool:
        return not (self.nodes or self.edges or self.settings)

    @property
    def touched_nodes(self) -> frozenset[str]:
        """Return the old nodes whose contacts the change concerns: removed or changed, or leaving differently."""
        return self._touched

    def sentences(self) -> list[str]:
        lines = [change.sentence() for change in self.nodes] + [change.sentence() for change in self.edges]
        if self.settings:
            lines.append(f"Settings changed: {', '.join(self.settings)}.")
        return lines or ["No change."]

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes": [
                {"node_id": c.node_id, "type": c.type, "change": c.change, "fields": list(c.fields)}
                for c in self.nodes
            ],
            "edges": [
                {
                    "source": c.source,
                    "branch": c.branch,
                    "change": c.change,
                    "target": c.target,
                    "old_target": c.old_target,
                }
                for c in self.edges
            ],
            "settings": list(self.settings),
            "summary": self.sentences(),
        }


def graph_diff(
    old: Graph,
    new: Graph,
    old_settings: WorkflowSettings | None = None,
    new_settings: WorkflowSettings | None = None,
) -> GraphDiff:
    """Return the changes from ``old`` to ``new`` (nodes, edges, settings), in a stable order."""
    nodes = _node_changes(old, new)
    edges = _edge_changes(old, new)
    settings = _settings_changes(old_settings, new_settings)
    touched = {c.node_id for c in nodes if c.change != "added"} | {
        c.source for c in edges if c.change != "added"
    }
    return GraphDiff(tuple(nodes), tuple(edges), settings, frozenset(touched & set(old.node_by_id)))


def _node_changes(old: Graph, new: Graph) -> list[NodeChange]:
    changes = []
    for node_id, node in old.node_by_id.items():
        other = new.node_by_id.get(node_id)
        if other is None:
            changes.append(NodeChange(node_id, node.type, "removed"))
        else:
            fields = _node_fields(node, other)
            if fields:
                changes.append(NodeChange(node_id, other.type, "changed", fields))
    changes += [
        NodeChange(node_id, node.type, "added")
        for node_id, node in new.node_by_id.items()
        if node_id not in old.node_by_id
    ]
    return changes


def _node_fields(old: Node, new: Node) -> tuple[str, ...]:
    fields = []
    if old.type != new.type:
        fields.append(f"type ({old.type} → {new.type})")
    if old.label != new.label:
        fields.append("label")
    before, after = thaw(old.config), thaw(new.config)
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            fields.append(f"config.{name}{_values(before.get(name), after.get(name))}")
    return tuple(fields)


def _values(before: Any, after: Any) -> str:
    """Return ' (a → b)' for short scalar values, so a reviewer sees the change itself."""
    if all(isinstance(v, (str, int, float, bool)) or v is None for v in (before, after)):
        text = f" ({_short(before)} → {_short(after)})"
        return text if len(text) <= 80 else ""
    return ""


def _short(value: Any) -> str:
    return "nothing" if value is None else str(value)


def _edge_changes(old: Graph, new: Graph) -> list[EdgeChange]:
    before, after = old.next_node, new.next_node
    changes = []
    for (source, branch), target in sorted(before.items()):
        now = after.get((source, branch))
        if now is None:
            changes.append(EdgeChange(source, branch, "removed", target))
        elif now != target:
            changes.append(EdgeChange(source, branch, "changed", now, target))
    changes += [
        EdgeChange(source, branch, "added", target)
        for (source, branch), target in sorted(after.items())
        if (source, branch) not in before
    ]
    return changes


def _settings_changes(old: WorkflowSettings | None, new: WorkflowSettings | None) -> tuple[str, ...]:
    before: Mapping[str, Any] = old.as_dict() if old is not None else {}
    after: Mapping[str, Any] = new.as_dict() if new is not None else {}
    return tuple(name for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name))
