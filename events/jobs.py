"""RQ jobs of the `events` queue. A job takes ids, re-fetches, and is safe to run twice."""

from __future__ import annotations

from datetime import datetime

from events.processing import events_process


def process_batch(event_ids: list[int], first: datetime | None = None, last: datetime | None = None) -> int:
    """Process one dispatched batch of events; return how many were handed to the engine gateway."""
    return events_process(event_ids=event_ids, first=first, last=last)
