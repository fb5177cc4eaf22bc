"""Send-time optimization: send each message at the hour of the week the contact tends to engage (CONTRACT §16).

The model, per contact and channel, is a Dirichlet posterior over the 168 hours of the week (local time, Monday
00:00 is hour 0): the prior is the workspace's distribution of engagements (opens, clicks, push clicks, SMS
replies; machine opens excluded) worth ``PRIOR_STRENGTH`` engagements, and the contact's own engagements are added
to it. A contact with no history therefore follows the workspace ("workspace fallback"), and one with many
engagements follows their own. The hours are those of the engagement, not of the send, so a message sent at 10:00
and opened at 19:00 is evidence for 19:00: a histogram of send hours would only repeat past sending habits.

Each message draws once from the posterior (Thompson sampling): the slot whose drawn weight is highest among the
slots of the next ``send_within`` wins. Hours the contact rarely engages in keep a small chance, so the model keeps
learning. Only the candidate slots are drawn (a Gamma draw per slot): the argmax of a Dirichlet draw restricted to a
subset is the argmax of its Gamma components, so a choice costs a few dozen draws, not 168.

A slot is a candidate only if the message may go out then: inside the step's delivery window, outside the
recipient's quiet hours and within the frequency caps (``SendTimeRules``). The send step waits until the chosen
slot, then sends through its usual path, which checks the window's, quiet hours' and caps' rules again: the
choice can only ever pick a time those rules allow, never move a message outside them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field

from workflows.engine.durations import parse_duration
from workflows.engine.outcomes import Wait
from workflows.engine.types import WEEKDAYS, Duration

if TYPE_CHECKING:
    from workflows.engine.registry import StepContext

__all__ = [
    "HOURS_OF_WEEK",
    "NO_COUNTS",
    "PRIOR_STRENGTH",
    "EngagementHours",
    "HourCounts",
    "SendTime",
    "SendTimeChoice",
    "SendTimeRules",
    "SendWithin",
    "choose_send_time",
    "hour_of_week",
    "send_time_wait",
]

HOURS_OF_WEEK = 168
# How many engagements the workspace's distribution weighs in a contact's posterior: with fewer of their own,
# the workspace's habits dominate; with many more, the contact's.
PRIOR_STRENGTH = 8.0
# Below this many engagements, the step log calls the choice the workspace's fallback.
OWN_DATA_FROM = 3
MAX_SEND_WITHIN = timedelta(days=7)
_HOUR = timedelta(hours=1)


def _bounded_within(value: str) -> str:
    length = parse_duration(value)
    if not timedelta(hours=1) <= length <= MAX_SEND_WITHIN:
        raise ValueError("must be between PT1H and P7D")
    return value


# The two fields a send step gains (CONTRACT §16); each send type declares them next to its window.
SendTime = Annotated[
    Literal["immediate", "optimal"],
    Field(
        description="optimal: wait for the hour the contact usually engages in (within send_within), inside the "
        "window, quiet hours and frequency caps.",
    ),
]
SendWithin = Annotated[
    Duration,
    AfterValidator(_bounded_within),
    Field(description="With an optimal send time, the longest the message may wait (PT1H to P7D)."),
]


def hour_of_week(moment: datetime, tz: tzinfo) -> int:
    """Return the local hour of the week of ``moment`` in ``tz`` (Monday 00:00-00:59 is 0, Sunday 23:00 is 167)."""
    local = moment.astimezone(tz)
    return local.weekday() * 24 + local.hour


def _hour_name(hour: int) -> str:
    return f"{WEEKDAYS[hour // 24].capitalize()} {hour % 24:02d}:00"


@dataclass(frozen=True, slots=True)
class HourCounts:
    """Engagements by local hour of week: the contact's (sparse) and the workspace's (168 counts, and their sum)."""

    contact: Mapping[int, int]
    workspace: Sequence[int]
    workspace_total: int


NO_COUNTS = HourCounts(contact={}, workspace=(0,) * HOURS_OF_WEEK, workspace_total=0)


@dataclass(frozen=True, slots=True)
class EngagementHours:
    """What the model knows: the contact's engagements by hour of week, the workspace's, and the contact's zone."""

    contact: Mapping[int, int]
    workspace: Sequence[int]
    tz: tzinfo
    workspace_total: int = -1  # the sum of ``workspace``, when the caller knows it already

    @classmethod
    def of(cls, counts: HourCounts, tz: tzinfo) -> EngagementHours:
        return cls(counts.contact, counts.workspace, tz, counts.workspace_total)

    @property
    def contact_total(self) -> int:
        return sum(self.contact.values())


