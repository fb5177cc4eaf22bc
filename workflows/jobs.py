"""RQ jobs of the runtime: they take ids, re-fetch, call a service, and are safe to run twice."""

from __future__ import annotations

from datetime import datetime

from workflows.runtime import enrollments_advance


def execute_batch(enrollment_ids: list[str], lease_owner: str, now: str | None = None) -> dict:
    """Run a claimed batch forward; enrollments no longer leased to `lease_owner` are skipped quietly.

    `now` (ISO 8601) pins the clock; the scheduler passes it only when it runs on an injected clock (tests).
    """
    report = enrollments_advance(
        enrollment_ids=enrollment_ids,
        lease_owner=lease_owner,
        now=datetime.fromisoformat(now) if now else None,
    )
    return {"ran": report.ran, "steps": report.steps, "held": report.held}
