"""Frequency caps: at most ``max`` messages per ``per`` to one contact, on some channels (CONTRACT §13).

A workspace declares its rules in its settings (``frequency_caps``). Every send step (a node type whose
``channel`` is set) is checked: the runner puts ``guard_sends`` in front of the sending ports (the ``Ports``
fields named like a channel: ``email``, ``sms``, ``push``), so a send that would break a rule raises
``CapReached`` instead of sending, and a send that goes out (one that got a message id) is written in the
contact's send ledger through the ``CapsPort``. A step whose config says ``transactional: true`` is neither
checked nor counted (a receipt or a password reset is not marketing).

What a step does when a rule stops it is the rule's ``policy``:

- ``defer``: the step waits until the rule allows a message again (``Wait`` with ``capped: true`` and the reason
  in its detail); it then runs afresh, so it checks again (another workflow may have taken the slot).
- ``skip``: the step goes on along its default branch without sending (``Advance`` with ``skipped:
  "frequency_cap"`` and the reason), as a suppressed email does.

When several rules stop a send, ``skip`` wins (waiting would not make the message allowed by that rule), else
the step waits for the latest of the times the rules give.

Which part decides what is pure (``cap_verdict``); the live port reads the ledger under the contact's row lock
(so two workflows sending to one contact at once cannot both pass a cap of one), the simulator's fake keeps the
ledger in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workflows.engine.durations import parse_duration
from workflows.engine.outcomes import Advance, Outcome, Wait
from workflows.engine.types import Duration

if TYPE_CHECKING:
    from workflows.engine.ports import Ports

__all__ = [
    "ALLOWED",
    "ANY_CHANNEL",
    "CHANNELS",
    "MAX_CAP_PERIOD",
    "SENT_STATUSES",
    "CapReached",
    "CapVerdict",
    "FrequencyCap",
    "Send",
    "cap_outcome",
    "cap_verdict",
    "guard_sends",
    "longest_period",
    "went_out",
]

# The channels a message can go out on; each is also the name of its port in ``Ports``.
CHANNELS: tuple[str, ...] = ("email", "sms", "push")
# The ``NodeType.channel`` of a type that picks its channel per contact (``send_message``).
ANY_CHANNEL = "any"
# The statuses of a send result (a port's, or a send step's detail) whose message goes out. Email stores a row
# for a suppressed send too (status "not_subscribed", "suppressed", then "skipped"): a message id alone says
# nothing.
SENT_STATUSES = frozenset({"queued", "sending", "sent", "delivered"})


def went_out(result: Any) -> bool:
    """Return whether a send result (with ``message_id`` and ``status``, as an object or a dict) is a message
    that goes out."""
    if isinstance(result, dict):
        message_id, status = result.get("message_id"), result.get("status", "queued")
    else:
        message_id, status = getattr(result, "message_id", None), getattr(result, "status", "queued")
    return bool(message_id) and status in SENT_STATUSES
# The longest period a rule may count over (the workspace settings' bound): the send ledger keeps this much
# history, no more.
MAX_CAP_PERIOD = timedelta(days=366)


class FrequencyCap(BaseModel):
    """One rule of a workspace's ``frequency_caps``: at most ``max`` messages per ``per`` on ``channels``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: tuple[Literal["email", "sms", "push"], ...] = Field(
        min_length=1, description="The channels the rule counts together (one: a rule per channel)."
    )
    max: int = Field(ge=1, le=10_000, description="How many messages the contact may get within `per`.")
    per: Duration = Field(description="The period counted back from now (ISO 8601, at most P366D).")
    policy: Literal["defer", "skip"] = Field(
        default="defer",
        description="defer: the step waits until a message is allowed; skip: it goes on unsent.",
    )

    @field_validator("channels")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("each channel may be named once")
        return value

    @field_validator("per")
    @classmethod
    def _bounded(cls, value: str) -> str:
        period = parse_duration(value)
        if not timedelta(minutes=1) <= period <= MAX_CAP_PERIOD:
            raise ValueError("must be between PT1M and P366D")
        return value

    @property
    def period(self) -> timedelta:
        return parse_duration(self.per)

    def describe(self) -> str:
        return f"at most {self.max} per {self.per} on {', '.join(self.channels)}"


def longest_period(rules: Iterable[FrequencyCap]) -> timedelta:
    """Return how far back the rules look (zero when there are none): the ledger rows a check needs."""
    return max((rule.period for rule in rules), default=timedelta(0))


