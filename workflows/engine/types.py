"""Field types shared by node configs and workflow settings, with the JSON Schema the builder reads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from workflows.engine.durations import parse_duration
from workflows.engine.errors import error_path
from workflows.engine.expressions import ExpressionError, expression_compile

__all__ = [
    "EVENT_TYPES",
    "EVENT_TYPE_PATTERN",
    "EXPRESSIONS_COMPILED",
    "WEEKDAYS",
    "ClockTime",
    "Duration",
    "EmailAddress",
    "EventType",
    "Rule",
    "TimeZoneName",
    "Weekday",
    "expression_positions",
    "is_zone_name",
    "parse_clock_time",
    "zone",
    "zone_names",
]

# The catalogue of CONTRACT §3. Custom types are allowed too; every catalogue type also matches the pattern.
EVENT_TYPES: tuple[str, ...] = (
    "email.sent",
    "email.delivered",
    "email.opened",
    "email.clicked",
    "email.replied",
    "email.bounced",
    "email.complained",
    "email.unsubscribed",
    "sms.sent",
    "sms.delivered",
    "sms.failed",
    "sms.received",
    "push.sent",
    "push.failed",
    "push.clicked",
    "prediction.crossed",  # a predictive score crossed a trigger_prediction's threshold (CONTRACT §16)
    "contact.created",
    "contact.updated",
    "contact.tagged",
    "contact.untagged",
    "campaign.started",
    "campaign.paused",
    "campaign.completed",
    "campaign.contact_added",
    "campaign.contact_removed",
    "campaign.contact_completed",
    "form.submitted",
    "page.viewed",
    "segment.entered",
    "segment.exited",
    "workflow.enrolled",
    "workflow.completed",
    "workflow.exited",
    "workflow.failed",
    "crm.deal_stage_changed",  # a deal of a CRM connector changed stage (webhook or polling; CONTRACT §18)
    "crm.contact_updated",
)
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_duration(value: str) -> str:
    parse_duration(value)  # raises DurationError (a ValueError) with a readable message
    return value


# Files of the tz database that ZoneInfo opens but that are not zones anyone should name: the posix/ and right/
# copies, "Factory" (a placeholder) and "localtime" (the host's own setting). The API's validator
# (penguinflow.common.validators.timezone_names) applies the same rule; a test keeps the two equal.
_NOT_ZONE_PREFIXES = ("posix/", "right/")
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """Return the canonical IANA time zone names this host knows (and "UTC")."""
    names = {name for name in available_timezones()
             if not name.startswith(_NOT_ZONE_PREFIXES) and name not in _NOT_ZONES}
    return frozenset(names | {"UTC"})


def is_zone_name(name: object) -> bool:
    """Return whether ``name`` is an IANA time zone name (a lookup: ZoneInfo itself opens tzdata directories)."""
    return isinstance(name, str) and name in zone_names()


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """Return the IANA time zone called ``name``; raise ``ValueError`` naming it when unknown.

    Only known names reach ZoneInfo: "America" (a directory) would raise IsADirectoryError, "posix/Europe/Paris"
    and "Factory" would load.
    """
    if not is_zone_name(name):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. 'Europe/Paris')")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # listed but unreadable: a broken tzdata install
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. 'Europe/Paris')") from None


def _check_zone(value: str) -> str:
    zone(value)
    return value


def _check_event_type(value: str) -> str:
    if not _EVENT_TYPE.match(value):
        raise ValueError(
            f"{value!r} is not an event type: use a catalogue type such as 'email.opened' or a custom one "
            "such as 'custom.purchase_completed' (lower case, at least one dot)"
        )
    return value


@lru_cache(maxsize=512)
def parse_clock_time(value: str) -> time:
    """Return the ``time`` of an ``HH:MM`` string."""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(f"{value!r} is not a time of day; write it as HH:MM, e.g. '09:00'")
    return time(int(value[:2]), int(value[3:]))


def _check_clock_time(value: str) -> str:
    parse_clock_time(value)
    return value


Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    WithJsonSchema({"type": "string", "format": "duration", "examples": ["PT2H", "P3D", "P1DT12H"]}),
]
TimeZoneName = Annotated[
    str, AfterValidator(_check_zone), WithJsonSchema({"type": "string", "examples": ["UTC", "Europe/Paris"]})
]
EventType = Annotated[
    str,
    Field(min_length=3, max_length=128),
    AfterValidator(_check_event_type),
    WithJsonSchema({"type": "string", "pattern": EVENT_TYPE_PATTERN, "examples": list(EVENT_TYPES)}),
]
ClockTime = Annotated[
    str,
    AfterValidator(_check_clock_time),
    WithJsonSchema({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}),
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# The key of a validation context under which ``Rule`` records what it compiled: {id(source): (source, rule)}.
EXPRESSIONS_COMPILED = "expressions_compiled"


def _compile_expression(value: Any, info: ValidationInfo) -> Any:
    """Return the JsonLogic of ``{"js": "<expression>"}`` (CONTRACT §7a); any other value is a rule as it is."""
    if not (isinstance(value, Mapping) and len(value) == 1 and "js" in value):
        return value
    source = value["js"]
    if not isinstance(source, str):
        raise PydanticCustomError("expression", "js must be an expression, as text", {"line": 1, "column": 1})
    try:
        rule = expression_compile(source)
    except ExpressionError as error:
        raise PydanticCustomError(
            "expression", "{text}", {"text": str(error), "line": error.line, "column": error.column}
        ) from None
    if isinstance(info.context, dict) and EXPRESSIONS_COMPILED in info.context:
        info.context[EXPRESSIONS_COMPILED][id(value)] = (value, rule)
    return rule


def expression_positions(error: ValidationError, *, prefix: str = "") -> list[dict[str, Any]]:
    """Return ``[{path, line, column, message}]`` for the expressions of ``error`` that did not compile."""
    return [
        {"path": error_path(item, prefix=prefix), "line": item["ctx"]["line"], "column": item["ctx"]["column"],
         "message": item["msg"]}
        for item in error.errors(include_url=False)
        if item["type"] == "expression"
    ]


# A JsonLogic rule is any JSON value; which operations it may use is checked by validation (conditions.check_rule).
# ``{"js": "<expression>"}`` is accepted in its place and compiled here, the one place every rule is read through.
Rule = Annotated[
    Any,
    BeforeValidator(_compile_expression),
    WithJsonSchema({
        "description": 'A JsonLogic rule, or {"js": "<expression>"} (CONTRACT §7a), stored as its JsonLogic',
        "type": ["object", "boolean"],
        # The builder edits every property of this type with its condition builder (frontend/src/conditions).
        "x-widget": "rule",
    }),
]


def _check_email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(f"{value!r} is not an email address")
    return value


EmailAddress = Annotated[
    str,
    Field(max_length=254),
    AfterValidator(_check_email),
    WithJsonSchema({"type": "string", "format": "email"}),
]
