"""The graph builder of every test: graphs as the builder (React Flow) sends them, in plain Python.

Written out: ``{"nodes": [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], "edges": chain("t", "a")}``,
with ``edge(source, target, branch)`` for branches. Chained: ``GraphBuilder().trigger("contact.created").send_email("t")
.build()``, where each added node is connected from the cursor (the last node's main branch, or a branch chosen with
``on``). No Django here: the engine suite runs without it; runtime tests publish these graphs with
``tests.workflows.builders.publish``.
"""

from __future__ import annotations

from datetime import datetime
from itertools import count, pairwise
from typing import Any

from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.simulator import SimulationResult

_rows = count(1)


def node(
    id: str, type: str, config: dict[str, Any] | None = None, label: str = "", *, y: int | None = None
) -> dict[str, Any]:
    """A node of the builder's JSON; placed on a row of its own unless `y` is given."""
    return {"id": id, "type": type, "position": {"x": 0, "y": 100 * next(_rows) if y is None else y},
            "data": {"label": label, "config": config or {}}}


def edge(source: str, target: str, branch: str = "default", *, id: str | None = None) -> dict[str, Any]:
    """An edge of the builder's JSON from `branch` of `source` (its id says so unless `id` is given)."""
    return {"id": id or f"{source}-{branch}-{target}", "source": source, "target": target, "sourceHandle": branch}


def chain(*ids: str) -> list[dict[str, Any]]:
    """Edges joining the nodes in order, each from its main branch."""
    return [edge(a, b) for a, b in pairwise(ids)]


class GraphBuilder:
    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.cursor: tuple[str, str] | None = None
        self._count = 0

    # --- plumbing -------------------------------------------------------------------------------------------
    def node(
        self,
        type_: str,
        config: dict[str, Any] | None = None,
        *,
        id: str | None = None,
        next_branch: str = "default",
        label: str = "",
    ) -> GraphBuilder:
        self._count += 1
        node_id = id or f"{type_}_{self._count}"
        self.nodes.append(node(node_id, type_, config, label, y=self._count * 100))
        if self.cursor is not None and not type_.startswith("trigger_"):
            self.connect(self.cursor[0], node_id, self.cursor[1])
        self.cursor = (node_id, next_branch)
        return self

    def connect(self, source: str, target: str, branch: str = "default") -> GraphBuilder:
        self.edges.append(edge(source, target, branch, id=f"e{len(self.edges) + 1}"))
        return self

    def on(self, node_id: str, branch: str) -> GraphBuilder:
        """Continue building from ``branch`` of ``node_id``."""
        self.cursor = (node_id, branch)
        return self

    def goto(self, node_id: str) -> GraphBuilder:
        """Connect the cursor to an existing node and stop there."""
        assert self.cursor is not None
        self.connect(self.cursor[0], node_id, self.cursor[1])
        self.cursor = None
        return self

    def end(self) -> GraphBuilder:
        self.cursor = None
        return self

    def builder_json(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "edges": self.edges}

    def build(self) -> Graph:
        return Graph.from_builder(self.builder_json())

    # --- node shorthands ------------------------------------------------------------------------------------
    def trigger(self, event: str, filter: Any = None, *, id: str = "trigger") -> GraphBuilder:
        config: dict[str, Any] = {"event": event}
        if filter is not None:
            config["filter"] = filter
        return self.node("trigger_event", config, id=id)

    def trigger_of(
        self, type_: str, config: dict[str, Any] | None = None, *, id: str = "trigger"
    ) -> GraphBuilder:
        return self.node(type_, config, id=id)

    def send_email(self, template_id: str, *, id: str | None = None, **config: Any) -> GraphBuilder:
        return self.node("send_email", {"template_id": template_id, **config}, id=id)

    def delay(
        self, duration: str, *, window: dict[str, Any] | None = None, id: str | None = None
    ) -> GraphBuilder:
        config: dict[str, Any] = {"duration": duration}
        if window is not None:
            config["window"] = window
        return self.node("delay", config, id=id)

    def condition(self, rule: Any, *, id: str | None = None) -> GraphBuilder:
        """Add a condition; building continues on its 'yes' branch."""
        return self.node("condition", {"rule": rule}, id=id, next_branch="yes")

    def wait_for_event(
        self, event: str, timeout: str, *, filter: Any = None, id: str | None = None
    ) -> GraphBuilder:
        """Add a wait for an event; building continues on its 'event' branch."""
        config: dict[str, Any] = {"event": event, "timeout": timeout}
        if filter is not None:
            config["filter"] = filter
        return self.node("wait_for_event", config, id=id, next_branch="event")

    def add_tag(self, tag: str, *, id: str | None = None) -> GraphBuilder:
        return self.node("add_tag", {"tag": tag}, id=id)

    def notify(self, subject: str, *, to: Any = "workspace_admins", id: str | None = None) -> GraphBuilder:
        return self.node("notify", {"to": to, "subject": subject, "message": ""}, id=id)

    def create_task(self, title: str, *, id: str | None = None) -> GraphBuilder:
        return self.node("create_task", {"title": title}, id=id)

    def enroll_in_workflow(self, workflow_id: str, *, id: str | None = None) -> GraphBuilder:
        return self.node("enroll_in_workflow", {"workflow_id": workflow_id}, id=id)

    def exit(self, reason: str | None = None, *, id: str | None = None) -> GraphBuilder:
        self.node("exit", {"reason": reason} if reason else {}, id=id)
        self.cursor = None
        return self


