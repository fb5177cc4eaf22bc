"""Simulation (CONTRACT §8): run a workflow for one imaginary contact over an event timeline, on a virtual clock.

The simulation calls the same ``run_enrollment`` as live execution; only the ports (recording fakes) and the
clock (virtual) differ. Events of the timeline, in time order: the first one that matches a trigger starts the
run (else the contact enters by hand at ``start``); later ones resume ``wait_for_event`` nodes, meet exit
conditions, and become history that ``email_event``/``event_count`` conditions read. Timers fire in time
order, and the run stops at ``start + until``.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from workflows.engine.durations import format_duration, parse_duration
from workflows.engine.errors import EngineInputError, pydantic_details
from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.runner import entry_trigger, matching_triggers, run_enrollment
from workflows.engine.state import EnrollmentState, Resume, StepRecord, new_enrollment
from workflows.engine.types import Duration, EventType

__all__ = ["MAX_EVENTS", "SimulationInputError", "SimulationResult", "simulate"]

MAX_EVENTS = 1000
MAX_UNTIL = timedelta(days=3660)
MAX_RESUMES = 100_000
SIMULATION_ID = "simulation"


class SimulationInputError(EngineInputError):
    """Raised for a simulation request that is malformed; ``details`` maps field paths to messages."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: Duration | None = None
    at: AwareDatetime | None = None
    type: EventType
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("after")
    @classmethod
    def _not_negative(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) < timedelta(0):
            raise ValueError("must not be negative")
        return value

    @model_validator(mode="after")
    def _one_moment(self) -> _Event:
        if self.after is not None and self.at is not None:
            raise ValueError("give 'after' (a duration from start) or 'at' (a timestamp), not both")
        return self


class _Contact(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | None = None
    email: str | None = None
    timezone: str | None = None
    status: Literal["subscribed", "unsubscribed", "bounced", "complained"] = "subscribed"
    score: int | float = 0
    tags: list[str] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=dict)
    segments: list[str] = Field(
        default_factory=list, description="Segment ids the contact is in (simulation only)"
    )


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact: _Contact
    start: AwareDatetime
    events: list[_Event] = Field(default_factory=list, max_length=MAX_EVENTS)
    until: Duration = "P60D"
    seed: int = 0

    @field_validator("until")
    @classmethod
    def _bounded(cls, value: str) -> str:
        length = parse_duration(value)
        if not timedelta(0) < length <= MAX_UNTIL:
            raise ValueError("must be longer than zero and at most P3660D")
        return value


