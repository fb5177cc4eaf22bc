"""RQ jobs of queue "sms": they take ids, re-read the rows, and are safe to run twice."""

from __future__ import annotations

from dataclasses import asdict

from sms import delivery, recovery


def sms_deliver(sms_ids: list[str]) -> dict:
    """Deliver these SMS (those still queued and due); return the counts."""
    return asdict(delivery.sms_deliver(sms_ids=sms_ids))


def sms_sweep() -> dict:
    return asdict(recovery.sms_sweep())
