"""The hour a fall-back repeats (Europe/Paris, 2026-10-25: 02:00-03:00 CEST, then 02:00-03:00 CET): from inside
its second pass, the next 02:30 is the second one, twenty minutes away; never one already past."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from workflows.engine.registry import registry
from workflows.engine.timing import local_moments, next_weekday_time

from .graphs import ts

PARIS = ZoneInfo("Europe/Paris")
SECOND_0210 = ts("2026-10-25T01:10:00Z")  # 02:10 CET, the second time the clock shows it


def test_a_repeated_wall_clock_time_has_two_moments_and_a_skipped_one_has_one():
    assert local_moments(SECOND_0210.date(), time(2, 30), PARIS) == (
        ts("2026-10-25T00:30:00Z"), ts("2026-10-25T01:30:00Z"))  # fmt: skip
    assert local_moments(ts("2026-03-29T00:00:00Z").date(), time(2, 30), PARIS) == (
        ts("2026-03-29T01:30:00Z"),
    )
    assert local_moments(SECOND_0210.date(), time(9, 0), PARIS) == (ts("2026-10-25T08:00:00Z"),)


def test_waiting_for_0230_from_the_second_0210_waits_twenty_minutes_not_a_day():
    assert next_weekday_time(SECOND_0210, weekdays=None, at=time(2, 30), tz=PARIS) == ts(
        "2026-10-25T01:30:00Z"
    )
    # From before the change, the first 02:30 (CEST) is the one.
    assert next_weekday_time(ts("2026-10-24T22:00:00Z"), weekdays=None, at=time(2, 30), tz=PARIS) == ts(
        "2026-10-25T00:30:00Z")  # fmt: skip


def test_a_schedule_never_answers_an_occurrence_before_the_moment_it_is_asked_after():
    schedule = registry.get("trigger_schedule")
    config = schedule.parse_config({"rrule": "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "timezone": "Europe/Paris"})  # type: ignore[union-attr]
    # Published at the second 02:10: the first 02:30 (00:30 UTC) is past; it used to be answered, and fired.
    assert schedule.next_run(config, after=SECOND_0210) == ts("2026-10-25T01:30:00Z")  # type: ignore[union-attr]
    # Fired at the first 02:30: the next is Monday's, not the second 02:30 of the same night.
    assert schedule.next_run(config, after=ts("2026-10-25T00:30:00Z")) == ts("2026-10-26T01:30:00Z")  # type: ignore[union-attr]
    quarterly = schedule.parse_config({"rrule": "FREQ=MINUTELY;INTERVAL=15", "timezone": "Europe/Paris"})  # type: ignore[union-attr]
    after = ts("2026-10-25T01:10:00Z")
    assert schedule.next_run(quarterly, after=after) > after  # type: ignore[union-attr]