@dataclass
class SimulationResult:
    """What happened: the final status, every step executed, and every action the fakes recorded."""

    status: str
    path: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    entered_at: datetime | None = None
    trigger_node: str | None = None
    reason: str | None = None
    contact: dict[str, Any] = field(default_factory=dict)  # the simulated contact as the run left it
    state: EnrollmentState | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON answer of ``POST /api/v1/workflows/{id}/simulate``."""
        return {
            "status": self.status,
            "path": [{**entry, "at": entry["at"].isoformat()} for entry in self.path],
            "actions": [{**action, "at": action["at"].isoformat()} for action in self.actions],
            "entered_at": self.entered_at.isoformat() if self.entered_at else None,
            "trigger_node": self.trigger_node,
            "reason": self.reason,
            "contact": self.contact,
        }


def _path_entry(record: StepRecord) -> dict[str, Any]:
    entry = {
        "node_id": record.node_id,
        "type": record.type,
        "at": record.at,
        "outcome": record.outcome,
        "branch": record.branch,
        "detail": record.detail,
    }
    if record.error is not None:
        entry["error"] = {key: value for key, value in record.error.items() if key != "traceback"}
    return entry


def _parse_request(payload: dict[str, Any]) -> _Request:
    try:
        return _Request.model_validate(payload)
    except ValidationError as error:
        raise SimulationInputError(
            "The simulation request is invalid.", details=pydantic_details(error)
        ) from None


def simulate(
    *,
    graph: Graph,
    settings: WorkflowSettings,
    contact: Mapping[str, Any],
    start: datetime | str,
    events: Iterable[Mapping[str, Any]] = (),
    until: str | timedelta = "P60D",
    seed: int = 0,
) -> SimulationResult:
    """Run ``graph`` for one simulated contact from ``start`` for ``until`` over an event timeline.

    ``events`` items are ``{after?: duration | at?: timestamp, type, properties?}`` (neither: at ``start``).
    Raise ``SimulationInputError`` (details map paths such as ``events[1].at`` to messages) for bad input.
    """
    request = _parse_request(
        {
            "contact": dict(contact) if isinstance(contact, Mapping) else contact,
            "start": start,
            "events": [dict(event) if isinstance(event, Mapping) else event for event in events],
            "until": format_duration(until) if isinstance(until, timedelta) else until,
            "seed": seed,
        }
    )
    begin = request.start
    end = begin + parse_duration(request.until)
    person = copy.deepcopy(request.contact.model_dump())
    segments = set(person.pop("segments", []))
    if not person.get("id"):
        # Derived from the seed so that another seed explores other split variants for the same contact.
        person["id"] = (
            f"sim-{uuid.uuid5(uuid.NAMESPACE_URL, '{}|{}'.format(person.get('email'), request.seed))}"
        )

    timeline = sorted(
        (
            (
                event.at if event.at is not None else begin + parse_duration(event.after or "PT0S"),
                index,
                event,
            )
            for index, event in enumerate(request.events)
        ),
        key=lambda item: (item[0], item[1]),
    )
    moment = [begin]
    world = FakeWorld(contact=person, clock=lambda: moment[0], segments=segments)
    ports = fake_ports(world)

    def as_event(at: datetime, event: _Event) -> dict[str, Any]:
        return {"type": event.type, "properties": copy.deepcopy(event.properties), "occurred_at": at}

    def for_rules(stored: dict[str, Any]) -> dict[str, Any]:
        return {**stored, "occurred_at": stored["occurred_at"].isoformat()}

    # Entry: the first event (in time order) that matches a trigger, else a manual entry at start.
    entered_at, trigger_node, trigger_event, position = begin, None, None, 0
    for index, (at, _, event) in enumerate(timeline):
        if at > end:
            break
        found = matching_triggers(graph, event=for_rules(as_event(at, event)), contact=person)
        if found:
            entered_at, trigger_node, position = at, found[0], index
            break
    if trigger_node is None:
        trigger_node = entry_trigger(graph)
        # Events before start are history the contact already has.
        while position < len(timeline) and timeline[position][0] < begin:
            at, _, event = timeline[position]
            world.add_event(as_event(at, event))
            position += 1
    else:
        for at, _, event in timeline[:position]:
            world.add_event(as_event(at, event))
        at, _, event = timeline[position]
        trigger_event = for_rules(world.add_event(as_event(at, event)))
        position += 1
    if trigger_node is None:
        return SimulationResult("failed", [], [], reason="The workflow has no trigger to enter at.")

    moment[0] = entered_at
    state = new_enrollment(
        enrollment_id=SIMULATION_ID,
        contact_id=str(person["id"]),
        trigger_node=trigger_node,
        entered_at=entered_at,
        trigger_event=trigger_event,
        seed=request.seed,
    )
    path: list[dict[str, Any]] = []

    def run(resume: Resume | None) -> None:
        nonlocal state
        result = run_enrollment(
            graph=graph,
            settings=settings,
            state=state,
            contact=person,
            ports=ports,
            clock=lambda: moment[0],
            resume=resume,
        )
        state = result.state
        path.extend(_path_entry(record) for record in result.records)

    run(None)
    for _ in range(MAX_RESUMES):
        if state.status != "waiting":
            break
        due = state.next_run_at
        upcoming = timeline[position] if position < len(timeline) else None
        # On a tie the event goes first: an awaited event that arrives at the deadline still counts.
        if upcoming is not None and (due is None or upcoming[0] <= due):
            if upcoming[0] > end:
                break
            moment[0] = upcoming[0]
            stored = world.add_event(as_event(upcoming[0], upcoming[2]))
            position += 1
            run(Resume.event_arrived(event=for_rules(stored), at=moment[0]))
        elif due is not None and due <= end:
            moment[0] = due
            run(Resume.timer(at=due))
        else:
            break

    reason = state.error or state.exit_reason
    actions = [{key: value for key, value in action.items() if key != "key"} for action in world.actions]
    return SimulationResult(
        status=state.status,
        path=path,
        actions=actions,
        entered_at=entered_at,
        trigger_node=trigger_node,
        reason=reason,
        contact=person,
        state=state,
    )
