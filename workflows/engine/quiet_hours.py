"""Quiet hours: when a message may not reach a person, in their own time zone (CONTRACT §13, `quiet_hours`).

A workspace sets `{start, end}`: quiet from `start` until `end` local time, spanning midnight when `end` is
earlier (the default, 21:00 to 08:00, allows 08:00-21:00). Per-region rules (`regions: {"US": {...}}`, keyed by
the phone number's ISO country) can only add quiet time: a message goes out when neither the workspace's rule
nor its region's forbids it. A region may also close whole days (`closed_days: ["sun"]`).

Plain arithmetic on aware datetimes, correct across DST changes: used by the SMS port (defer, never drop), the
simulator and any send that respects quiet hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from workflows.engine.errors import pydantic_details
from workflows.engine.outcomes import Advance, Outcome, Wait
from workflows.engine.registry import NodeConfig
from workflows.engine.timing import local_moment
from workflows.engine.types import WEEKDAYS, ClockTime, Weekday, parse_clock_time

__all__ = [
    "DEFAULT_QUIET_HOURS",
    "QuietHours",
    "QuietHoursError",
    "QuietPolicy",
    "QuietRule",
    "RecipientQuiet",
    "quiet_hours_parse",
    "quiet_outcome",
    "quiet_until",
]

# What a send step does in the recipient's quiet hours: wait for their end, or go on without sending (recorded).
QuietPolicy = Literal["defer", "skip"]

# How far ahead an opening is looked for: a rule that never opens (every day closed) is refused when parsed.
_HORIZON_DAYS = 9


class QuietRule(NodeConfig):
    """Quiet from `start` to `end` (local wall-clock; `start` = `end`, or neither given, means no quiet hours of
    its own: a region may close whole days only), and closed days."""

    start: ClockTime | None = None
    end: ClockTime | None = None
    closed_days: list[Weekday] = Field(default_factory=list, max_length=6)

    def quiet_at(self, local: datetime) -> bool:
        """Whether wall-clock `local` (aware, in the recipient's zone) falls in quiet time."""
        if WEEKDAYS[local.weekday()] in self.closed_days:
            return True
        if self.start is None or self.end is None:
            return False
        start, end, now = parse_clock_time(self.start), parse_clock_time(self.end), local.time()
        if start == end:
            return False
        if start < end:
            return start <= now < end
        return now >= start or now < end  # spans midnight

    def next_allowed(self, moment: datetime, tz: tzinfo) -> datetime:
        """The first instant at or after `moment` outside this rule's quiet time (UTC)."""
        if not self.quiet_at(moment.astimezone(tz)):
            return moment
        # Quiet time ends at the hours' end, or at midnight when a closed day is over (whichever comes first and
        # is not quiet by the other reason).
        ends = sorted({time(0, 0), *([parse_clock_time(self.end)] if self.end is not None else [])})
        day = moment.astimezone(tz).date()
        for offset in range(_HORIZON_DAYS):
            for end in ends:
                candidate = _opening(day + timedelta(days=offset), end, tz)
                if candidate > moment and not self.quiet_at(candidate.astimezone(tz)):
                    return candidate
        raise QuietHoursError("The quiet hours never end.", details={"quiet_hours": "Every day is closed."})


class QuietHours(NodeConfig):
    """A workspace's quiet hours: its own rule and stricter ones per region (ISO 3166 country codes)."""

    start: ClockTime = "21:00"
    end: ClockTime = "08:00"
    regions: dict[str, QuietRule] = Field(default_factory=dict, max_length=300)

    @model_validator(mode="after")
    def _valid_regions(self) -> QuietHours:
        for code, rule in self.regions.items():
            if len(code) != 2 or not code.isalpha() or not code.isupper():
                raise ValueError(f"regions: {code!r} is not an ISO country code such as 'US'")
            if len(set(rule.closed_days)) >= len(WEEKDAYS):
                raise ValueError(f"regions.{code}: every day closed would never send")
        return self

    def rules_for(self, region: str | None) -> list[QuietRule]:
        own = QuietRule(start=self.start, end=self.end)
        extra = self.regions.get((region or "").upper())
        return [own] if extra is None else [own, extra]


DEFAULT_QUIET_HOURS = QuietHours()


class QuietHoursError(ValueError):
    def __init__(self, message: str, *, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.message, self.details = message, details


def quiet_hours_parse(data: Mapping[str, Any] | None) -> QuietHours:
    """Return the quiet hours of a workspace setting (the default when unset); QuietHoursError when invalid."""
    if not data:
        return DEFAULT_QUIET_HOURS
    try:
        return QuietHours.model_validate(dict(data))
    except ValidationError as error:
        raise QuietHoursError(
            "The quiet hours are invalid.", details=pydantic_details(error, prefix="quiet_hours")
        ) from None


def quiet_until(
    moment: datetime, *, quiet_hours: QuietHours, tz: tzinfo, region: str | None = None
) -> datetime | None:
    """Return None when a message may go out at `moment`, else the UTC instant it may (every rule allows it)."""
    rules = quiet_hours.rules_for(region)
    candidate = moment
    for _ in range(len(rules) * _HORIZON_DAYS):
        moved = candidate
        for rule in rules:
            moved = rule.next_allowed(moved, tz)
        if moved == candidate:
            return None if candidate == moment else candidate
        candidate = moved
    raise QuietHoursError(
        "The quiet hours never end.", details={"quiet_hours": "No allowed time within a week."}
    )


@dataclass(frozen=True)
class RecipientQuiet:
    """The quiet hours as they apply to one recipient: the workspace's rules, the recipient's zone and region (the
    simulator's SMS and push ports defer by it, as the live ones do)."""

    quiet_hours: QuietHours
    tz: tzinfo
    region: str | None = None

    def until(self, moment: datetime) -> datetime | None:
        return quiet_until(moment, quiet_hours=self.quiet_hours, tz=self.tz, region=self.region)


def quiet_outcome(policy: QuietPolicy, detail: Mapping[str, Any]) -> Outcome:
    """Return what a send step does when the recipient's quiet hours stopped its message (`detail` has `until`,
    the end of their quiet time): wait until then (defer, the default: never dropped), or go on unsent with the
    reason recorded (skip: in send_message the next channel is tried)."""
    until = datetime.fromisoformat(str(detail["until"]))
    if policy == "skip":
        return Advance(detail={**detail, "message_id": None, "status": "skipped", "skipped": "quiet_hours",
                               "reason": "quiet_hours", "until": until.isoformat()})  # fmt: skip
    return Wait(until=until, detail={**detail, "quiet_hours": True, "until": until.isoformat()})


def _opening(day, at: time, tz: tzinfo) -> datetime:
    """The UTC instant quiet time ends on `day` (a wall-clock time skipped by DST moves forward)."""
    return local_moment(day, at, tz)
