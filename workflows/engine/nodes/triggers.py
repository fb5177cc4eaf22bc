"""Triggers: the nodes where enrollments start. Running one simply moves on to its next node."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from dateutil.rrule import rrulestr
from pydantic import AwareDatetime, Field, field_validator, model_validator

from workflows.engine.conditions import compile_rule
from workflows.engine.durations import parse_duration
from workflows.engine.outcomes import Advance, Outcome
from workflows.engine.registry import NodeConfig, NodeType, StepContext, node_type
from workflows.engine.timing import local_moment, zone_or
from workflows.engine.types import ClockTime, Duration, EventType, Rule, TimeZoneName, parse_clock_time, zone

__all__ = [
    "DateFieldTrigger",
    "EventTrigger",
    "InactivityTrigger",
    "ManualTrigger",
    "ScheduleTrigger",
    "ScoreTrigger",
    "SegmentTrigger",
    "WebhookTrigger",
]


class _Trigger(NodeType):
    def run(self, ctx: StepContext, config: Any) -> Outcome:
        event = ctx.trigger_event or {}
        return Advance(detail={"trigger": self.type, "event": event.get("type")})


@node_type(
    "trigger_event",
    kind="trigger",
    label="Event",
    description="Start when the contact does something: an event of this type (optionally matching a filter).",
)
class EventTrigger(_Trigger):
    class Config(NodeConfig):
        event: EventType
        filter: Rule | None = Field(default=None, description="JsonLogic over {event, contact}")

    def rules(self, config: Config) -> list[tuple[str, Any]]:
        return [("filter", config.filter)] if config.filter is not None else []

    def matches_event(self, config: Config, *, event: dict[str, Any], contact: dict[str, Any]) -> bool:
        if event.get("type") != config.event:
            return False
        if config.filter is None:
            return True
        return compile_rule(config.filter).holds({"event": event, "contact": contact})


@node_type(
    "trigger_segment",
    kind="trigger",
    label="Segment",
    description="Start when the contact enters (or leaves) a segment.",
)
class SegmentTrigger(_Trigger):
    class Config(NodeConfig):
        segment_id: str = Field(min_length=1)
        on: Literal["enter", "exit"] = "enter"

    def matches_event(self, config: Config, *, event: dict[str, Any], contact: dict[str, Any]) -> bool:
        wanted = "segment.entered" if config.on == "enter" else "segment.exited"
        properties = event.get("properties") or {}
        return event.get("type") == wanted and str(properties.get("segment_id")) == config.segment_id


class Audience(NodeConfig):
    segment_id: str | None = Field(default=None, min_length=1)
    rule: Rule | None = Field(default=None, description="JsonLogic over {contact}")


@node_type(
    "trigger_schedule",
    kind="trigger",
    label="Schedule",
    description="Start for an audience once at a moment, or on each occurrence of an RFC 5545 recurrence rule.",
)
class ScheduleTrigger(_Trigger):
    class Config(NodeConfig):
        at: AwareDatetime | None = None
        rrule: str | None = Field(default=None, examples=["FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"])
        timezone: TimeZoneName = "UTC"
        audience: Audience = Audience()

        @field_validator("rrule")
        @classmethod
        def _valid_rrule(cls, value: str | None) -> str | None:
            if value is not None:
                try:
                    rrulestr(value, dtstart=datetime(2026, 1, 1))
                except (ValueError, TypeError, KeyError) as error:
                    raise ValueError(f"not a valid RFC 5545 recurrence rule ({error})") from None
            return value

        @model_validator(mode="after")
        def _once_or_recurring(self) -> ScheduleTrigger.Config:
            if (self.at is None) == (self.rrule is None):
                raise ValueError("give exactly one of 'at' (a moment) or 'rrule' (a recurrence rule)")
            return self

    def rules(self, config: Config) -> list[tuple[str, Any]]:
        return [("audience.rule", config.audience.rule)] if config.audience.rule is not None else []

    def next_run(self, config: Config, *, after: datetime) -> datetime | None:
        """Return the first occurrence strictly after ``after`` (``None`` when there is none)."""
        if config.at is not None:
            return config.at if config.at > after else None
        tz = zone(config.timezone)
        local_after = after.astimezone(tz).replace(tzinfo=None)
        # The rule is read in wall-clock time of its zone so that "09:00 every Monday" survives DST changes.
        rule = rrulestr(config.rrule or "", dtstart=local_after.replace(second=0, microsecond=0))
        found = rule.after(local_after)
        if found is None:
            return None
        return local_moment(found.date(), found.time(), tz)


@node_type(
    "trigger_date_field",
    kind="trigger",
    label="Date field",
    description="Start relative to a date in the contact's fields, e.g. 3 days before the renewal date at 09:00.",
)
class DateFieldTrigger(_Trigger):
    class Config(NodeConfig):
        field: str = Field(min_length=1, max_length=100)
        offset: Duration = Field(default="PT0S", description="ISO 8601, negative for before (e.g. -P3D)")
        at_time: ClockTime = "09:00"

    def fire_at(self, config: Config, *, value: date, timezone: str | None, fallback: str = "UTC") -> datetime:
        """Return the moment this trigger fires for a contact whose field holds ``value``, in the contact's
        ``timezone`` (the workflow's ``fallback`` when it has none, or one that is not a zone)."""
        # Wall-clock arithmetic: "3 days before at 09:00" stays 09:00 even when a DST change lies between.
        local = datetime.combine(value, parse_clock_time(config.at_time)) + parse_duration(config.offset)
        return local_moment(local.date(), local.time(), zone_or(timezone, fallback=fallback))


@node_type(
    "trigger_inactivity",
    kind="trigger",
    label="Inactivity",
    description="Start when the contact has had none of these events for a number of days.",
)
class InactivityTrigger(_Trigger):
    class Config(NodeConfig):
        days: int = Field(ge=1, le=3650)
        events: list[EventType] = Field(min_length=1, max_length=50)

    def inactive_since(self, config: Config, *, now: datetime) -> datetime:
        """Return the moment before which the last of ``events`` must lie for the contact to qualify."""
        return now - timedelta(days=config.days)


@node_type(
    "trigger_score",
    kind="trigger",
    label="Score",
    description="Start when the contact's score crosses a threshold, going up or down.",
)
class ScoreTrigger(_Trigger):
    class Config(NodeConfig):
        threshold: int | float
        direction: Literal["up", "down"] = "up"

    def matches_event(self, config: Config, *, event: dict[str, Any], contact: dict[str, Any]) -> bool:
        if event.get("type") != "contact.updated":
            return False
        change = ((event.get("properties") or {}).get("changes") or {}).get("score")
        if not isinstance(change, (list, tuple)) or len(change) != 2:
            return False
        old, new = (value if isinstance(value, (int, float)) else 0 for value in change)
        if config.direction == "up":
            return old < config.threshold <= new
        return old >= config.threshold > new


@node_type(
    "trigger_manual",
    kind="trigger",
    label="Manual",
    description="Start only when enrolled through the API or the UI.",
)
class ManualTrigger(_Trigger):
    pass


@node_type(
    "trigger_webhook",
    kind="trigger",
    label="Inbound webhook",
    description="Start when the workflow's own URL (with its secret token) is called; the body becomes the event.",
)
class WebhookTrigger(_Trigger):
    pass