@dataclass(frozen=True, slots=True)
class SendTimeRules:
    """When a message may go out; each callable answers for a moment (aware) and returns the first allowed moment
    at or after it (the same moment when allowed), or None when it will never be allowed from there."""

    window: Callable[[datetime], datetime | None] | None = None
    quiet: Callable[[datetime], datetime | None] | None = None
    caps: Callable[[datetime], datetime | None] | None = None

    def allowed_in_slot(self, start: datetime, end: datetime) -> datetime | None:
        """Return the first moment in [start, end) every rule allows, or None when there is none."""
        moment = start
        for _ in range(4):  # each rule may push the moment; a few rounds settle it (or leave the slot)
            moved = moment
            for rule in (self.window, self.quiet, self.caps):
                if rule is None:
                    continue
                allowed = rule(moved)
                if allowed is None or allowed >= end:
                    return None
                moved = allowed
            if moved == moment:
                return moment
            moment = moved
        return None


@dataclass(frozen=True)
class SendTimeChoice:
    """The chosen moment, the hour of week it falls in and why it was chosen."""

    at: datetime
    hour: int
    reason: str
    fallback: bool
    contact_engagements: int
    hour_engagements: int
    workspace_share: float
    candidates: int
    extra: dict[str, Any] = field(default_factory=dict)

    def as_detail(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "hour_of_week": self.hour,
            "local": _hour_name(self.hour),
            "reason": self.reason,
            "fallback": self.fallback,
            "contact_engagements": self.contact_engagements,
            "hour_engagements": self.hour_engagements,
            "workspace_share": self.workspace_share,
            "candidates": self.candidates,
            **self.extra,
        }


def _slots(now: datetime, within: timedelta, tz: tzinfo) -> list[tuple[int, datetime, datetime]]:
    """Return ``(hour of week, start, end)`` of the hour slots from ``now`` to ``now + within``: the rest of the
    current hour, then each local hour."""
    local = now.astimezone(tz)
    into_hour = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    start_of_hour = now - into_hour
    first = local.weekday() * 24 + local.hour
    # Without a change of UTC offset in the range (most of the time), hours follow each other: no zone lookups.
    steady = (now + within).astimezone(tz).utcoffset() == local.utcoffset()
    slots = [(first, now, start_of_hour + _HOUR)]
    last = now + within
    for index in range(1, int(within / _HOUR) + 1):
        start = start_of_hour + index * _HOUR
        if start > last:
            break
        hour = (first + index) % HOURS_OF_WEEK if steady else hour_of_week(start, tz)
        slots.append((hour, start, start + _HOUR))
    return slots


