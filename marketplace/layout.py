"""The compact ``steps`` of a template file turned into the builder's graph (React Flow's JSON), laid out.

Nodes are placed by depth from the triggers (one row per depth) and spread across a row by order of appearance,
so that a template opens readable on the canvas without anyone having placed it by hand.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from marketplace.manifest import Step

__all__ = ["COLUMN_WIDTH", "ROW_HEIGHT", "graph_from_steps"]

ROW_HEIGHT = 140
COLUMN_WIDTH = 280


def _depths(steps: list[Step]) -> dict[str, int]:
    """Return each step's depth: its shortest distance from a trigger (unreachable steps go below the rest)."""
    targets = {step.id: list(step.branches().values()) for step in steps}
    depth = {step.id: 0 for step in steps if step.type.startswith("trigger_")}
    queue = deque(depth)
    while queue:
        current = queue.popleft()
        for target in targets.get(current, []):
            if target not in depth:
                depth[target] = depth[current] + 1
                queue.append(target)
    bottom = max(depth.values(), default=0) + 1
    return {step.id: depth.get(step.id, bottom) for step in steps}


def graph_from_steps(steps: list[Step]) -> dict[str, Any]:
    """Return ``{nodes, edges}`` as the builder sends them, for the steps in their order."""
    depths = _depths(steps)
    rows: dict[int, list[str]] = defaultdict(list)
    for step in steps:
        rows[depths[step.id]].append(step.id)
    nodes = []
    for step in steps:
        row = rows[depths[step.id]]
        column = row.index(step.id) - (len(row) - 1) / 2
        nodes.append(
            {
                "id": step.id,
                "type": step.type,
                "position": {"x": round(column * COLUMN_WIDTH), "y": depths[step.id] * ROW_HEIGHT},
                "data": {"label": step.label, "config": dict(step.config)},
            }
        )
    edges = [
        {"id": f"{step.id}-{branch}", "source": step.id, "target": target, "sourceHandle": branch}
        for step in steps
        for branch, target in step.branches().items()
    ]
    return {"nodes": nodes, "edges": edges}
