"""ISO 8601 durations with exact arithmetic.

Supported forms: ``PnW`` and ``PnDTnHnMnS`` (any part may be left out, seconds may have a fraction), with an
optional leading ``-`` for offsets before a moment (``-P3D``). Years and months are refused on purpose: their
length depends on the calendar, and a delay that is "one month" long cannot be turned into an exact deadline
without a reference date. Use days instead (``P30D``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

__all__ = ["DurationError", "format_duration", "parse_duration"]

_WEEKS = re.compile(r"(?P<sign>[-+])?P(?P<weeks>\d+)W")
_DAY_TIME = re.compile(
    r"(?P<sign>[-+])?P(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d{1,6})?)S)?)?"
)
_CALENDAR = re.compile(r"[-+]?P(?:\d+Y)?(?:\d+M)?")


class DurationError(ValueError):
    """Raised for text that is not a supported ISO 8601 duration."""


def parse_duration(text: str) -> timedelta:
    """Return the exact length of an ISO 8601 duration such as ``PT2H``, ``P1DT12H``, ``P2W`` or ``-P3D``."""
    if not isinstance(text, str):
        raise DurationError("must be an ISO 8601 duration string such as 'P3D' or 'PT2H'")
    return _parse(text)


# Durations come from a handful of node configs and are parsed on every step that uses them.
@lru_cache(maxsize=4096)
def _parse(text: str) -> timedelta:
    value = text.strip()
    match = _WEEKS.fullmatch(value)
    if match:
        delta = timedelta(weeks=int(match["weeks"]))
        return -delta if match["sign"] == "-" else delta
    match = _DAY_TIME.fullmatch(value)
    if match and value.lstrip("+-") not in ("P", "PT") and not value.endswith("T"):
        delta = timedelta(
            days=int(match["days"] or 0),
            hours=int(match["hours"] or 0),
            minutes=int(match["minutes"] or 0),
            seconds=float((match["seconds"] or "0").replace(",", ".")),
        )
        return -delta if match["sign"] == "-" else delta
    if _CALENDAR.match(value) and ("Y" in value or ("M" in value.split("T")[0])):
        raise DurationError(
            f"{text!r} uses years or months, whose length varies; use days or weeks instead (e.g. 'P30D')"
        )
    raise DurationError(f"{text!r} is not an ISO 8601 duration; write e.g. 'P3D', 'PT2H', 'P1DT12H' or 'P2W'")


def format_duration(delta: timedelta) -> str:
    """Return the ISO 8601 text (``P1DT2H``) of an exact duration."""
    sign = "-" if delta < timedelta(0) else ""
    total = abs(delta)
    days = total.days
    seconds = total.seconds
    micro = total.microseconds
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or micro:
        time_part += f"{seconds}.{micro:06d}".rstrip("0").rstrip(".") + "S"
    if not days and not time_part:
        return "PT0S"
    return f"{sign}P{f'{days}D' if days else ''}{'T' + time_part if time_part else ''}"