def steps(result: SimulationResult) -> list[tuple[str, str, str | None]]:
    """Return the path as ``(node_id, outcome, branch)``."""
    return [(entry["node_id"], entry["outcome"], entry["branch"]) for entry in result.path]


def timed_steps(result: SimulationResult) -> list[tuple[str, str, str | None, str]]:
    """Return the path as ``(node_id, outcome, branch, ISO time)``."""
    return [(e["node_id"], e["outcome"], e["branch"], e["at"].isoformat()) for e in result.path]


def actions(result: SimulationResult) -> list[tuple[str, str, str]]:
    """Return the actions as ``(node_id, type, ISO time)``."""
    return [(a["node_id"], a["type"], a["at"].isoformat()) for a in result.actions]


def settings(**data: Any) -> WorkflowSettings:
    return WorkflowSettings.parse(data)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Harness:
    """Run one enrollment of a graph step by step with the recording fakes and a hand-moved clock."""

    def __init__(
        self,
        graph: Graph,
        *,
        settings: WorkflowSettings | None = None,
        contact: dict[str, Any] | None = None,
        at: datetime,
        trigger: str = "trigger",
        trigger_event: dict[str, Any] | None = None,
        ports: Any = None,
    ) -> None:
        from workflows.engine.fakes import FakeWorld, fake_ports
        from workflows.engine.state import new_enrollment

        self.graph = graph
        self.settings = settings or WorkflowSettings()
        self.contact = (
            contact
            if contact is not None
            else {
                "id": "c1",
                "email": "ada@example.com",
                "status": "subscribed",
                "score": 0,
                "tags": [],
                "fields": {},
            }
        )
        self.now = at
        self.world = FakeWorld(contact=self.contact, clock=lambda: self.now)
        self.ports = ports or fake_ports(self.world)
        self.state = new_enrollment(
            enrollment_id="enr-1",
            contact_id=str(self.contact.get("id", "c1")),
            trigger_node=trigger,
            entered_at=at,
            trigger_event=trigger_event,
        )
        self.records: list[Any] = []

    def run(
        self, resume: Any = None, *, at: datetime | None = None, max_steps: int | None = None
    ) -> list[Any]:
        from workflows.engine.runner import run_enrollment

        if at is not None:
            self.now = at
        result = run_enrollment(
            graph=self.graph,
            settings=self.settings,
            state=self.state,
            contact=self.contact,
            ports=self.ports,
            clock=lambda: self.now,
            resume=resume,
            max_steps=max_steps,
        )
        self.state = result.state
        self.records.extend(result.records)
        return result.records

    def timer(self, at: datetime) -> list[Any]:
        from workflows.engine.state import Resume

        return self.run(Resume.timer(at=at), at=at)

    def event(self, type_: str, at: datetime, **properties: Any) -> list[Any]:
        from workflows.engine.state import Resume

        self.world.add_event({"type": type_, "properties": properties, "occurred_at": at})
        event = {"type": type_, "properties": properties, "occurred_at": at.isoformat()}
        return self.run(Resume.event_arrived(event=event, at=at), at=at)


def brief(records: list[Any]) -> list[tuple[str, str, str | None]]:
    """Return step records as ``(node_id, outcome, branch)``."""
    return [(record.node_id, record.outcome, record.branch) for record in records]
