"""Delivery of outbox rows: the lanes this process keeps between jobs, the wait before a retry, and each
workspace's per-minute rate.
"""

from __future__ import annotations

import atexit
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import django_rq

from templates.lanes import KeptLanes, Lanes

kept_lanes = KeptLanes()
atexit.register(kept_lanes.close)
os.register_at_fork(after_in_child=kept_lanes.forget)


@contextmanager
def job_lanes(connection=None) -> Iterator[Lanes]:
    """The lanes of one delivery job: kept ones (see KeptLanes), or one lane over the caller's `connection`."""
    if connection is not None:
        lanes = Lanes(connection)
        try:
            yield lanes
        finally:
            lanes.close()
        return
    lanes = kept_lanes.take()
    try:
        yield lanes
    except BaseException:
        lanes.close()  # a conversation may have been cut anywhere: never hand such connections to a next job
        raise
    kept_lanes.give_back(lanes)


def backoff(attempts: int) -> timedelta:
    """Return the wait before attempt `attempts + 1`: 30 s doubling, at most an hour, with ±20 % jitter."""
    base = min(30 * 2 ** max(0, attempts - 1), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


@dataclass(frozen=True)
class RateDecision:
    allowed: int
    retry_at: datetime | None


def rate_take(*, workspace_id, limit: int, count: int, now: datetime) -> RateDecision:
    """Take up to `count` sends from the workspace's per-minute budget, shared by all workers through Redis.

    A fixed one-minute window: INCRBY is atomic, so two workers cannot both take the last slot. Losing the
    counters (a Redis flush) only forgets how many were sent this minute: no message lives here.
    """
    if limit <= 0 or count <= 0:
        return RateDecision(allowed=0 if limit <= 0 else count, retry_at=None if count <= 0 else _next_window(now))
    window = int(now.timestamp() // 60)
    key = f"pf:email:rate:{workspace_id}:{window}"
    pipe = django_rq.get_connection("email").pipeline()
    pipe.incrby(key, count)
    pipe.expire(key, 120)
    total, _ = pipe.execute()
    before = int(total) - count
    allowed = max(0, min(count, limit - before))
    return RateDecision(allowed=allowed, retry_at=None if allowed == count else _next_window(now))


def _next_window(now: datetime) -> datetime:
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return start + timedelta(milliseconds=random.randint(0, 5000))
