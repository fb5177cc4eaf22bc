"""The workflow graph (nodes and edges) and the workflow settings, with their builder and database shapes.

Two shapes exist outside the engine:

- the builder's JSON (React Flow): ``{"nodes": [{id, type, position: {x, y}, data: {label, config}}],
  "edges": [{id, source, target, sourceHandle}]}``;
- the database rows: a Step row has ``node_id, type, label, config, position_x, position_y`` and a Connection row
  has ``edge_id, source_node_id, target_node_id, branch``.

Both convert to and from the same frozen ``Graph`` without loss (keys of ``data`` other than ``label`` and
``config`` survive the builder round trip; rows have no column for them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workflows.engine.errors import EngineInputError, pydantic_details
from workflows.engine.types import Duration, EventType, Rule, TimeZoneName, expression_positions

__all__ = [
    "DEFAULT_BRANCH",
    "Edge",
    "ExitCondition",
    "FrozenMap",
    "Graph",
    "GraphFormatError",
    "Node",
    "Position",
    "Reenrollment",
    "SettingsFormatError",
    "WorkflowSettings",
    "freeze",
    "thaw",
]

DEFAULT_BRANCH = "default"


class GraphFormatError(EngineInputError):
    """Raised for builder JSON or rows that do not have the shape of a graph; ``details`` maps paths to messages."""


class SettingsFormatError(EngineInputError):
    """Raised for settings JSON that does not have the shape of workflow settings."""


class FrozenMap(Mapping[str, Any]):
    """An immutable, hashable mapping: node configs are shared by every enrollment that runs the graph."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, Any] = ()) -> None:  # type: ignore[assignment]
        self._data = dict(data)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(sorted(self._data.items(), key=lambda item: item[0])))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._data == other._data
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def freeze(value: Any) -> Any:
    """Return a deeply immutable copy of a JSON value (objects become ``FrozenMap``, lists become tuples)."""
    if isinstance(value, Mapping):
        return FrozenMap({str(key): freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """Return a plain JSON copy (dicts and lists) of a value made by ``freeze``."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


class Position(NamedTuple):
    x: float
    y: float


@dataclass(frozen=True)
class Node:
    """One step of a workflow: a trigger, a decision, a wait or an action."""

    id: str
    type: str
    label: str = ""
    config: FrozenMap = field(default_factory=FrozenMap)
    position: Position = field(default_factory=lambda: Position(0, 0))
    # Keys of the builder's ``data`` other than label and config, kept so that the builder loses nothing.
    extra: FrozenMap = field(default_factory=FrozenMap, compare=False)

    def config_dict(self) -> dict[str, Any]:
        """Return a mutable JSON copy of the config."""
        return thaw(self.config)


@dataclass(frozen=True)
class Edge:
    """A connection from one branch of a node to another node."""

    id: str
    source: str
    target: str
    branch: str = DEFAULT_BRANCH


# --- builder JSON shape (parsed strictly so that a number is never taken for an id) -------------------------


class _BuilderPosition(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False)
    x: int | float = 0
    y: int | float = 0


class _BuilderData(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    label: str | None = ""
    config: dict[str, Any] | None = None


class _BuilderNode(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100)
    position: _BuilderPosition = _BuilderPosition()
    data: _BuilderData = _BuilderData()


class _BuilderEdge(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    sourceHandle: str | None = None


class _BuilderGraph(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    nodes: list[_BuilderNode] = []
    edges: list[_BuilderEdge] = []


class _StepRow(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False)
    node_id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    label: str | None = ""
    config: dict[str, Any] | None = None
    position_x: int | float | None = 0
    position_y: int | float | None = 0
    extra: dict[str, Any] | None = None


class _ConnectionRow(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    edge_id: str = Field(min_length=1)
    source_node_id: str = Field(min_length=1)
    target_node_id: str = Field(min_length=1)
    branch: str | None = DEFAULT_BRANCH


_STEP_KEYS = ("node_id", "type", "label", "config", "position_x", "position_y", "extra")
_CONNECTION_KEYS = ("edge_id", "source_node_id", "target_node_id", "branch")


def _row_dict(row: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(row, Mapping):
        return row
    return {key: getattr(row, key) for key in keys if hasattr(row, key)}


@dataclass(frozen=True)
class Graph:
    """A workflow graph: frozen, so one instance can be shared by every step that runs it."""

    nodes: tuple[Node, ...] = ()
    edges: tuple[Edge, ...] = ()
    # Per-graph caches (prepared configs, compiled rules); never part of equality.
    _cache: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    @classmethod
    def from_builder(cls, obj: Any) -> Graph:
        """Build a graph from the builder's JSON; raise ``GraphFormatError`` with field paths when malformed."""
        if obj is None:
            obj = {}
        try:
            parsed = _BuilderGraph.model_validate(obj)
        except ValidationError as error:
            raise GraphFormatError("The graph is malformed.", details=pydantic_details(error)) from None
        nodes = tuple(
            Node(
                id=item.id,
                type=item.type,
                label=item.data.label or "",
                config=freeze(item.data.config or {}),
                position=Position(item.position.x, item.position.y),
                extra=freeze(item.data.model_extra or {}),
            )
            for item in parsed.nodes
        )
        edges = tuple(
            Edge(
                id=item.id, source=item.source, target=item.target, branch=item.sourceHandle or DEFAULT_BRANCH
            )
            for item in parsed.edges
        )
        return cls(nodes=nodes, edges=edges)

    def to_builder(self) -> dict[str, Any]:
        """Return the builder's JSON of this graph."""
        return {
            "nodes": [
                {
                    "id": node.id,
                    "type": node.type,
                    "position": {"x": node.position.x, "y": node.position.y},
                    "data": {**thaw(node.extra), "label": node.label, "config": thaw(node.config)},
                }
                for node in self.nodes
            ],
            "edges": [
                {"id": edge.id, "source": edge.source, "target": edge.target, "sourceHandle": edge.branch}
                for edge in self.edges
            ],
        }

    @classmethod
    def from_rows(cls, steps: Iterable[Any], connections: Iterable[Any]) -> Graph:
        """Build a graph from Step and Connection rows (model instances or dicts with the same keys)."""
        details: dict[str, str] = {}
        nodes: list[Node] = []
        edges: list[Edge] = []
        for index, row in enumerate(steps):
            try:
                step = _StepRow.model_validate(_row_dict(row, _STEP_KEYS))
            except ValidationError as error:
                details.update(pydantic_details(error, prefix=f"steps[{index}]"))
                continue
            nodes.append(
                Node(
                    id=step.node_id,
                    type=step.type,
                    label=step.label or "",
                    config=freeze(step.config or {}),
                    position=Position(step.position_x or 0, step.position_y or 0),
                    extra=freeze(step.extra or {}),
                )
            )
        for index, row in enumerate(connections):
            try:
                connection = _ConnectionRow.model_validate(_row_dict(row, _CONNECTION_KEYS))
            except ValidationError as error:
                details.update(pydantic_details(error, prefix=f"connections[{index}]"))
                continue
            edges.append(
                Edge(
                    id=connection.edge_id,
                    source=connection.source_node_id,
                    target=connection.target_node_id,
                    branch=connection.branch or DEFAULT_BRANCH,
                )
            )
        if details:
            raise GraphFormatError("The stored graph is malformed.", details=details)
        return cls(nodes=tuple(nodes), edges=tuple(edges))

    def to_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Return ``(steps, connections)`` as dicts with exactly the Step and Connection column names."""
        steps = [
            {
                "node_id": node.id,
                "type": node.type,
                "label": node.label,
                "config": thaw(node.config),
                "position_x": node.position.x,
                "position_y": node.position.y,
                "extra": thaw(node.extra),
            }
            for node in self.nodes
        ]
        connections = [
            {
                "edge_id": edge.id,
                "source_node_id": edge.source,
                "target_node_id": edge.target,
                "branch": edge.branch,
            }
            for edge in self.edges
        ]
        return steps, connections

    @cached_property
    def node_by_id(self) -> dict[str, Node]:
        """Return the nodes by id (the first one wins when ids repeat; validation reports repeats)."""
        found: dict[str, Node] = {}
        for node in self.nodes:
            found.setdefault(node.id, node)
        return found

    @cached_property
    def next_node(self) -> dict[tuple[str, str], str]:
        """Return the target of each (source node, branch) (the first edge wins when a branch repeats)."""
        found: dict[tuple[str, str], str] = {}
        for edge in self.edges:
            found.setdefault((edge.source, edge.branch), edge.target)
        return found


# --- settings -------------------------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reenrollment(_Frozen):
    mode: Literal["never", "always", "after"] = "never"
    after: Duration | None = None

    @model_validator(mode="after")
    def _after_needs_gap(self) -> Reenrollment:
        if self.mode == "after" and not self.after:
            raise ValueError("mode 'after' needs 'after', the minimum gap since the last entry (e.g. 'P90D')")
        return self


class ExitCondition(_Frozen):
    """Leave the workflow at once when this event arrives (optionally matching ``filter``) or ``rule`` holds."""

    event: EventType | None = None
    filter: Rule | None = None
    rule: Rule | None = None
    goal: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _event_or_rule(self) -> ExitCondition:
        if (self.event is None) == (self.rule is None):
            raise ValueError("give exactly one of 'event' (an event type) or 'rule' (a JsonLogic rule)")
        if self.filter is not None and self.event is None:
            raise ValueError("'filter' applies to an 'event' exit condition only")
        return self


class WorkflowSettings(_Frozen):
    """The settings of a workflow version (CONTRACT §5), with the contract's defaults."""

    reenrollment: Reenrollment = Reenrollment()
    exit_conditions: tuple[ExitCondition, ...] = ()
    on_exit_enroll: str | None = Field(default=None, min_length=1)
    timezone: TimeZoneName = "UTC"
    max_steps_per_enrollment: int = Field(default=1000, ge=1, le=100_000)

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None) -> WorkflowSettings:
        """Return settings from their JSON; raise ``SettingsFormatError`` whose details map paths to messages."""
        try:
            return cls.model_validate(dict(data or {}))
        except ValidationError as error:
            details: dict[str, Any] = pydantic_details(error, prefix="settings")
            positions = expression_positions(error, prefix="settings")
            if positions:
                details["expressions"] = positions  # where each expression went wrong, as numbers (CONTRACT §7a)
            raise SettingsFormatError("The workflow settings are invalid.", details=details) from None

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as JSON."""
        return self.model_dump(mode="json")
