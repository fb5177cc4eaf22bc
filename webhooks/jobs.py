"""RQ jobs of the `webhooks` queue. A job takes ids, re-fetches, and is safe to run twice."""

from __future__ import annotations

from datetime import datetime

from webhooks.attempts import attempts_load
from webhooks.sending import process_sender


def deliver_batch(delivery_ids: list[str], claimed_until: datetime) -> int:
    """Attempt the deliveries of one claimed batch that are still pending and still under this claim."""
    items = attempts_load(delivery_ids=delivery_ids, claimed_until=claimed_until)
    return process_sender().run(items) if items else 0
