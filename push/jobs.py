"""RQ jobs of web push (queue "push"): they take ids, re-fetch, and are safe to run twice."""

from __future__ import annotations

from push.delivery import push_deliver as _deliver


def push_deliver(message_ids: list[str]) -> dict:
    report = _deliver(message_ids=message_ids)
    return {
        "sent": report.sent,
        "retried": report.retried,
        "failed": report.failed,
        "gone": report.gone,
        "unknown": report.unknown,
        "skipped": report.skipped,
    }