@dataclass(frozen=True, slots=True)
class Send:
    """One message that went out to the contact: a row of its send ledger."""

    channel: str
    at: datetime
    key: str = ""  # the step's effect key: a step run again does not count its own send against itself


@dataclass(frozen=True, slots=True)
class CapVerdict:
    """Whether a message may go out now; when not, which rule stops it, what to do and until when."""

    allowed: bool
    channel: str = ""
    policy: Literal["defer", "skip"] | None = None
    rules: tuple[str, ...] = ()
    next_at: datetime | None = None

    @property
    def reason(self) -> str:
        rules = "; ".join(self.rules)
        if self.policy == "skip":
            return f"Frequency cap reached ({rules}): the {self.channel} message was skipped."
        return f"Frequency cap reached ({rules}): the {self.channel} message waits until {self.next_at.isoformat()}."

    def as_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "capped": True,
            "channel": self.channel,
            "policy": self.policy,
            "rules": list(self.rules),
            "reason": self.reason,
        }
        if self.next_at is not None:
            detail["until"] = self.next_at.isoformat()
        return detail


ALLOWED = CapVerdict(allowed=True)


def cap_verdict(
    rules: Sequence[FrequencyCap], sends: Iterable[Send], *, channel: str, now: datetime, key: str = ""
) -> CapVerdict:
    """Return whether one more message on ``channel`` at ``now`` keeps every rule, given the contact's ``sends``.

    A rule counts the sends on its channels after ``now - per``. When it already counts ``max``, the
    next message is allowed once the oldest of the sends that fill it leaves the period. The send of ``key``
    (the same step, run again) does not count.
    """
    relevant = [rule for rule in rules if channel in rule.channels]
    if not relevant:
        return ALLOWED
    sends = [send for send in sends if not key or send.key != key]
    broken: list[tuple[FrequencyCap, datetime]] = []
    for rule in relevant:
        since = now - rule.period
        # No upper bound: a send stamped a moment after ``now`` (another batch whose clock was read later, which
        # committed while this one waited for the contact's lock) counts too.
        counted = sorted(send.at for send in sends if send.channel in rule.channels and send.at > since)
        if len(counted) >= rule.max:
            # Allowed again when all but max - 1 of the counted sends have left the period.
            broken.append((rule, counted[len(counted) - rule.max] + rule.period))
    if not broken:
        return ALLOWED
    skip = [rule for rule, _ in broken if rule.policy == "skip"]
    chosen = skip or [rule for rule, _ in broken]
    return CapVerdict(
        allowed=False,
        channel=channel,
        policy="skip" if skip else "defer",
        rules=tuple(rule.describe() for rule in chosen),
        next_at=None if skip else max(at for _, at in broken),
    )


class CapReached(Exception):
    """Raised by a guarded sending port instead of sending: ``verdict`` says which rule stopped the message."""

    def __init__(self, verdict: CapVerdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


def cap_outcome(verdict: CapVerdict) -> Outcome:
    """Return what a send step does when a cap stopped it: wait until allowed (defer), or go on unsent (skip)."""
    if verdict.policy == "skip":
        return Advance(detail={**verdict.as_detail(), "skipped": "frequency_cap"})
    return Wait(until=verdict.next_at, detail=verdict.as_detail())


@dataclass(slots=True)
class _CappedChannel:
    """A sending port that checks the caps before it sends and writes the send in the ledger after."""

    port: Any
    channel: str
    caps: Any
    now: datetime

    def send(self, **arguments: Any) -> Any:
        key, contact_id = arguments["key"], arguments["contact_id"]
        verdict = self.caps.check(key=key, contact_id=contact_id, channel=self.channel, now=self.now)
        if not verdict.allowed:
            raise CapReached(verdict)
        result = self.port.send(**arguments)
        # Only a message that goes out counts: a suppressed send reached nobody.
        if went_out(result):
            self.caps.record(key=key, contact_id=contact_id, channel=self.channel, at=self.now)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.port, name)


def guard_sends(ports: Ports, *, now: datetime) -> Ports:
    """Return ``ports`` with every sending port (each channel's) checking the caps first, through ``ports.caps``."""
    guarded = {
        channel: _CappedChannel(getattr(ports, channel), channel, ports.caps, now)
        for channel in CHANNELS
        if hasattr(ports, channel)
    }
    return replace(ports, **guarded)
