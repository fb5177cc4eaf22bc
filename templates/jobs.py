"""RQ jobs of the email pipeline (queue "email"). They take ids and call a service; running one twice is safe."""

from __future__ import annotations


def outbox_deliver(outbox_ids: list[str]) -> dict:
    """Deliver these outbox rows (those still queued and due); return the counts."""
    from dataclasses import asdict

    from templates.services import outbox_deliver as deliver

    return asdict(deliver(outbox_ids=outbox_ids))


def outbox_sweep() -> dict:
    from dataclasses import asdict

    from templates.services import outbox_sweep as sweep

    return asdict(sweep())
