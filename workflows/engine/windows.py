"""Delivery windows (``{days, start, end, timezone, on_miss}``) shared by ``delay`` and ``send_email``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from workflows.engine.registry import NodeConfig, StepContext
from workflows.engine.timing import next_opening
from workflows.engine.types import WEEKDAYS, ClockTime, Weekday, parse_clock_time, zone

__all__ = ["Window", "window_opening"]


class Window(NodeConfig):
    """The hours a step may run in; outside them, on_miss says whether to wait for the next opening."""

    # The builder edits a window with its own editor (days, hours, zone, what to do outside) rather than field by field.
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"x-widget": "window"})

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    start: ClockTime = "09:00"
    end: ClockTime = "17:00"
    timezone: str = Field(default="contact", description="'contact' (the contact's zone) or an IANA zone")
    on_miss: Literal["wait", "send"] = Field(default="wait", title="Outside the window")

    @model_validator(mode="after")
    def _coherent(self) -> Window:
        if parse_clock_time(self.end) <= parse_clock_time(self.start):
            raise ValueError("end must be later than start (windows that span midnight are not supported)")
        if self.timezone != "contact":
            zone(self.timezone)
        return self


def window_opening(ctx: StepContext, window: Window, moment: datetime) -> datetime:
    """Return ``moment`` if it is inside ``window`` in the right zone, else when the window next opens."""
    return next_opening(
        moment,
        days=window.days,
        start=parse_clock_time(window.start),
        end=parse_clock_time(window.end),
        tz=ctx.zone(window.timezone),
    )
