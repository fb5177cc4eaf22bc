"""The enrollment status table: one declaration, and moves it does not allow raise instead of happening."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.runner import run_enrollment
from workflows.engine.state import EnrollmentState, new_enrollment
from workflows.engine.statuses import (
    FINAL_STATUSES,
    LIVE_STATUSES,
    STOPPED_STATUSES,
    TRANSITIONS,
    EnrollmentStatus,
    StatusTransitionError,
    parse_status,
    transition,
)

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
S = EnrollmentStatus


def test_the_table_covers_every_status_and_derives_the_sets() -> None:
    assert set(TRANSITIONS) == set(S)
    # The model's choices list them in this order (and the analytics too): a new status goes at the end.
    assert [s.value for s in S] == ["active", "waiting", "completed", "exited", "failed", "cancelled"]
    assert LIVE_STATUSES == (S.ACTIVE, S.WAITING)
    assert {S.COMPLETED, S.EXITED, S.CANCELLED} == FINAL_STATUSES
    assert {S.COMPLETED, S.EXITED, S.FAILED, S.CANCELLED} == STOPPED_STATUSES


def test_statuses_are_their_values() -> None:
    assert S.WAITING == "waiting" and f"{S.WAITING}" == "waiting" and {"waiting": 1}[S.WAITING] == 1
    assert S.CANCELLED.label == "Cancelled"


@pytest.mark.parametrize(("current", "to"), [(current, to) for current in S for to in sorted(TRANSITIONS[current])])
def test_an_allowed_move_returns_the_new_status(current: EnrollmentStatus, to: EnrollmentStatus) -> None:
    assert transition(current, to) is to
    assert transition(current.value, to.value) is to  # stored values work as well as members


@pytest.mark.parametrize(
    ("current", "to"), [(current, to) for current in S for to in S if to not in TRANSITIONS[current]]
)
def test_a_move_the_table_does_not_allow_raises(current: EnrollmentStatus, to: EnrollmentStatus) -> None:
    with pytest.raises(StatusTransitionError) as raised:
        transition(current, to)
    assert f"cannot go from '{current}' to '{to}'" in str(raised.value)
    assert (raised.value.current, raised.value.to) == (current, to)


def test_unknown_statuses_raise_too() -> None:
    with pytest.raises(StatusTransitionError, match=r"from 'paused' to 'active'.*nowhere"):
        transition("paused", "active")
    with pytest.raises(StatusTransitionError):
        transition("active", "paused")
    with pytest.raises(ValueError, match="'paused' is not an enrollment status"):
        parse_status("paused")


def _state(status: str = "active") -> EnrollmentState:
    state = new_enrollment(enrollment_id="e1", contact_id="c1", trigger_node="t", entered_at=AT)
    return EnrollmentState.from_dict({**state.to_dict(), "status": status})


def test_a_state_moves_only_where_the_table_allows() -> None:
    state = _state()
    state.move_to(S.WAITING)
    assert state.status is S.WAITING
    finished = _state("completed")
    with pytest.raises(StatusTransitionError, match="cannot go from 'completed' to 'active'"):
        finished.move_to(S.ACTIVE)
    assert finished.status is S.COMPLETED  # unchanged


def test_a_stored_state_with_an_unknown_status_does_not_load() -> None:
    with pytest.raises(ValueError, match="not an enrollment status"):
        _state("paused")


@pytest.mark.parametrize("status", sorted(STOPPED_STATUSES))
def test_the_runner_leaves_stopped_enrollments_as_they_are(status: str) -> None:
    graph = Graph.from_builder(
        {"nodes": [{"id": "t", "type": "trigger_manual", "data": {"config": {}}}], "edges": []}
    )
    before = _state(status)
    ports = fake_ports(FakeWorld(contact={}, clock=lambda: AT))
    result = run_enrollment(
        graph=graph, settings=WorkflowSettings(), state=before, contact={}, ports=ports, clock=lambda: AT
    )
    assert (result.state.status, result.records) == (status, [])
