"""A delivery retry scheduled in RQ never runs before its row is due (RQ keeps whole seconds, cut down)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

from penguinflow.common.rq_schedule import not_before


def test_a_job_scheduled_for_a_fraction_of_a_second_is_not_enqueued_before_it():
    at = datetime(2026, 12, 3, 12, 0, 5, 700_000, tzinfo=UTC)
    assert calendar.timegm(at.utctimetuple()) < at.timestamp()  # what RQ would do with `at` itself
    assert calendar.timegm(not_before(at).utctimetuple()) >= at.timestamp()
    assert not_before(at) == datetime(2026, 12, 3, 12, 0, 6, tzinfo=UTC)
    whole = datetime(2026, 12, 3, 12, 0, 5, tzinfo=UTC)
    assert not_before(whole) == whole
