from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from rest_framework import serializers

_ZONES: set[str] | None = None


def is_valid_timezone(name: str) -> bool:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones()
    if name in _ZONES:
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return "/" in name or name == "UTC"


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


class StrictJSONObjectField(serializers.JSONField):
    default_error_messages = {"not_object": "Must be a JSON object.", "too_large": "Must be at most {limit} bytes."}

    def __init__(self, *, max_bytes: int = 64 * 1024, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        import json

        if len(json.dumps(value, separators=(",", ":"))) > self.max_bytes:
            self.fail("too_large", limit=self.max_bytes)
        return value
