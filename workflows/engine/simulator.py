"""Simulation (CONTRACT §8): run a workflow for one imaginary contact over an event timeline, on a virtual clock.

The simulation calls the same ``run_enrollment`` as live execution, and asks the triggers the same way live
event processing does (``workflows.engine.entry``); only the ports (recording fakes), the contact's history and
the clock (virtual) differ. Events of the timeline, in time order: the first one that starts a trigger starts
the run; when triggers heard events but none started (a filter that does not hold, or cannot be evaluated),
the contact does not enter, as it would not live; when no trigger listens to any event given, the contact
enters by hand at ``start``. Later events resume ``wait_for_event`` nodes, meet exit conditions, and become
history that ``email_event``/``event_count`` conditions read. Timers fire in time order, and the run stops at
``start + until``.

``simulate`` is three steps: ``_enter`` (the entry), ``_run_enrollment`` (the resume loop), ``_result``.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
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

from workflows.engine.caps import FrequencyCap
from workflows.engine.durations import format_duration, parse_duration
from workflows.engine.entry import (
    NotEntered,
    SegmentCheckedActivity,
    TriggerScope,
    entry_trigger,
    trigger_entries,
)
from workflows.engine.errors import EngineInputError, pydantic_details
from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.quiet_hours import RecipientQuiet
from workflows.engine.runner import run_enrollment
from workflows.engine.state import EnrollmentState, Resume, StepRecord, new_enrollment
from workflows.engine.statuses import EnrollmentStatus
from workflows.engine.types import Duration, EventType

__all__ = ["MAX_EVENTS", "SimulatedContact", "SimulationInputError", "SimulationResult", "simulate"]

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


class SimulatedContact(BaseModel):
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
    contact: SimulatedContact
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
        """Return the JSON answer of ``POST /api/v1/workflows/{id}/simulate`` (with ``branches`` when a parallel
        ran: each branch's steps side by side, by branch key ``"<parallel id>.<branch id>"``)."""
        answer = {
            "status": self.status,
            "path": [{**entry, "at": entry["at"].isoformat()} for entry in self.path],
            "actions": [{**action, "at": action["at"].isoformat()} for action in self.actions],
            "entered_at": self.entered_at.isoformat() if self.entered_at else None,
            "trigger_node": self.trigger_node,
            "reason": self.reason,
            "contact": self.contact,
        }
        if branches := self.branches():
            answer["branches"] = branches
        return answer

    def branches(self) -> dict[str, list[dict[str, Any]]]:
        """Return the steps of each parallel branch that ran, in order, by branch key."""
        found: dict[str, list[dict[str, Any]]] = {}
        for entry in self.path:
            key = entry.get("branch_path")
            if key is not None:
                found.setdefault(key, []).append(
                    {"node_id": entry["node_id"], "type": entry["type"], "outcome": entry["outcome"],
                     "branch": entry["branch"], "at": entry["at"].isoformat()}
                )  # fmt: skip
        return found


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
    if "path" in record.detail:
        entry["branch_path"] = record.detail["path"]  # the parallel branch the step ran on
    return entry


def _not_entered_entry(refusal: NotEntered, at: datetime, event: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "node_id": refusal.node_id,
        "type": refusal.type,
        "at": at,
        "outcome": "not_entered",
        "branch": None,
        "detail": {"event": event["type"], "reason": f"Not entered, because {refusal.reason}."},
    }
    if refusal.error is not None:
        entry["error"] = {"type": "ConditionError", "message": refusal.error}
    return entry


def _parse_request(payload: dict[str, Any]) -> _Request:
    try:
        return _Request.model_validate(payload)
    except ValidationError as error:
        raise SimulationInputError(
            "The simulation request is invalid.", details=pydantic_details(error)
        ) from None


def _as_event(at: datetime, event: _Event) -> dict[str, Any]:
    return {"type": event.type, "properties": copy.deepcopy(event.properties), "occurred_at": at}


def _for_rules(stored: dict[str, Any]) -> dict[str, Any]:
    return {**stored, "occurred_at": stored["occurred_at"].isoformat()}


class _Run:
    """One simulation: the contact and its fake world, the timeline, the virtual clock, and the path so far."""

    def __init__(
        self,
        request: _Request,
        *,
        graph: Graph,
        settings: WorkflowSettings,
        segments_existing: Collection[str] | None,
        previews: Mapping[str, Callable[[FakeWorld, Any], Any]] | None = None,
    ) -> None:
        self.graph, self.settings, self.seed = graph, settings, request.seed
        self.begin = self.now = request.start
        self.end = self.begin + parse_duration(request.until)
        self.person = copy.deepcopy(request.contact.model_dump())
        segments = set(self.person.pop("segments", []))
        if not self.person.get("id"):
            # Derived from the seed so that another seed explores other split variants for the same contact.
            seeded = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.person.get('email')}|{request.seed}")
            self.person["id"] = f"sim-{seeded}"
        self.world = FakeWorld(contact=self.person, clock=lambda: self.now, segments=segments)
        self.ports = fake_ports(self.world)
        if previews:
            # As in node tests: a caller puts ports that show more (the email as it would be rendered) in front
            # of the recording fakes; what the run does stays the fakes' decision.
            self.ports = replace(
                self.ports, **{name: make(self.world, getattr(self.ports, name)) for name, make in previews.items()}
            )
        self.trigger_activity: Any = self.ports.activity
        if segments_existing is not None:
            known = {str(segment_id) for segment_id in segments_existing}
            self.trigger_activity = SegmentCheckedActivity(
                self.ports.activity, segment_exists=lambda _contact, segment: str(segment) in known
            )
        self.timeline = sorted(
            (
                (
                    event.at if event.at is not None else self.begin + parse_duration(event.after or "PT0S"),
                    i,
                    event,
                )
                for i, event in enumerate(request.events)
            ),
            key=lambda item: (item[0], item[1]),
        )
        self.position = 0  # the next timeline event not yet part of the contact's history
        self.path: list[dict[str, Any]] = []
        self.refusals: list[tuple[str, str]] = []  # (trigger node, why it did not start), in time order

    def trigger_scope(self, event: dict[str, Any]) -> TriggerScope:
        """Return what triggers read for ``event``: the simulated contact, its history so far, the virtual now."""
        return TriggerScope(
            event=event,
            contact=self.person,
            contact_id=str(self.person["id"]),
            activity=self.trigger_activity,
            now=self.now,
        )

    def add_to_history(self, at: datetime, event: _Event) -> dict[str, Any]:
        """Make ``event`` happen at ``at`` (the clock moves there); return it as rules see it."""
        self.now = at
        return _for_rules(self.world.add_event(_as_event(at, event)))

    def _vars_changed(self, variables: dict[str, Any]) -> None:
        """Templates rendered later in the run see the variables steps wrote, as live ones do."""
        enrollment = self.world.template_context.setdefault("enrollment", {})
        enrollment["vars"] = variables

    def advance(self, state: EnrollmentState, resume: Resume | None) -> EnrollmentState:
        """Run the enrollment as far as it goes now, adding its steps to the path."""
        result = run_enrollment(
            graph=self.graph,
            settings=self.settings,
            state=state,
            contact=self.person,
            ports=self.ports,
            clock=lambda: self.now,
            resume=resume,
            vars_changed=self._vars_changed,
        )
        self.path.extend(_path_entry(record) for record in result.records)
        return result.state


