"""Time-zone aware calculations for delivery windows and waits (correct across DST changes)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from workflows.engine.types import WEEKDAYS, zone

__all__ = ["contact_zone", "local_moment", "local_moments", "next_opening", "next_weekday_time", "zone_or"]

UTC = UTC


def contact_zone(name: str, *, contact: dict[str, Any], fallback: str) -> tzinfo:
    """Return the zone called ``name``; ``"contact"`` is the contact's zone, else the workflow's ``fallback``."""
    if name != "contact":
        return zone(name)
    return zone_or(contact.get("timezone"), fallback=fallback)


def zone_or(name: Any, *, fallback: str) -> tzinfo:
    """Return the zone called ``name`` (a contact's), or ``fallback``'s when it is empty or not a zone."""
    if isinstance(name, str) and name:
        try:
            return zone(name)
        except ValueError:
            pass  # a contact with a broken zone still gets the workflow's zone rather than a failed step
    return zone(fallback)


def local_moment(day: date, at: time, tz: tzinfo) -> datetime:
    """Return the UTC instant of wall-clock ``at`` on ``day`` in ``tz``.

    A wall-clock time skipped by a DST change moves forward by the length of the gap (02:30 on a
    spring-forward day becomes 03:30), and a repeated one (01:30 on a fall-back day) is its first occurrence.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def local_moments(day: date, at: time, tz: tzinfo) -> tuple[datetime, ...]:
    """Return the UTC instants at which the wall clock in ``tz`` shows ``at`` on ``day``, earliest first: two
    for a time repeated by a fall-back (01:30 CEST, then 01:30 CET), else one (as ``local_moment``).

    Whoever waits for the next ``at`` from inside the repeated hour (02:10 for the second time, waiting for 02:30)
    is due at its second occurrence, twenty minutes later, not a day later.
    """
    first = local_moment(day, at, tz)
    second = datetime.combine(day, at, tzinfo=tz).replace(fold=1).astimezone(UTC)
    return (first, second) if second > first else (first,)  # in a spring-forward gap `second` is the earlier


def next_opening(moment: datetime, *, days: Collection[str], start: time, end: time, tz: tzinfo) -> datetime:
    """Return ``moment`` if it lies inside the window, else the UTC instant the window next opens."""
    local_day = moment.astimezone(tz).date()
    for offset in range(8):
        day = local_day + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in days:
            continue
        opens = local_moment(day, start, tz)
        if offset == 0:
            if opens <= moment < local_moment(day, end, tz):
                return moment
            if moment < opens:
                return opens
            continue
        return opens
    raise ValueError("the window has no day to open on")


def next_weekday_time(
    moment: datetime, *, weekdays: Collection[str] | None, at: time | None, tz: tzinfo
) -> datetime:
    """Return the first instant at or after ``moment`` on one of ``weekdays`` at wall-clock ``at`` in ``tz``.

    Without ``at``, any time of an allowed day qualifies (so an allowed day that has begun is now).
    """
    allowed = weekdays or WEEKDAYS
    local_day = moment.astimezone(tz).date()
    for offset in range(8):
        day = local_day + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in allowed:
            continue
        if at is None:
            return moment if offset == 0 else local_moment(day, time(0, 0), tz)
        for candidate in local_moments(day, at, tz):
            if candidate >= moment:
                return candidate
    raise ValueError("no weekday to wait for")
