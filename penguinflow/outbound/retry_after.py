"""Reading the wait another service asks for in a Retry-After header (a 429's or 503's), for every caller that
retries: workflow steps (webhook, http_request, CRM) and channel deliveries (SMS, web push)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


def retry_after_of(value: str | None, *, cap: timedelta, now: datetime | None = None) -> timedelta | None:
    """Read a Retry-After header (seconds, or an HTTP date), at most `cap`; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(int(value.strip()))  # a negative count reads as no wait at all
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(timedelta(seconds=max(seconds, 0)), cap)
