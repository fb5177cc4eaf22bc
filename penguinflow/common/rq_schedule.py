"""When to schedule an RQ job so that it does not run before a moment."""

from __future__ import annotations

from datetime import datetime, timedelta


def not_before(at: datetime) -> datetime:
    """Return `at` rounded up to the whole second, for `queue.enqueue_at`.

    RQ scores a scheduled job by its time in whole seconds, cut down (`calendar.timegm(utctimetuple())`): a job
    for 12:00:05.7 is enqueued from 12:00:05.0 on. A delivery job that runs before its row's `next_attempt_at`
    finds the row not due and leaves it, and the row then waits for the sweep (minutes) instead of its backoff.
    """
    return at if at.microsecond == 0 else at.replace(microsecond=0) + timedelta(seconds=1)