@dataclass(frozen=True)
class _Entry:
    """How the contact entered: when, at which trigger, and on which event (``None`` for a manual entry)."""

    at: datetime
    trigger_node: str | None
    trigger_event: dict[str, Any] | None = None


def _enter(run: _Run) -> _Entry | None:
    """Walk the timeline to the first event that starts a trigger, as the live runtime would meet them: each
    event is history before the triggers judge it. Return ``None`` when triggers heard events but none started
    (``run.refusals`` says why); enter by hand at start when no trigger listens to any event given."""
    for index, (at, _, event) in enumerate(run.timeline):
        if at > run.end:
            break
        seen = run.add_to_history(at, event)
        entries = trigger_entries(run.graph, run.trigger_scope(seen))
        # A filter that could not be evaluated is on the path; one that simply said no is not a step of the run.
        run.path += [
            _not_entered_entry(refusal, at, seen) for refusal in entries.not_entered if refusal.error
        ]
        run.refusals += [(refusal.node_id, refusal.reason) for refusal in entries.not_entered]
        if entries.entered:
            run.position = index + 1
            return _Entry(at, entries.entered[0], seen)
    if run.refusals:
        return None
    return _manual_entry(run)


def _manual_entry(run: _Run) -> _Entry:
    """Enter at the graph's manual entry at start; of the events walked, only those before start are history."""
    run.world.events.clear()
    run.position = 0
    while run.position < len(run.timeline) and run.timeline[run.position][0] < run.begin:
        at, _, event = run.timeline[run.position]
        run.add_to_history(at, event)
        run.position += 1
    return _Entry(run.begin, entry_trigger(run.graph))


