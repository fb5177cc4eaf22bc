"""The statuses of an enrollment and the moves between them, declared once for every layer.

The runner decides an enrollment's status as it runs it (it waits, completes, exits or fails); people cancel
an enrollment or retry a failed one. Every move goes through ``transition``, which refuses any move that
``TRANSITIONS`` does not list. The Django model's choices and constraints, the runtime and the scheduler's SQL
are all built from the values here. (A workflow's own status, draft/active/paused/archived, is another thing.)
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "FINAL_STATUSES",
    "INITIAL_STATUS",
    "LIVE_STATUSES",
    "STOPPED_STATUSES",
    "TRANSITIONS",
    "EnrollmentStatus",
    "StatusTransitionError",
    "parse_status",
    "transition",
]


class EnrollmentStatus(StrEnum):
    """Where an enrollment stands. Members are ``str``: they compare, hash and serialise as their values."""

    ACTIVE = "active"  # runs its current node as soon as it is picked up
    WAITING = "waiting"  # parked on a timer, an awaited event or a retry
    COMPLETED = "completed"  # reached a node with no next node for the branch taken
    EXITED = "exited"  # an Exit node or an exit condition ended it
    FAILED = "failed"  # a step failed for good; a person may retry it
    CANCELLED = "cancelled"  # a person stopped it

    @property
    def label(self) -> str:
        """Return the name people read (the model's choice label)."""
        return self.value.capitalize()


_S = EnrollmentStatus

TRANSITIONS: Mapping[EnrollmentStatus, frozenset[EnrollmentStatus]] = MappingProxyType(
    {
        _S.ACTIVE: frozenset({_S.WAITING, _S.COMPLETED, _S.EXITED, _S.FAILED, _S.CANCELLED}),
        _S.WAITING: frozenset({_S.ACTIVE, _S.COMPLETED, _S.EXITED, _S.FAILED, _S.CANCELLED}),
        _S.FAILED: frozenset({_S.ACTIVE, _S.CANCELLED}),  # one-click retry, or give up on it
        _S.COMPLETED: frozenset(),
        _S.EXITED: frozenset(),
        _S.CANCELLED: frozenset(),
    }
)
"""The moves an enrollment may make: from a status to the statuses it may take next."""

INITIAL_STATUS = _S.ACTIVE
# Ordered, so that SQL and database constraints built from it keep one spelling ('active', 'waiting').
LIVE_STATUSES: tuple[EnrollmentStatus, ...] = (_S.ACTIVE, _S.WAITING)
FINAL_STATUSES = frozenset(status for status, following in TRANSITIONS.items() if not following)
# What the runner does not run: every status but the live ones (a failed enrollment runs again only once a
# retry has made it active).
STOPPED_STATUSES = frozenset(_S) - frozenset(LIVE_STATUSES)

_MEMBERS: dict[str, EnrollmentStatus] = {status.value: status for status in _S}
assert set(TRANSITIONS) == set(_S), "every status has its row in TRANSITIONS"
assert not FINAL_STATUSES & set(LIVE_STATUSES), "a live status can always move on"


class StatusTransitionError(ValueError):
    """An enrollment was asked to move where ``TRANSITIONS`` does not allow: a bug of the caller, not of data.

    Engine code never catches it: a move the table refuses must stop the run, not happen quietly.
    """

    def __init__(self, current: str, to: str) -> None:
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "nowhere"  # type: ignore[call-overload]
        super().__init__(
            f"An enrollment cannot go from {str(current)!r} to {str(to)!r}; from {str(current)!r} it may go "
            f"to: {allowed}."
        )
        self.current = current
        self.to = to


def transition(current: str, to: str) -> EnrollmentStatus:
    """Return ``to`` as a status if an enrollment in ``current`` may move there; raise otherwise.

    The one way to change an enrollment's status: ``state.status = transition(state.status, to)``.
    """
    allowed = TRANSITIONS.get(current)  # type: ignore[call-overload]  # a str finds its member (same hash)
    if allowed is None or to not in allowed:
        raise StatusTransitionError(current, to)
    return _MEMBERS[to]


def parse_status(value: str) -> EnrollmentStatus:
    """Return the status named ``value`` (as stored); raise ``ValueError`` for a name that is none."""
    try:
        return _MEMBERS[value]
    except (KeyError, TypeError):
        raise ValueError(f"{value!r} is not an enrollment status.") from None
