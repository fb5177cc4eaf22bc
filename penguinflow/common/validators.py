"""Checks shared by every door that takes user input: the API's serializers and parser, and event ingestion.

What they guard against is input that validates but cannot be stored or read back: JSON nested deeper than the
recursive readers downstream can follow, text PostgreSQL refuses (NUL, unpaired surrogates), numbers JSON readers
cannot round-trip, and time zone names that are tzdata files but not zones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from rest_framework import serializers

# Deeper than any sane document needs, and far below Python's recursion limit: every reader of stored JSON
# (json, psycopg, pydantic, the JsonLogic compiler) recurses.
MAX_JSON_DEPTH = 64
# Integers must fit a signed 64-bit integer: what PostgreSQL's bigint, msgspec and most JSON readers round-trip
# (Python's own json refuses to read integers of more than 4300 digits back at all).
JSON_INT_LIMIT = 2**63
BAD_TEXT_MESSAGE = "Must not contain NUL characters or unpaired surrogates."
TOO_DEEP_MESSAGE = f"Must not be nested more than {MAX_JSON_DEPTH} levels deep."


def has_bad_text(value: str) -> bool:
    """Return whether PostgreSQL cannot store `value`: it holds NUL, or an unpaired surrogate (not UTF-8)."""
    if "\x00" in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


@dataclass(frozen=True, slots=True)
class JSONProblem:
    path: str  # where in the value, e.g. "fields.a[2]"; "" for the value itself
    message: str


_BAD_KEY = "Keys must not contain NUL characters or unpaired surrogates."


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return BAD_TEXT_MESSAGE if has_bad_text(value) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if -JSON_INT_LIMIT <= value < JSON_INT_LIMIT else "Integers must lie between -2^63 and 2^63 - 1."
    if isinstance(value, float) and not math.isfinite(value):
        return "Numbers must be finite (JSON has no infinity or NaN)."
    return None


def _path(root: str, trail: tuple | None) -> str:
    keys = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    path = root
    for key in reversed(keys):
        path = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
    return path


def json_problem(value: Any, *, path: str = "", max_depth: int = MAX_JSON_DEPTH) -> JSONProblem | None:
    """Return the first part of a parsed JSON value that cannot be stored and read back, or None.

    Objects and arrays may nest `max_depth` levels (the value itself is level 1); keys and strings must be text
    PostgreSQL stores (`has_bad_text`); integers must lie in [-2**63, 2**63); floats must be finite. Iterative, so
    that a value nested any depth is reported rather than raising RecursionError; `path` prefixes the part's path.
    """
    if (message := _scalar_problem(value)) is not None:
        return JSONProblem(path, message)
    # Containers to look into, with their depth and their trail of keys (a path is only spelt out for a problem).
    stack: list[tuple[Any, int, tuple | None]] = [(value, 1, None)] if isinstance(value, dict | list) else []
    while stack:
        item, depth, trail = stack.pop()
        if depth > max_depth:
            return JSONProblem(_path(path, trail), f"Must not be nested more than {max_depth} levels deep.")
        is_object = isinstance(item, dict)
        for key, child in item.items() if is_object else enumerate(item):
            if is_object and isinstance(key, str) and has_bad_text(key):
                return JSONProblem(_path(path, trail), _BAD_KEY)
            if isinstance(child, dict | list):
                stack.append((child, depth + 1, (trail, key)))
            elif (message := _scalar_problem(child)) is not None:
                return JSONProblem(_path(path, (trail, key)), message)
    return None


# --- time zones ------------------------------------------------------------------------------------------------

# Files of the tz database that ZoneInfo opens but that are not zones anyone should name: the posix/ and right/
# copies (right/ counts leap seconds), "Factory" (a placeholder) and "localtime" (the host's own setting).
# workflows.engine.types.zone_names applies the same rule (the engine imports nothing from here); a test keeps
# the two equal.
_NOT_ZONE_PREFIXES = ("posix/", "right/")
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


@lru_cache(maxsize=1)
def timezone_names() -> frozenset[str]:
    """Return the canonical IANA time zone names this host knows (and "UTC")."""
    names = {name for name in available_timezones()
             if not name.startswith(_NOT_ZONE_PREFIXES) and name not in _NOT_ZONES}
    return frozenset(names | {"UTC"})


def is_valid_timezone(name: str) -> bool:
    """Return whether `name` is an IANA time zone. A lookup in the known names, never a file open: ZoneInfo
    itself accepts tzdata directories ("America" raises IsADirectoryError) and non-zone files ("Factory")."""
    return name in timezone_names()


class TimeZoneField(serializers.CharField):
    default_error_messages = {"invalid_zone": "'{value}' is not an IANA time zone (for example 'Europe/Paris')."}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and not is_valid_timezone(value):
            self.fail("invalid_zone", value=value)
        return value


# --- JSON fields -----------------------------------------------------------------------------------------------


class StorableJSONField(serializers.JSONField):
    """A JSON value that can be stored and read back (see `json_problem`); the API's parser already refuses such
    bodies, this holds the line for data that reaches the serializer another way."""

    def to_internal_value(self, data):
        # Before DRF's own check, which serializes the value recursively.
        problem = json_problem(data)
        if problem is not None:
            # The part's path is relative to this field; the error handler prefixes the field's name.
            raise serializers.ValidationError({problem.path: problem.message} if problem.path else problem.message)
        return super().to_internal_value(data)


class StrictJSONObjectField(StorableJSONField):
    default_error_messages = {"not_object": "Must be a JSON object.", "too_large": "Must be at most {limit} bytes."}

    def __init__(self, *, max_bytes: int = 64 * 1024, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        if len(json.dumps(value, separators=(",", ":"))) > self.max_bytes:
            self.fail("too_large", limit=self.max_bytes)
        return value


# --- reading stored JSON back ------------------------------------------------------------------------------------


def _int_or_text(digits: str) -> int | str:
    # Integers a 64-bit reader cannot hold come back as their digits (Python's own json refuses to read more than
    # sys.get_int_max_str_digits() of them at all).
    if len(digits) <= 20:
        value = int(digits)
        if -JSON_INT_LIMIT <= value < JSON_INT_LIMIT:
            return value
    return digits


def _float_or_text(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


def readable_json(text: str | None) -> Any:
    """Decode JSON text stored before the rules of `json_problem` held, without failing on what they refuse: numbers
    nothing can round-trip come back as their text, and a value nested too deep to read back safely comes back as
    None (it could not be rendered either)."""
    if text is None:
        return None
    try:
        value = json.loads(text, parse_int=_int_or_text, parse_float=_float_or_text)
    except RecursionError:
        return None
    # The numbers are tamed above and PostgreSQL holds no NUL or surrogate: what is left to find is the nesting.
    return None if json_problem(value) is not None else value


class StoredJSONField(serializers.JSONField):
    """Read-only: a JSON column selected as text (see `readable_json`), so that one stored value no reader can
    decode does not fail the whole listing."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return readable_json(value)
