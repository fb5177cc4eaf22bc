"""Crashes: an enrollment whose run raised outside any step (a bug, data no step can hold).

It is run again after a backoff, and failed visibly after `MAX_CRASHES`, so that it never holds back the
others of its batch (`workflows.runtime.enrollments_advance` runs a failing batch one enrollment at a time).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from penguinflow.common.errors import storable_error_line
from penguinflow.common.states import transition
from workflows.counters import Counters, parked_waits, status_key
from workflows.engine.state import EnrollmentState
from workflows.engine.statuses import EnrollmentStatus
from workflows.models import Enrollment

logger = logging.getLogger(__name__)

# A crashing enrollment is run again after 10 s, 20 s, 40 s, 80 s, then failed (visibly, with one-click retry).
MAX_CRASHES = 5
CRASH_RETRY_BASE_SECONDS = 10


@transaction.atomic
def enrollment_crash_record(*, enrollment_id: UUID | str, lease_owner: str, error: BaseException) -> None:
    """Record that running this enrollment raised: run it again after a backoff, or fail it after `MAX_CRASHES`.

    Only while the lease is still ours (or ran out unclaimed): another owner's run is theirs to judge.
    """
    now = timezone.now()
    enrollment = (
        Enrollment.objects.select_for_update()
        .filter(pk=enrollment_id, status__in=Enrollment.LIVE_STATUSES)
        .filter(Q(lease_owner=lease_owner) | Q(lease_expires_at__lt=now))
        .first()
    )
    if enrollment is None:
        return
    crashes = enrollment.crashes + 1
    message = storable_error_line(error)
    values: dict[str, Any] = {
        "crashes": crashes, "lease_owner": "", "lease_expires_at": None, "updated_at": now,
        "error": {"type": "crash", "message": message, "node_id": enrollment.current_node_id, "crashes": crashes},
    }
    if crashes < MAX_CRASHES:
        retry_at = now + timedelta(seconds=CRASH_RETRY_BASE_SECONDS * 2 ** (crashes - 1))
        values["next_run_at"] = max(enrollment.next_run_at or retry_at, retry_at)
        Enrollment.objects.filter(pk=enrollment.pk).update(**values)
        logger.warning("Enrollment %s crashed (%d of %d), run again at %s: %s", enrollment.pk, crashes,
                       MAX_CRASHES, retry_at.isoformat(), message)
        return
    _fail_crashed(enrollment, values, now)
    logger.error("Enrollment %s failed after %d crashes: %s", enrollment.pk, crashes, message)


def _fail_crashed(enrollment: Enrollment, values: dict[str, Any], now: datetime) -> None:
    counters = Counters()
    counters.add(enrollment.version_id, status_key(enrollment.status), -1)
    counters.add(enrollment.version_id, status_key(EnrollmentStatus.FAILED), 1)
    extra = {**values, "next_run_at": None, "finished_at": now}
    context = _failed_context(enrollment, values["error"]["message"], now, counters)
    if context is not None:
        extra["context"] = context
    transition(enrollment, to=Enrollment.Status.FAILED, allowed=Enrollment.TRANSITIONS, extra=extra)
    counters.flush()


def _failed_context(enrollment: Enrollment, message: str, now: datetime, counters: Counters) -> dict | None:
    """Return the stored state, failed with ``message``; None when it cannot be read or fail (it may be what
    crashed the run: then it stays as it is, for a person to read)."""
    try:
        state = EnrollmentState.from_dict(enrollment.context)
        parked = parked_waits(state)
        state.move_to(EnrollmentStatus.FAILED)
    except Exception:
        return None
    for wait in parked:
        counters.add(enrollment.version_id, f"node.{wait.node_id}.waiting", -1)
    state.error, state.finished_at, state.wait, state.branches = message, now, None, {}
    return state.to_dict()

