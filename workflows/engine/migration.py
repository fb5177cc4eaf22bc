"""Where the live enrollments of an old version go when they move to a new one: one rule per old node.

Moving contacts in flight is decided per node, not per contact, so that a plan over a million enrollments is a
few dozen rules (and the database applies each rule to all its contacts with one statement). For each node of the
old graph the rule says which node of the new graph its contacts continue at (the node with the same id by
default; a person maps removed nodes to another node or to ``"exit"``) and what happens to the timer of a contact
parked there:

- ``kept``: the wait goes on as it was (same timing, or a retry of the same node);
- ``recomputed``: the new node times the wait differently, so the due time is computed again from the moment the
  contact entered the wait (a delay of P3D that became P1D is due one day after entry, not three);
- ``fired``: the new node is of another type, so the wait ends now and the new node runs on the next tick.

A recomputed due time that has already passed fires on the next tick too; the database tells those apart when it
counts the contacts (it knows each one's entry time).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from workflows.engine.durations import DurationError, parse_duration
from workflows.engine.graph import Graph, Node
from workflows.engine.registry import registry

__all__ = ["EXIT", "MappingProblem", "NodeMove", "WaitRule", "node_moves"]

EXIT = "exit"

# How a parked contact's timer is carried over: see the module's docstring.
TimerFate = Literal["kept", "recomputed", "fired"]


@dataclass(frozen=True, slots=True)
class WaitRule:
    """What becomes of the wait of a contact parked at the old node.

    ``until_after`` (a delay) and ``timeout_after`` (a wait for an event) are the new durations in seconds,
    counted from the wait's start; ``event`` is the event type a moved wait for an event now waits for.
    """

    fate: TimerFate = "kept"
    until_after: float | None = None
    timeout_after: float | None = None
    event: str | None = None
    why: str = ""


@dataclass(frozen=True, slots=True)
class NodeMove:
    """Contacts at ``from_node`` of the old graph continue at ``to_node`` of the new one (or exit)."""

    from_node: str
    to_node: str
    wait: WaitRule
    mapped: bool  # chosen by a person (else: the node with the same id)

    @property
    def exits(self) -> bool:
        return self.to_node == EXIT


@dataclass(frozen=True, slots=True)
class MappingProblem:
    """An old node whose contacts cannot be moved as asked (``code`` is stable; ``reason`` says what to do)."""

    from_node: str
    code: str
    reason: str


def node_moves(
    old: Graph, new: Graph, mapping: Mapping[str, str]
) -> tuple[dict[str, NodeMove], list[MappingProblem]]:
    """Return the move of each old node that has one, and the problems of the others and of the mapping.

    A removed node with no mapping gets no move but a problem (``unmapped``): whether that strands anyone depends
    on how many contacts stand there, which the caller counts.
    """
    moves: dict[str, NodeMove] = {}
    problems = [
        MappingProblem(source, "unknown_node", f"The old version has no node {source!r}: map only its nodes.")
        for source in mapping
        if source not in old.node_by_id
    ]
    for node in old.node_by_id.values():
        target = mapping.get(node.id)
        if target is None and node.id not in new.node_by_id:
            problems.append(MappingProblem(node.id, "unmapped", _unmapped_reason(node)))
            continue
        target = target or node.id
        if target == EXIT:
            moves[node.id] = NodeMove(
                node.id, EXIT, WaitRule(fate="fired", why="The contacts leave the workflow."), mapped=True
            )
            continue
        landing = new.node_by_id.get(target)
        problem = _target_problem(node, target, landing)
        if problem:
            problems.append(MappingProblem(node.id, "bad_target", problem))
            continue
        moves[node.id] = NodeMove(node.id, target, wait_rule(node, landing), mapped=node.id in mapping)
    return moves, problems


def _unmapped_reason(node: Node) -> str:
    return (
        f"Node {node.id!r} ({node.type}) is not in the new version: map it to a node of the new version or to "
        f"'{EXIT}'."
    )


def _target_problem(node: Node, target: str, landing: Node | None) -> str | None:
    if landing is None:
        return f"Node {node.id!r} is mapped to {target!r}, which the new version does not have."
    node_type = registry.get(landing.type)
    if node_type is not None and node_type.kind == "trigger" and node.type != landing.type:
        return f"Node {node.id!r} is mapped to the trigger {target!r}: contacts can only move to steps."
    return None


# The config fields that time each wait type; any other change (a label, a filter) leaves a parked timer alone.
_TIMING_FIELDS = {
    "delay": ("duration", "window"),
    "wait_for_event": ("event", "timeout"),
    "wait_until": ("datetime", "weekdays", "time", "timezone", "field"),
}


def wait_rule(old: Node, new: Node) -> WaitRule:
    """Return what happens to the wait of a contact parked at ``old`` when it moves to ``new``."""
    if old.type != new.type:
        return WaitRule(fate="fired", why=f"{new.id!r} is a {new.type}, not a {old.type}: the wait ends now.")
    fields = _TIMING_FIELDS.get(old.type)
    if fields is None:
        return WaitRule(why="A retry of the step goes on as planned.")
    before, after = _pick(old.config, fields), _pick(new.config, fields)
    if before == after:
        return WaitRule(why="Same timing.")
    changed = ", ".join(name for name in fields if before.get(name) != after.get(name))
    if old.type == "delay" and before.get("window") == after.get("window"):
        seconds = _seconds(after.get("duration"))
        if seconds is not None:
            return WaitRule(
                fate="recomputed",
                until_after=seconds,
                why=f"duration {before.get('duration')} → {after.get('duration')}: due time recomputed "
                "from the entry time.",
            )
    if old.type == "wait_for_event":
        seconds = _seconds(after.get("timeout"))
        if seconds is not None:
            return WaitRule(
                fate="recomputed",
                timeout_after=seconds,
                event=after.get("event"),
                why=f"{changed} changed: timeout recomputed from the entry time.",
            )
    # A changed wait_until target (or a delay's window) is computed by the node itself: it runs again now.
    return WaitRule(fate="fired", why=f"{changed} changed: the node computes its moment again now.")


def _pick(config: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: config.get(name) for name in fields if config.get(name) is not None}


def _seconds(duration: Any) -> float | None:
    try:
        return parse_duration(duration).total_seconds() if isinstance(duration, str) else None
    except DurationError:
        return None
