"""The JSON-serialisable state of one enrollment, and what a run of the runner reports.

The live runtime stores ``EnrollmentState.to_dict()`` between runs (and mirrors ``status``, ``current_node`` and
``next_run_at`` into columns for its queries); the simulator keeps it in memory. Both hand it back to
``run_enrollment`` with a ``Resume`` when a timer fires or an event arrives. The statuses and the moves
between them are those of ``workflows.engine.statuses``; ``EnrollmentState.move_to`` changes a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from workflows.engine.statuses import (
    INITIAL_STATUS,
    LIVE_STATUSES,
    STOPPED_STATUSES,
    EnrollmentStatus,
    parse_status,
    transition,
)

__all__ = [
    "LIVE_STATUSES",
    "TERMINAL_STATUSES",
    "BranchVisits",
    "EnrollmentState",
    "Resume",
    "RunResult",
    "StepRecord",
    "WaitState",
    "new_enrollment",
]

TERMINAL_STATUSES = STOPPED_STATUSES  # the runner leaves these as they are
STATE_FORMAT = 1


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(slots=True)
class WaitState:
    """Why the enrollment is parked on ``node_id``: a timer (``until``), an event (with a timeout), or a retry."""

    node_id: str
    since: datetime
    until: datetime | None = None
    event: str | None = None
    timeout_at: datetime | None = None
    retry: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def due_at(self) -> datetime | None:
        """Return when a timer should resume the enrollment (``None``: only an event can)."""
        return self.until if self.until is not None else self.timeout_at

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "node_id": self.node_id,
            "since": _iso(self.since),
            "until": _iso(self.until),
            "event": self.event,
            "timeout_at": _iso(self.timeout_at),
            "retry": self.retry,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WaitState:
        """Return the wait stored by ``to_dict``."""
        return cls(
            node_id=data["node_id"],
            since=_moment(data["since"]),  # type: ignore[arg-type]
            until=_moment(data.get("until")),
            event=data.get("event"),
            timeout_at=_moment(data.get("timeout_at")),
            retry=bool(data.get("retry", False)),
            detail=dict(data.get("detail") or {}),
        )


class BranchVisits(dict):
    """A branch's visits of its nodes, numbered from the enrollment's count (``shared``), which every entry bumps:
    two branches running the same node (a for_each's items) get visits, so effect keys, of their own, and a
    branch parked at a node keeps its number however many others pass it meanwhile."""

    __slots__ = ("shared",)

    def __init__(self, own: dict[str, int], shared: dict[str, int]) -> None:
        super().__init__(own)
        self.shared = shared

    def __setitem__(self, node_id: str, _value: int) -> None:
        number = self.shared.get(node_id, 0) + 1
        self.shared[node_id] = number
        super().__setitem__(node_id, number)


@dataclass(slots=True)
class EnrollmentState:
    """Where one contact is in one workflow version; everything needed to resume it later."""

    enrollment_id: str
    contact_id: str
    trigger_node: str
    entered_at: datetime
    status: EnrollmentStatus = INITIAL_STATUS
    current_node: str | None = None
    step_count: int = 0
    visits: dict[str, int] = field(default_factory=dict)
    attempt: int = 0
    wait: WaitState | None = None
    trigger_event: dict[str, Any] | None = None
    seed: int = 0
    error: str | None = None
    exit_reason: str | None = None
    goal: str | None = None
    finished_at: datetime | None = None
    # Variables written by steps (http_request, lookup), read as ``enrollment.vars.<name>`` by rules and templates.
    # Never mutated in place: the runner replaces the dict (``workflows.engine.variables``).
    vars: dict[str, Any] = field(default_factory=dict)
    # The branches of a ``parallel`` node running now, by key ``"<parallel id>.<branch id>"``: each is a state of
    # its own (its node, wait, attempt) sharing this one's id, visits and variables (``workflows.engine.runner``).
    branches: dict[str, EnrollmentState] = field(default_factory=dict)
    # On a branch: the merge node it arrived at (a branch that arrived is ``completed``).
    arrived: str | None = None

    @property
    def next_run_at(self) -> datetime | None:
        """Return when the scheduler should resume this enrollment (``None``: not on a timer): the earliest of its
        own wait and its branches' waits."""
        if self.wait is None or self.status != EnrollmentStatus.WAITING:
            return None
        if not self.branches:
            return self.wait.due_at
        due = [self.wait.due_at, *(branch.next_run_at for branch in self.branches.values())]
        return min((moment for moment in due if moment is not None), default=None)

    @property
    def awaited_event(self) -> str | None:
        """Return the event type this enrollment waits for, if any (the runtime indexes waiters by it); with
        branches waiting for different events, their types separated by spaces (``awaited_events``)."""
        if self.wait is None or self.status != EnrollmentStatus.WAITING:
            return None
        if not self.branches:
            return self.wait.event
        return " ".join(sorted(self.awaited_events)) or None

    @property
    def awaited_events(self) -> set[str]:
        """Return every event type this enrollment or one of its branches waits for."""
        if self.wait is None or self.status != EnrollmentStatus.WAITING:
            return set()
        events = {self.wait.event} if self.wait.event else set()
        for branch in self.branches.values():
            events |= branch.awaited_events
        return events

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    def move_to(self, status: EnrollmentStatus) -> None:
        """Change the status, if ``TRANSITIONS`` allows the move (``StatusTransitionError`` if not)."""
        self.status = transition(self.status, status)

    def copy(self) -> EnrollmentState:
        """Return a copy the runner may change without touching this one."""
        copied = EnrollmentState(
            enrollment_id=self.enrollment_id,
            contact_id=self.contact_id,
            trigger_node=self.trigger_node,
            entered_at=self.entered_at,
            status=self.status,
            current_node=self.current_node,
            step_count=self.step_count,
            visits=dict(self.visits),
            attempt=self.attempt,
            wait=self.wait,  # never mutated in place: the runner replaces it
            trigger_event=self.trigger_event,
            seed=self.seed,
            error=self.error,
            exit_reason=self.exit_reason,
            goal=self.goal,
            finished_at=self.finished_at,
            vars=self.vars,
            arrived=self.arrived,
        )
        for key, branch in self.branches.items():
            copied.branches[key] = branch.copy()
            copied.branches[key].visits = BranchVisits(branch.visits, copied.visits)
        return copied

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form stored by the live runtime (branches only when there are some)."""
        data = {
            "format": STATE_FORMAT,
            "enrollment_id": self.enrollment_id,
            "contact_id": self.contact_id,
            "trigger_node": self.trigger_node,
            "entered_at": _iso(self.entered_at),
            "status": self.status,
            "current_node": self.current_node,
            "step_count": self.step_count,
            "visits": dict(self.visits),
            "attempt": self.attempt,
            "wait": self.wait.to_dict() if self.wait is not None else None,
            "trigger_event": self.trigger_event,
            "seed": self.seed,
            "error": self.error,
            "exit_reason": self.exit_reason,
            "goal": self.goal,
            "finished_at": _iso(self.finished_at),
            "vars": self.vars,
        }
        if self.branches:
            data["branches"] = {key: branch.to_dict() for key, branch in self.branches.items()}
        if self.arrived is not None:
            data["arrived"] = self.arrived
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnrollmentState:
        """Return the state stored by ``to_dict``."""
        wait = data.get("wait")
        state = cls(
            enrollment_id=data["enrollment_id"],
            contact_id=data["contact_id"],
            trigger_node=data["trigger_node"],
            entered_at=_moment(data["entered_at"]),  # type: ignore[arg-type]
            status=parse_status(data.get("status", INITIAL_STATUS)),
            current_node=data.get("current_node"),
            step_count=int(data.get("step_count", 0)),
            visits={str(key): int(value) for key, value in (data.get("visits") or {}).items()},
            attempt=int(data.get("attempt", 0)),
            wait=WaitState.from_dict(wait) if wait else None,
            trigger_event=data.get("trigger_event"),
            seed=int(data.get("seed", 0)),
            error=data.get("error"),
            exit_reason=data.get("exit_reason"),
            goal=data.get("goal"),
            finished_at=_moment(data.get("finished_at")),
            vars=dict(data.get("vars") or {}),
            arrived=data.get("arrived"),
        )
        for key, branch in (data.get("branches") or {}).items():
            state.branches[key] = cls.from_dict(branch)
            state.branches[key].visits = BranchVisits(state.branches[key].visits, state.visits)
        return state


def new_enrollment(
    *,
    enrollment_id: str,
    contact_id: str,
    trigger_node: str,
    entered_at: datetime,
    trigger_event: dict[str, Any] | None = None,
    seed: int = 0,
) -> EnrollmentState:
    """Return the state of an enrollment that enters at ``trigger_node``; run it with ``run_enrollment``."""
    return EnrollmentState(
        enrollment_id=enrollment_id,
        contact_id=contact_id,
        trigger_node=trigger_node,
        entered_at=entered_at,
        current_node=trigger_node,
        visits={trigger_node: 1},
        trigger_event=trigger_event,
        seed=seed,
    )


@dataclass(frozen=True, slots=True)
class Resume:
    """Why a waiting enrollment runs again: its timer fired at ``at``, or ``event`` arrived at ``at``."""

    kind: Literal["timer", "event"]
    at: datetime
    event: dict[str, Any] | None = None

    @classmethod
    def timer(cls, *, at: datetime) -> Resume:
        """Return the resume of a timer that fired at ``at``."""
        return cls(kind="timer", at=at)

    @classmethod
    def event_arrived(cls, *, event: dict[str, Any], at: datetime) -> Resume:
        """Return the resume for ``event`` (``{type, properties, occurred_at}``) processed at ``at``."""
        return cls(kind="event", at=at, event=event)


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One execution of one node (the live runtime writes it as a StepRun row)."""

    node_id: str
    type: str
    at: datetime
    outcome: str
    branch: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    visit: int = 1
    attempt: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the simulation path and the history API."""
        return {
            "node_id": self.node_id,
            "type": self.type,
            "at": self.at.isoformat(),
            "outcome": self.outcome,
            "branch": self.branch,
            "detail": self.detail,
            "error": self.error,
            "visit": self.visit,
            "attempt": self.attempt,
        }


@dataclass(frozen=True, slots=True)
class RunResult:
    """The state after a run and the steps it executed, in order."""

    state: EnrollmentState
    records: list[StepRecord]

    @property
    def status(self) -> str:
        return self.state.status
