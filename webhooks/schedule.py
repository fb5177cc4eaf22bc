"""The retry schedule of a delivery and the limits of an attempt (documented in docs/integrations.md).

Attempt 1 goes out at once; after a failure the next waits the delay below, +-20 % jitter (so the retries of
many deliveries failed by one outage do not arrive together). 8 attempts span about 27 hours; a subscription
that has failed for a day without one success is disabled.
"""

from __future__ import annotations

import random
from datetime import timedelta

# After attempt n (1-based) fails, attempt n+1 waits RETRY_DELAYS[n-1].
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2
FAILING_LIMIT = timedelta(days=1)
# After a timeout or a refused connection the subscription is not called for this long (its pending deliveries
# wait), so a hanging endpoint holds no more than the attempts already under way.
BLOCK_AFTER_NO_ANSWER = timedelta(seconds=30)
TIMEOUT_SECONDS = 10
# What is kept of an answer's body (and read of it: the rest is not even received).
BODY_KEPT_BYTES = 4096


def retry_delay(failed_attempts: int, *, rng: random.Random | None = None) -> timedelta | None:
    """Return how long to wait after ``failed_attempts`` failed attempts of one round; None: give up."""
    if failed_attempts >= MAX_ATTEMPTS:
        return None
    base = RETRY_DELAYS[failed_attempts - 1]
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return timedelta(seconds=base.total_seconds() * factor)