def _next_resume(run: _Run, state: EnrollmentState) -> Resume | None:
    """Return what wakes the waiting enrollment next (the next event or its timer), moving the clock there;
    ``None`` when nothing does before the simulation ends."""
    due = state.next_run_at
    upcoming = run.timeline[run.position] if run.position < len(run.timeline) else None
    # On a tie the event goes first: an awaited event that arrives at the deadline still counts.
    if upcoming is not None and (due is None or upcoming[0] <= due):
        if upcoming[0] > run.end:
            return None
        run.position += 1
        seen = run.add_to_history(upcoming[0], upcoming[2])
        return Resume.event_arrived(event=seen, at=run.now)
    if due is not None and due <= run.end:
        run.now = due
        return Resume.timer(at=due)
    return None


def _run_enrollment(run: _Run, entry: _Entry) -> EnrollmentState:
    """Run the enrollment from its trigger, then on each event and timer in time order, until it stops waiting
    or the simulation ends."""
    run.now = entry.at
    state = new_enrollment(
        enrollment_id=SIMULATION_ID,
        contact_id=str(run.person["id"]),
        trigger_node=entry.trigger_node or "",
        entered_at=entry.at,
        trigger_event=entry.trigger_event,
        seed=run.seed,
    )
    run.world.template_context = {
        "event": entry.trigger_event or {},
        "enrollment": {"id": SIMULATION_ID, "entered_at": entry.at.isoformat(), "vars": {}},
    }
    state = run.advance(state, None)
    for _ in range(MAX_RESUMES):
        resume = _next_resume(run, state) if state.status == EnrollmentStatus.WAITING else None
        if resume is None:
            break
        state = run.advance(state, resume)
    return state


def _result(run: _Run, entry: _Entry, state: EnrollmentState) -> SimulationResult:
    actions = [{key: value for key, value in action.items() if key != "key"} for action in run.world.actions]
    return SimulationResult(
        status=state.status,
        path=run.path,
        actions=actions,
        entered_at=entry.at,
        trigger_node=entry.trigger_node,
        reason=state.error or state.exit_reason,
        contact=run.person,
        state=state,
    )


def _not_entered_result(run: _Run) -> SimulationResult:
    """The contact did not enter: triggers heard its events and none started (live runs would not enroll it)."""
    reasons = dict.fromkeys(
        f"trigger {node_id} did not start because {reason}" for node_id, reason in run.refusals
    )
    return SimulationResult(
        EnrollmentStatus.EXITED.value, run.path, [], reason=f"Not entered: {'; '.join(reasons)}.", contact=run.person
    )


def simulate(
    *,
    graph: Graph,
    settings: WorkflowSettings,
    contact: Mapping[str, Any],
    start: datetime | str,
    events: Iterable[Mapping[str, Any]] = (),
    until: str | timedelta = "P60D",
    seed: int = 0,
    segments_existing: Collection[str] | None = None,
    previews: Mapping[str, Callable[[FakeWorld, Any], Any]] | None = None,
    frequency_caps: Iterable[FrequencyCap] = (),
    quiet: RecipientQuiet | None = None,
) -> SimulationResult:
    """Run ``graph`` for one simulated contact from ``start`` for ``until`` over an event timeline.

    ``events`` items are ``{after?: duration | at?: timestamp, type, properties?}`` (neither: at ``start``).
    ``segments_existing``, when given, are the segment ids that exist: a trigger filter asking about another
    one cannot be evaluated, as in live runs. ``previews`` replace fake ports by name (``email``...) with ones
    that wrap them and show more, as ``node_test`` takes them. ``frequency_caps`` are the workspace's: they count
    the messages this run sends (the contact's sends elsewhere are not known here). ``quiet``: the workspace's
    quiet hours as they apply to the contact (SMS and push steps wait for their end, or skip). Raise ``SimulationInputError`` (details map paths such as
    ``events[1].at`` to messages) for bad input.
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
    run = _Run(request, graph=graph, settings=settings, segments_existing=segments_existing, previews=previews)
    run.world.frequency_caps = tuple(frequency_caps)
    run.world.quiet = quiet
    entry = _enter(run)
    if entry is None:
        return _not_entered_result(run)
    if entry.trigger_node is None:
        return SimulationResult(EnrollmentStatus.FAILED.value, [], [], reason="The workflow has no trigger to enter at.")
    return _result(run, entry, _run_enrollment(run, entry))
