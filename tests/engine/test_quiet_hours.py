"""Quiet hours in the recipient's zone: defer to their end, never drop; right across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from workflows.engine.quiet_hours import QuietHours, QuietHoursError, quiet_hours_parse, quiet_until

NEW_YORK = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")


def at(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz)


def test_inside_the_allowed_hours_a_message_goes_now():
    assert quiet_until(at(PARIS, 2026, 6, 3, 12, 0), quiet_hours=QuietHours(), tz=PARIS) is None
    assert (
        quiet_until(at(PARIS, 2026, 6, 3, 8, 0), quiet_hours=QuietHours(), tz=PARIS) is None
    )  # the end is allowed


def test_in_the_evening_a_message_waits_for_eight_the_next_morning_local_time():
    until = quiet_until(at(PARIS, 2026, 6, 3, 21, 0), quiet_hours=QuietHours(), tz=PARIS)
    assert until == at(PARIS, 2026, 6, 4, 8, 0)
    assert quiet_until(at(PARIS, 2026, 6, 4, 2, 30), quiet_hours=QuietHours(), tz=PARIS) == at(
        PARIS, 2026, 6, 4, 8, 0
    )


def test_the_wait_spans_the_spring_forward_night_by_wall_clock_not_by_hours():
    # 8 March 2026: New York goes from 02:00 EST to 03:00 EDT. 22:00 EST (03:00 UTC) waits for 08:00 EDT (12:00 UTC):
    # nine hours of real time, not ten.
    moment = at(NEW_YORK, 2026, 3, 7, 22, 0)
    until = quiet_until(moment, quiet_hours=QuietHours(), tz=NEW_YORK)
    assert until.astimezone(UTC) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert (until - moment).total_seconds() == 9 * 3600


def test_the_wait_spans_the_fall_back_night_by_wall_clock():
    # 1 November 2026: New York goes from 02:00 EDT back to 01:00 EST; 22:00 EDT waits eleven hours for 08:00 EST.
    moment = at(NEW_YORK, 2026, 10, 31, 22, 0)
    until = quiet_until(moment, quiet_hours=QuietHours(), tz=NEW_YORK)
    assert until.astimezone(UTC) == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    assert (until - moment).total_seconds() == 11 * 3600


def test_quiet_hours_ending_inside_the_skipped_hour_open_when_the_clock_jumps():
    quiet = QuietHours(start="21:00", end="02:30")
    until = quiet_until(at(NEW_YORK, 2026, 3, 7, 23, 0), quiet_hours=quiet, tz=NEW_YORK)
    assert until.astimezone(NEW_YORK).hour == 3  # 02:30 does not exist that night: 03:30 EDT (= 02:30 EST)
    assert until.astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_a_region_rule_only_adds_quiet_time_and_closed_days():
    quiet = quiet_hours_parse(
        {
            "start": "21:00",
            "end": "08:00",
            "regions": {"FR": {"start": "20:00", "end": "10:00", "closed_days": ["sun"]}},
        }
    )
    saturday_evening = at(PARIS, 2026, 6, 6, 20, 30)  # allowed by the workspace, quiet in France
    assert quiet_until(saturday_evening, quiet_hours=quiet, tz=PARIS, region="US") is None
    # Sunday is closed in France, Monday opens at 10:00 (the stricter of 08:00 and 10:00).
    assert quiet_until(saturday_evening, quiet_hours=quiet, tz=PARIS, region="FR") == at(
        PARIS, 2026, 6, 8, 10, 0
    )


@pytest.mark.parametrize(("saturday", "utc_opening", "real_hours"), [
    # 29 March 2026, a Sunday: Berlin springs forward (02:00 CET -> 03:00 CEST); Monday 08:00 CEST is 06:00 UTC.
    ((2026, 3, 28), datetime(2026, 3, 30, 6, 0, tzinfo=UTC), 33.5),
    # 25 October 2026, a Sunday: Berlin falls back (03:00 CEST -> 02:00 CET); Monday 08:00 CET is 07:00 UTC.
    ((2026, 10, 24), datetime(2026, 10, 26, 7, 0, tzinfo=UTC), 35.5),
])
def test_a_regions_closed_sunday_defers_to_monday_mornings_opening_across_the_dst_change(
    saturday, utc_opening, real_hours
):
    berlin = ZoneInfo("Europe/Berlin")
    quiet = quiet_hours_parse({"start": "21:00", "end": "08:00",
                               "regions": {"DE": {"start": None, "end": None, "closed_days": ["sun"]}}})  # fmt: skip
    moment = at(berlin, *saturday, 21, 30)  # quiet everywhere until 08:00; then Sunday, closed in Germany
    until = quiet_until(moment, quiet_hours=quiet, tz=berlin, region="DE")
    assert until == utc_opening and until.astimezone(berlin).hour == 8
    assert (until - moment).total_seconds() == real_hours * 3600  # wall-clock 34.5 hours, DST moves the real span
    # Elsewhere Sunday opens at 08:00 as usual; a region with closed days only adds no quiet hours of its own.
    assert quiet_until(moment, quiet_hours=quiet, tz=berlin, region="AT").astimezone(berlin).day == saturday[2] + 1
    assert quiet_until(at(berlin, *saturday, 12, 0), quiet_hours=quiet, tz=berlin, region="DE") is None


def test_no_quiet_time_when_start_equals_end():
    assert (
        quiet_until(at(PARIS, 2026, 6, 3, 3, 0), quiet_hours=QuietHours(start="00:00", end="00:00"), tz=PARIS)
        is None
    )


@pytest.mark.parametrize("bad", [{"start": "25:00"}, {"regions": {"france": {}}},
                                 {"regions": {"FR": {"closed_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}}},
                                 {"extra": 1}])  # fmt: skip
def test_invalid_quiet_hours_are_refused_with_details(bad):
    with pytest.raises(QuietHoursError) as caught:
        quiet_hours_parse(bad)
    assert caught.value.details
