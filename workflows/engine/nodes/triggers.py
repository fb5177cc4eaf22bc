"""Triggers: the nodes where enrollments start. Running one simply moves on to its next node.

Each trigger type alone decides when it starts an enrollment (``workflows.engine.entry.TriggerType``): event
triggers say which event types they listen to and whether one starts them; time-based ones say who enters on a
tick. The live runtime and the simulator only ask.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from dateutil.rrule import rrulestr
from pydantic import AwareDatetime, Field, field_validator, model_validator

from workflows.engine.conditions import ConditionError
from workflows.engine.durations import parse_duration
from workflows.engine.entry import TimeFiring, TriggerContacts, TriggerScope, TriggerType
from workflows.engine.registry import NodeConfig, Reference, node_type
from workflows.engine.timing import local_moment, zone_or
from workflows.engine.types import ClockTime, Duration, EventType, Rule, TimeZoneName, parse_clock_time, zone

__all__ = [
    "SCAN_INTERVAL",
    "DateFieldTrigger",
    "EventTrigger",
    "InactivityTrigger",
    "ManualTrigger",
    "ScheduleTrigger",
    "ScoreTrigger",
    "SegmentTrigger",
    "WebhookTrigger",
]


# Date-field and inactivity triggers scan every contact of the workspace: at most this often per trigger.
SCAN_INTERVAL = timedelta(minutes=5)


@node_type(
    "trigger_event",
    kind="trigger",
    label="Event",
    description="Start when the contact does something: an event of this type (optionally matching a filter).",
)
class EventTrigger(TriggerType):
    entered_by = "event"

    class Config(NodeConfig):
        event: EventType
        filter: Rule | None = Field(default=None, description="JsonLogic over {event, contact}")

    def rules(self, config: Config) -> list[tuple[str, Any]]:
        return [("filter", config.filter)] if config.filter is not None else []

    def listens_to(self, config: Config) -> tuple[str, ...]:
        return (config.event,)

    def reads_contact(self, config: Config) -> bool:
        return config.filter is not None

    def matches(self, config: Config, scope: TriggerScope) -> bool:
        if (scope.event or {}).get("type") != config.event:
            return False
        return config.filter is None or scope.holds(config.filter)

    def not_entered_reason(self, config: Config) -> str:
        return "its filter does not hold for this event and contact"


@node_type(
    "trigger_segment",
    kind="trigger",
    label="Segment",
    description="Start when the contact enters (or leaves) a segment.",
)
class SegmentTrigger(TriggerType):
    entered_by = "event"
    references = (Reference("segment_id", "contacts.Segment", "segment"),)

    class Config(NodeConfig):
        segment_id: str = Field(min_length=1)
        on: Literal["enter", "exit"] = "enter"

    def listens_to(self, config: Config) -> tuple[str, ...]:
        return ("segment.entered",) if config.on == "enter" else ("segment.exited",)

    def matches(self, config: Config, scope: TriggerScope) -> bool:
        event = scope.event or {}
        properties = event.get("properties") or {}
        return event.get("type") in self.listens_to(config) and str(properties.get("segment_id")) == config.segment_id

    def not_entered_reason(self, config: Config) -> str:
        return f"the event is about another segment than {config.segment_id}"


class Audience(NodeConfig):
    segment_id: str | None = Field(default=None, min_length=1)
    rule: Rule | None = Field(default=None, description="JsonLogic over {contact}")


@node_type(
    "trigger_schedule",
    kind="trigger",
    label="Schedule",
    description="Start for an audience once at a moment, or on each occurrence of an RFC 5545 recurrence rule.",
)
class ScheduleTrigger(TriggerType):
    entered_by = "time"
    # Checked only when given: a schedule without a segment speaks to every subscribed contact.
    references = (Reference("audience.segment_id", "contacts.Segment", "segment", optional=True),)

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

    def due_occurrence(self, config: Config, *, fired_until: datetime, now: datetime) -> datetime | None:
        """Return the latest occurrence in ``(fired_until, now]``: a schedule that missed several occurrences
        while nothing ran fires once, for the last of them, rather than once for each."""
        due = None
        moment = self.next_run(config, after=fired_until)
        while moment is not None and moment <= now:
            due = moment
            moment = self.next_run(config, after=moment)
        return due

    def fire(
        self, config: Config, *, fired_until: datetime, now: datetime, contacts: TriggerContacts, timezone: str
    ) -> TimeFiring | None:
        due = self.due_occurrence(config, fired_until=fired_until, now=now)
        if due is None:
            return None
        firing = TimeFiring(fired_until=due)
        rule = config.audience.rule
        for contact in contacts.subscribed(segment_id=config.audience.segment_id):
            if rule is not None:
                # The audience rule reads the contact only: a whole audience's history is not read at once.
                scope = TriggerScope(event=None, contact=contact.data, contact_id=contact.id, activity=None, now=now)
                try:
                    if not scope.holds(rule):
                        continue
                except ConditionError as error:
                    firing.not_entered.append((contact.id, f"the audience rule could not be evaluated ({error})"))
                    continue
            firing.entries.append((contact.id, due.isoformat()))
        return firing


@node_type(
    "trigger_date_field",
    kind="trigger",
    label="Date field",
    description="Start relative to a date in the contact's fields, e.g. 3 days before the renewal date at 09:00.",
)
class DateFieldTrigger(TriggerType):
    entered_by = "time"
    scan_interval = SCAN_INTERVAL

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

    def fire(
        self, config: Config, *, fired_until: datetime, now: datetime, contacts: TriggerContacts, timezone: str
    ) -> TimeFiring:
        firing = TimeFiring(fired_until=now)
        for contact in contacts.with_field(field=config.field):
            value = _field_date(contact.fields.get(config.field))
            if value is None:
                continue  # not a date: the field says nothing about when to fire
            moment = self.fire_at(config, value=value, timezone=contact.timezone, fallback=timezone)
            if fired_until < moment <= now:
                firing.entries.append((contact.id, f"{config.field}:{value.isoformat()}"))
        return firing


def _field_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@node_type(
    "trigger_inactivity",
    kind="trigger",
    label="Inactivity",
    description="Start when the contact has had none of these events for a number of days.",
)
class InactivityTrigger(TriggerType):
    entered_by = "time"
    scan_interval = SCAN_INTERVAL

    class Config(NodeConfig):
        days: int = Field(ge=1, le=3650)
        events: list[EventType] = Field(min_length=1, max_length=50)

    def inactive_since(self, config: Config, *, now: datetime) -> datetime:
        """Return the moment before which the last of ``events`` must lie for the contact to qualify."""
        return now - timedelta(days=config.days)

    def fire(
        self, config: Config, *, fired_until: datetime, now: datetime, contacts: TriggerContacts, timezone: str
    ) -> TimeFiring:
        horizon = self.inactive_since(config, now=now)
        # One entry per contact per inactivity spell: the spell is named by the day it became long enough.
        occasion = f"inactive-since:{horizon.date()}"
        quiet = contacts.inactive(events=config.events, since=horizon)
        return TimeFiring(fired_until=now, entries=[(contact_id, occasion) for contact_id in quiet])


@node_type(
    "trigger_score",
    kind="trigger",
    label="Score",
    description="Start when the contact's score crosses a threshold, going up or down.",
)
class ScoreTrigger(TriggerType):
    entered_by = "event"

    class Config(NodeConfig):
        threshold: int | float
        direction: Literal["up", "down"] = "up"

    def listens_to(self, config: Config) -> tuple[str, ...]:
        return ("contact.updated",)

    def matches(self, config: Config, scope: TriggerScope) -> bool:
        event = scope.event or {}
        if event.get("type") != "contact.updated":
            return False
        change = ((event.get("properties") or {}).get("changes") or {}).get("score")
        if not isinstance(change, (list, tuple)) or len(change) != 2:
            return False
        old, new = change
        if not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
            return False
        # Going down mirrors going up: "up" reaches the threshold from below, "down" reaches it from above.
        if config.direction == "up":
            return old < config.threshold <= new
        return old > config.threshold >= new

    def not_entered_reason(self, config: Config) -> str:
        return f"the score did not reach {config.threshold} going {config.direction}"


@node_type(
    "trigger_manual",
    kind="trigger",
    label="Manual",
    description="Start only when enrolled through the API or the UI.",
)
class ManualTrigger(TriggerType):
    entered_by = "manual"


@node_type(
    "trigger_webhook",
    kind="trigger",
    label="Inbound webhook",
    description="Start when the workflow's own URL (with its secret token) is called; the body becomes the event.",
)
class WebhookTrigger(TriggerType):
    entered_by = "webhook"
