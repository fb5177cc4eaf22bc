"""The workspace's settings for sending on every channel (CONTRACT §13): frequency caps, quiet hours, topics,
and the websites allowed to subscribe contacts to web push. Stored in `Workspace.settings`, validated here.

Quiet hours are the hours in the recipient's time zone when no SMS or push goes out (deferred, never dropped):
by default 21:00 to 08:00, so messages go out between 08:00 and 21:00; a region (ISO 3166 code of the phone
number) may have stricter hours of its own, and close whole days (no SMS on Sundays there): a message due then
waits for the next open time.

`sms_rate_per_second` caps how fast the workspace's SMS are handed to the provider (their throughput limit per
sender); beyond it delivery defers messages, never drops them (sms.rate).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from workflows.engine.durations import parse_duration

__all__ = ["FrequencyCap", "MessagingSettings", "QuietHours", "Topic", "messaging_settings", "settings_validate"]

Channel = Literal["email", "sms", "push"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Origin = Annotated[str, Field(pattern=r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$", max_length=200,
                              description="A website's origin, e.g. https://www.example.com")]
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM, 24-hour clock.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FrequencyCap(_Strict):
    """At most `max` messages on `channels` per `per` (ISO 8601 duration) to one contact; beyond it a step
    waits for the next allowed time (`defer`) or goes on without sending (`skip`), unless it is transactional."""

    channels: list[Channel] = Field(min_length=1)
    max: int = Field(ge=1, le=10_000)
    per: str = Field(description="ISO 8601 duration, e.g. P7D.")
    policy: Literal["defer", "skip"] = "defer"

    @field_validator("per")
    @classmethod
    def _per_is_a_duration(cls, value: str) -> str:
        span = parse_duration(value)
        if not timedelta(minutes=1) <= span <= timedelta(days=366):
            raise ValueError("between one minute and one year")
        return value

    @property
    def span(self) -> timedelta:
        return parse_duration(self.per)


class QuietSpan(_Strict):
    start: ClockTime
    end: ClockTime


class RegionRule(_Strict):
    """Stricter rules for the numbers of one region: quiet hours of its own (both ends, or neither), closed days."""

    start: ClockTime | None = None
    end: ClockTime | None = None
    closed_days: list[Weekday] = Field(default_factory=list, max_length=6,
                                       description="Days no message goes out there, e.g. [\"sun\"].")

    @model_validator(mode="after")
    def _both_ends(self) -> RegionRule:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither")
        if len(set(self.closed_days)) != len(self.closed_days):
            raise ValueError("each closed day may be named once")
        return self


class QuietHours(QuietSpan):
    start: ClockTime = "21:00"
    end: ClockTime = "08:00"
    # Stricter rules for numbers of a region: {"US": {"start": "20:00", "end": "09:00"}, "DE": {"closed_days": ["sun"]}}.
    regions: dict[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], RegionRule] = Field(default_factory=dict,
                                                                                    max_length=300)

    @field_validator("regions")
    @classmethod
    def _known_regions(cls, value: dict[str, RegionRule]) -> dict[str, RegionRule]:
        # The regions phone numbers are read as (phonenumbers): a rule for any other code could never apply.
        unknown = sorted(code for code in value if code not in phonenumbers.SUPPORTED_REGIONS)
        if unknown:
            raise ValueError(f"unknown region {', '.join(unknown)}: use ISO 3166 country codes such as US or FR")
        return value


class Topic(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    label: str = Field(min_length=1, max_length=100)


class MessagingSettings(_Strict):
    frequency_caps: list[FrequencyCap] = Field(default_factory=list, max_length=20)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    topics: list[Topic] = Field(default_factory=list, max_length=100,
                                description="What contacts may opt out of on the preference page.")
    push_origins: list[Origin] = Field(default_factory=list, max_length=50,
                                    description="Websites (https://host[:port]) allowed to subscribe contacts "
                                                "to web push from the browser.")
    sms_rate_per_second: int | None = Field(default=None, ge=1, le=10_000,
                                            description="At most this many SMS a second to the provider (its "
                                                        "limit for your sender); more wait, none is dropped. "
                                                        "Empty: no limit.")
    tracking_origins: list[Origin] = Field(default_factory=list, max_length=50,
                                           description="Websites (https://host[:port]) whose pages may send events "
                                                       "with the workspace's public write key (/js/penguinflow.js).")

    @field_validator("tracking_origins")
    @classmethod
    def _origins_in_lower_case(cls, value: list[str]) -> list[str]:
        # Browsers send the Origin in lower case; the preflight compares stored origins as they are.
        return [origin.lower() for origin in value]


def messaging_settings(workspace) -> MessagingSettings:
    """Return the workspace's settings with their defaults (stored settings were validated when written)."""
    return MessagingSettings.model_validate(workspace.settings or {})


def settings_validate(changes: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Return `current` with `changes` (top-level keys) applied, validated; raise ValueError with
    `{path: message}` in its args for what is wrong."""
    merged = {**current, **changes}
    try:
        return MessagingSettings.model_validate(merged).model_dump(mode="json")
    except ValidationError as error:
        raise ValueError({".".join(str(part) for part in problem["loc"]) or "settings": problem["msg"]
                          for problem in error.errors()}) from None
