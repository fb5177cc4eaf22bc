"""Waits: delay, wait_until and wait_for_event. A wait parks the enrollment; a timer or an event resumes it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import AwareDatetime, Field, field_validator, model_validator

from workflows.engine.durations import parse_duration
from workflows.engine.outcomes import Advance, Fail, Outcome, Wait
from workflows.engine.presets import Preset
from workflows.engine.registry import NodeConfig, NodeType, StepContext, node_type
from workflows.engine.timing import local_moment, next_weekday_time
from workflows.engine.types import ClockTime, Duration, EventType, Rule, Weekday, parse_clock_time, zone
from workflows.engine.windows import Window, window_opening

__all__ = ["Delay", "WaitForEvent", "WaitUntil"]


def _positive(value: str) -> str:
    if parse_duration(value) <= timedelta(0):
        raise ValueError("must be longer than zero")
    return value


def _not_negative(value: str) -> str:
    if parse_duration(value) < timedelta(0):
        raise ValueError("must not be negative")
    return value


def _timer_done(ctx: StepContext) -> bool:
    return ctx.wait is not None and ctx.wait.until is not None and ctx.now >= ctx.wait.until


@node_type(
    "delay",
    kind="wait",
    label="Delay",
    description="Wait for a duration, then (with a window) until the window is open.",
)
class Delay(NodeType):
    presets = (
        Preset("wait-2-days", "Wait 2 days", "Wait two days.", "wait", {"duration": "P2D"}),
    )
    class Config(NodeConfig):
        duration: Duration
        window: Window | None = None

        _duration_not_negative = field_validator("duration")(_not_negative)

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        if ctx.wait is not None:
            if _timer_done(ctx):
                return Advance(detail={"waited_until": ctx.wait.until.isoformat()})  # type: ignore[union-attr]
            return Wait(until=ctx.wait.until)
        until = ctx.now + parse_duration(config.duration)
        detail: dict[str, Any] = {"duration": config.duration}
        if config.window is not None and config.window.on_miss == "wait":
            opening = window_opening(ctx, config.window, until)
            if opening != until:
                detail["window_deferred_from"] = until.isoformat()
            until = opening
        detail["until"] = until.isoformat()
        if until <= ctx.now:
            return Advance(detail=detail)
        return Wait(until=until, detail=detail)


@node_type(
    "wait_until",
    kind="wait",
    label="Wait until",
    description=(
        "Wait until a moment ({datetime}), the next matching weekday and time ({weekdays, time, timezone}), or "
        "the date in a contact field ({field, time?}). A moment that has passed lets the contact through at once."
    ),
)
class WaitUntil(NodeType):
    presets = (
        Preset("wait-until-monday-9", "Until Monday 09:00",
               "Wait until the next Monday at 09:00 in the contact's time zone.", "wait",
               {"weekdays": ["mon"], "time": "09:00", "timezone": "contact"}),
    )
    class Config(NodeConfig):
        datetime: AwareDatetime | None = Field(default=None, title="Date and time")
        weekdays: list[Weekday] | None = Field(default=None, min_length=1)
        time: ClockTime | None = None
        timezone: str = Field(default="contact", description="'contact' or an IANA zone")
        field: str | None = Field(default=None, min_length=1, max_length=100)

        @model_validator(mode="after")
        def _one_mode(self) -> WaitUntil.Config:
            if self.timezone != "contact":
                zone(self.timezone)
            if self.datetime is not None:
                if self.weekdays or self.time or self.field:
                    raise ValueError("'datetime' stands alone: remove weekdays, time and field")
            elif self.field is not None:
                if self.weekdays:
                    raise ValueError("'field' combines with 'time' only: remove weekdays")
            elif not self.weekdays and not self.time:
                raise ValueError("give 'datetime', 'field', or 'weekdays' and/or 'time'")
            return self

    def target(self, ctx: StepContext, config: Config) -> datetime | str:
        """Return the moment to wait for, or a message saying why there is none."""
        if config.datetime is not None:
            return config.datetime
        tz = ctx.zone(config.timezone)
        at = parse_clock_time(config.time) if config.time else None
        if config.field is None:
            return next_weekday_time(ctx.now, weekdays=config.weekdays, at=at, tz=tz)
        name = config.field.removeprefix("fields.")
        raw = (ctx.contact.get("fields") or {}).get(name, ctx.contact.get(name))
        if not isinstance(raw, str) or not raw:
            return f"The contact's field {name!r} holds no date to wait for."
        try:
            if len(raw) == 10:
                return local_moment(date.fromisoformat(raw), at or time(0, 0), tz)
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return f"The contact's field {name!r} holds {raw!r}, which is not an ISO 8601 date."
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        if at is not None:
            return local_moment(moment.astimezone(tz).date(), at, tz)
        return moment.astimezone(UTC)

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        if ctx.wait is not None:
            if _timer_done(ctx):
                return Advance(detail={"waited_until": ctx.wait.until.isoformat()})  # type: ignore[union-attr]
            return Wait(until=ctx.wait.until)
        target = self.target(ctx, config)
        if isinstance(target, str):
            return Fail(target)
        detail = {"until": target.isoformat()}
        if target <= ctx.now:
            return Advance(detail={**detail, "already_passed": True})
        return Wait(until=target, detail=detail)


@node_type(
    "wait_for_event",
    kind="wait",
    label="Wait for event",
    description="Wait for an event (optionally matching a filter): 'event' when it comes, 'timeout' if it does not.",
    branches=("event", "timeout"),
)
class WaitForEvent(NodeType):
    presets = (
        Preset("wait-for-open", "Wait for an open", "Wait up to 3 days for the contact to open an email.",
               "wait", {"event": "email.opened", "timeout": "P3D"}),
    )
    class Config(NodeConfig):
        event: EventType
        filter: Rule | None = Field(default=None, description="JsonLogic over {event, contact, enrollment}")
        timeout: Duration

        _timeout_positive = field_validator("timeout")(_positive)

    def rules(self, config: Config) -> list[tuple[str, Any]]:
        return [("filter", config.filter)] if config.filter is not None else []

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        wait = ctx.wait
        if wait is None:
            timeout_at = ctx.now + parse_duration(config.timeout)
            return Wait(
                event=config.event,
                timeout_at=timeout_at,
                detail={"event": config.event, "timeout_at": timeout_at.isoformat()},
            )
        timeout_at = wait.timeout_at
        event = ctx.resume_event
        if event is not None:
            if event.get("type") == config.event and (
                config.filter is None or ctx.holds(config.filter, event=event)
            ):
                occurred = _occurred_at(event) or ctx.now
                if timeout_at is None or occurred <= timeout_at:
                    return Advance(
                        "event", detail={"event": config.event, "occurred_at": occurred.isoformat()}
                    )
                return Advance("timeout", detail={"timeout_at": timeout_at.isoformat(), "late_event": True})
            return Wait(event=config.event, timeout_at=timeout_at)
        if timeout_at is not None and ctx.now >= timeout_at:
            return Advance("timeout", detail={"timeout_at": timeout_at.isoformat()})
        return Wait(event=config.event, timeout_at=timeout_at)


def _occurred_at(event: dict[str, Any]) -> datetime | None:
    value = event.get("occurred_at")
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None
