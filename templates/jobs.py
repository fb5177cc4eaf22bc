"""RQ jobs of the email pipeline (queue "email"). They take ids and call a service; running one twice is safe."""

from __future__ import annotations

from dataclasses import asdict

from templates import delivery, recovery


def outbox_deliver(outbox_ids: list[str]) -> dict:
    """Deliver these outbox rows (those still queued and due); return the counts."""
    return asdict(delivery.outbox_deliver(outbox_ids=outbox_ids))


def outbox_sweep() -> dict:
    return asdict(recovery.outbox_sweep())
