"""The retry schedule of a delivery and the limits of an attempt (documented in docs/integrations.md).

Attempt 1 goes out at once; after a failure the next waits the delay below, +-20 % jitter (so the retries of
many deliveries failed by one outage do not arrive together), and no less than a 429's or 503's Retry-After (at
most MAX_RETRY_AFTER). 8 attempts span about 27 hours; a subscription that has failed for a day without one
success is disabled. WEBHOOKS_RETRY_DELAYS_SECONDS replaces the delays (tests, staging).

An attempt has WEBHOOKS_TIMEOUT_SECONDS (10) for the whole exchange; one that gets no answer pauses the
subscription for WEBHOOKS_NO_ANSWER_PAUSE_SECONDS (30).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings

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
# The longest wait a Retry-After obtains (a receiver asking for a day would be disabled for failing meanwhile).
MAX_RETRY_AFTER = timedelta(hours=1)
FAILING_LIMIT = timedelta(days=1)
# What is kept of an answer's body (and read of it: the rest is not even received).
BODY_KEPT_BYTES = 4096


def retry_delays() -> tuple[timedelta, ...]:
    """Return the schedule in force: WEBHOOKS_RETRY_DELAYS_SECONDS when set, else RETRY_DELAYS."""
    configured = settings.WEBHOOKS_RETRY_DELAYS_SECONDS
    return tuple(timedelta(seconds=seconds) for seconds in configured) if configured else RETRY_DELAYS


def attempt_timeout() -> float:
    """Return an attempt's deadline for connect, send and answer, in seconds (WEBHOOKS_TIMEOUT_SECONDS)."""
    return settings.WEBHOOKS_TIMEOUT_SECONDS


def no_answer_pause() -> timedelta:
    """Return how long a subscription is not called after a timeout or a refused connection (its pending
    deliveries wait), so that a hanging endpoint holds no more than the attempts already under way."""
    return timedelta(seconds=settings.WEBHOOKS_NO_ANSWER_PAUSE_SECONDS)


def retry_delay(failed_attempts: int, *, rng: random.Random | None = None) -> timedelta | None:
    """Return how long to wait after ``failed_attempts`` failed attempts of one round; None: give up."""
    delays = retry_delays()
    if failed_attempts > len(delays):
        return None
    base = delays[failed_attempts - 1]
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return timedelta(seconds=base.total_seconds() * factor)