def choose_send_time(
    *,
    now: datetime,
    within: timedelta,
    hours: EngagementHours,
    rng: random.Random,
    rules: SendTimeRules | None = None,
) -> SendTimeChoice | None:
    """Return the slot of the next ``within`` to send in (Thompson sampling over the contact's posterior), or
    None when no slot is allowed by the rules (the step then sends as it would without optimization)."""
    rules = rules or SendTimeRules()
    workspace_total = hours.workspace_total if hours.workspace_total >= 0 else sum(hours.workspace)
    # The workspace's distribution, smoothed so that an hour nobody engaged in yet keeps a small weight.
    smoothing = PRIOR_STRENGTH / (workspace_total + HOURS_OF_WEEK)
    gamma = rng.gammavariate
    workspace, contact = hours.workspace, hours.contact
    scored = [
        (gamma((workspace[hour] + 1) * smoothing + contact.get(hour, 0), 1.0), hour, start, end)
        for hour, start, end in _slots(now, within, hours.tz)
    ]
    scored.sort(key=lambda item: item[0], reverse=True)
    for _draw, hour, start, end in scored:
        at = rules.allowed_in_slot(start, end)
        if at is not None:
            return _choice(at, hour, hours, workspace_total, len(scored))
    return None


def _choice(at: datetime, hour: int, hours: EngagementHours, workspace_total: int, candidates: int) -> SendTimeChoice:
    own = hours.contact_total
    in_hour = hours.contact.get(hour, 0)
    share = round(hours.workspace[hour] / workspace_total, 4) if workspace_total else 0.0
    name = _hour_name(hour)
    workspace_part = (
        f"{share:.1%} of the workspace's engagements fall in it" if workspace_total else "the workspace has no data"
    )
    if own < OWN_DATA_FROM:
        reason = (
            f"{name}: workspace fallback (the contact has {own} engagement{'s' if own != 1 else ''}); "
            f"{workspace_part}"
        )
    else:
        reason = f"{name}: {in_hour} of the contact's {own} opens and clicks fall in this hour; {workspace_part}"
    return SendTimeChoice(
        at=at,
        hour=hour,
        reason=reason,
        fallback=own < OWN_DATA_FROM,
        contact_engagements=own,
        hour_engagements=in_hour,
        workspace_share=share,
        candidates=candidates,
    )


def send_time_wait(ctx: StepContext, config: Any, *, channel: str) -> Wait | None:
    """Return the wait until the moment to send for a step whose config asks for an optimal send time, or None
    (send now: the step is immediate, is resuming from a wait it made, or no slot is allowed).

    The step's seed and effect key seed the draw: the same step of the same enrollment chooses the same slot."""
    if getattr(config, "send_time", "immediate") != "optimal" or ctx.wait is not None:
        return None
    port = ctx.ports.optimization
    counts = port.engagement_hours(contact_id=ctx.contact_id, channel=channel)
    hours = EngagementHours.of(counts, ctx.zone("contact"))
    choice = choose_send_time(
        now=ctx.now,
        within=parse_duration(config.send_within),
        hours=hours,
        rng=random.Random(f"{ctx.seed}:{ctx.effect_key}"),
        rules=_rules(ctx, config, channel),
    )
    if choice is None:
        return None
    detail = choice.as_detail()
    return Wait(until=choice.at, detail={"send_time": detail, "until": detail["at"], "reason": choice.reason})


def _rules(ctx: StepContext, config: Any, channel: str) -> SendTimeRules:
    """Return the step's window, the recipient's quiet hours and the workspace's caps as rules over moments."""
    from workflows.engine.windows import (
        window_opening,  # windows imports the registry, which nodes load first
    )

    window = getattr(config, "window", None)
    port, caps = ctx.ports.optimization, ctx.ports.caps

    def quiet(moment: datetime) -> datetime | None:
        return port.quiet_until(contact_id=ctx.contact_id, channel=channel, moment=moment) or moment

    def capped(moment: datetime) -> datetime | None:
        verdict = caps.check(key=ctx.effect_key, contact_id=ctx.contact_id, channel=channel, now=moment)
        if verdict.allowed:
            return moment
        return verdict.next_at if verdict.policy == "defer" else None

    return SendTimeRules(
        window=(lambda moment: window_opening(ctx, window, moment)) if window is not None else None,
        quiet=quiet,
        caps=None if getattr(config, "transactional", False) else capped,
    )
