"""The sweep every outbox (email, SMS, push) runs: rows stuck in `sending` past their lease become `unknown`
(their worker died between claim and record: maybe sent, so never re-sent blindly), and queued rows due for
longer than a grace period (their delivery job was lost: Redis flushed, an enqueue failed) are made due again
and returned for the caller to enqueue. A duplicate job is harmless: every claim is conditional.

The outbox model is a parameter (this package imports no app); its table needs the columns `id`, `status`,
`claimed_at`, `next_attempt_at`, `updated_at` and `error`, and its `Status` the values sending, unknown and queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

LOST_LIMIT = 10_000  # queued rows re-enqueued per sweep; the next sweep takes the rest

# Both statements skip rows another transaction holds (a delivery claiming or recording them), so the sweep
# never waits for a row lock. It reads rows through the (status, next_attempt_at) index while delivery locks
# them by id: were it to wait, the two would lock the same rows in opposite orders and deadlock, and a failed
# sweep re-enqueues nothing. A row it skipped is busy now; the next sweep sees it again.
_STALE_SQL = """
UPDATE {table} SET status = %(unknown)s, updated_at = %(now)s, error = %(error)s
WHERE id IN (SELECT id FROM {table} WHERE status = %(sending)s AND claimed_at < %(lease)s
             FOR NO KEY UPDATE SKIP LOCKED)
  AND status = %(sending)s
"""
_LOST_SQL = """
UPDATE {table} SET next_attempt_at = %(touched)s, updated_at = %(now)s
WHERE id IN (SELECT id FROM {table} WHERE status = %(queued)s AND next_attempt_at < %(lost_before)s
             ORDER BY next_attempt_at LIMIT %(limit)s FOR NO KEY UPDATE SKIP LOCKED)
  AND status = %(queued)s
RETURNING id
"""


@dataclass(frozen=True)
class SweepReport:
    unknown: int
    requeued: int


@dataclass(frozen=True)
class SweepResult:
    """What one sweep changed: how many rows became `unknown`, and the ids of the lost rows, due again now."""

    unknown: int
    lost_ids: list[str]


def sweep_outbox(*, model, now: datetime, lease_seconds: int, grace_seconds: int, what: str) -> SweepResult:
    """Mark `model`'s rows in `sending` claimed before `now - lease_seconds` as `unknown`, and make queued rows
    due since before `now - grace_seconds` due again (never later than the real now, and not "lost" again for
    another grace period); return both. `what` names a message in the error text ("the SMS")."""
    status = model.Status
    assert status.UNKNOWN in model.TRANSITIONS[status.SENDING]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(_STALE_SQL.format(table=table), {
            "unknown": str(status.UNKNOWN), "sending": str(status.SENDING), "now": now,
            "lease": now - timedelta(seconds=lease_seconds),
            "error": f"The worker stopped between hand-off and record: {what} may have been sent. Not re-sent.",
        })  # fmt: skip
        unknown = cursor.rowcount
        cursor.execute(_LOST_SQL.format(table=table), {
            "queued": str(status.QUEUED), "touched": min(now, timezone.now()), "now": now,
            "lost_before": now - timedelta(seconds=grace_seconds), "limit": LOST_LIMIT,
        })  # fmt: skip
        lost = [str(pk) for (pk,) in cursor.fetchall()]
    return SweepResult(unknown=unknown, lost_ids=lost)


def count_stuck(*, model, now: datetime, lease_seconds: int, grace_seconds: int) -> SweepReport:
    """What `sweep_outbox` would change now, without changing it (a dry run)."""
    status = model.Status
    return SweepReport(
        unknown=model.objects.filter(status=status.SENDING,
                                     claimed_at__lt=now - timedelta(seconds=lease_seconds)).count(),
        requeued=model.objects.filter(status=status.QUEUED,
                                      next_attempt_at__lt=now - timedelta(seconds=grace_seconds)).count(),
    )  # fmt: skip
