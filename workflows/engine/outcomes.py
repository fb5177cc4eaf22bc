"""What one step of an enrollment returns: the runner applies it to the enrollment state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from workflows.engine.graph import DEFAULT_BRANCH

__all__ = ["Advance", "Exit", "Fail", "Fork", "Outcome", "Retry", "Wait"]


@dataclass(frozen=True, slots=True)
class Advance:
    """Follow ``branch`` to the next node (no edge on that branch: the enrollment completes)."""

    branch: str = DEFAULT_BRANCH
    detail: dict[str, Any] = field(default_factory=dict)
    # Enrollment variables this step writes (``enrollment.vars.<name>``); the runner merges them, within a size
    # limit (``workflows.engine.variables``).
    vars: dict[str, Any] | None = None
    name = "advance"


@dataclass(frozen=True, slots=True)
class Wait:
    """Stay on this node until ``until``, or until ``event`` arrives (then ``timeout_at`` ends the wait)."""

    until: datetime | None = None
    event: str | None = None
    timeout_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    name = "wait"


@dataclass(frozen=True, slots=True)
class Retry:
    """Run this node again after ``after`` (a transient failure, e.g. a port that was unavailable)."""

    after: timedelta
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)
    name = "retry"


@dataclass(frozen=True, slots=True)
class Fail:
    """Stop the enrollment as failed with a reason a person can act on."""

    reason: str
    permanent: bool = True
    detail: dict[str, Any] = field(default_factory=dict)
    name = "fail"


@dataclass(frozen=True, slots=True)
class Exit:
    """Stop the enrollment as exited (``goal`` names a reached conversion goal)."""

    reason: str = "exit"
    goal: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    name = "exit"


@dataclass(frozen=True, slots=True)
class Fork:
    """Go down every one of ``branches`` at once (a ``parallel`` node): the runner starts one branch per edge and
    the enrollment waits for them at their merge (``workflows.engine.runner``)."""

    branches: tuple[str, ...]
    detail: dict[str, Any] = field(default_factory=dict)
    # A for_each's: one run of its ``item`` branch per item (``branches`` is then ``("item",)``).
    items: tuple[Any, ...] | None = None
    name = "advance"


Outcome = Advance | Wait | Retry | Fail | Exit | Fork
