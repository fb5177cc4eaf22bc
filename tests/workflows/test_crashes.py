"""An enrollment that cannot run never holds back the others: run again after a backoff, then failed visibly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish
from workflows.crashes import CRASH_RETRY_BASE_SECONDS, MAX_CRASHES
from workflows.enrollment_starts import Entry, enrollments_start
from workflows.live_versions import published_version_of
from workflows.models import Enrollment
from workflows.runtime import enrollments_advance
from workflows.scheduler import enrollments_claim_due
from workflows.services import enrollment_retry


@pytest.fixture
def enrollments(workspace):
    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "ran"})],
                       chain("t", "a"))
    contacts = [ContactFactory(workspace=workspace) for _ in range(4)]
    enrollments_start(version=published_version_of(workflow),
                      entries=[Entry(contact_id=c.pk, trigger_node_id="t") for c in contacts])
    return list(Enrollment.objects.filter(workflow=workflow).order_by("pk"))


def _poison(enrollment: Enrollment) -> None:
    """Stored state no reader can load (as a bug in an older version could leave): running it raises."""
    Enrollment.objects.filter(pk=enrollment.pk).update(context={**enrollment.context, "entered_at": "not a time"})


def _claim_and_run(now) -> list[str]:
    owner = f"test-{now.timestamp()}"
    ids = enrollments_claim_due(limit=100, owner=owner, now=now)
    enrollments_advance(enrollment_ids=ids, lease_owner=owner, now=now)
    return [str(i) for i in ids]


def test_one_crashing_enrollment_does_not_hold_back_its_batch(enrollments):
    poison, *healthy = enrollments
    _poison(poison)
    now = timezone.now()
    assert len(_claim_and_run(now)) == 4
    assert {e.status for e in Enrollment.objects.filter(pk__in=[e.pk for e in healthy])} == {"completed"}
    poison.refresh_from_db()
    assert poison.status == "active" and poison.crashes == 1 and poison.lease_owner == ""
    assert poison.error["type"] == "crash" and "not a time" in poison.error["message"]
    assert poison.next_run_at >= now + timedelta(seconds=CRASH_RETRY_BASE_SECONDS)


def test_a_crashing_enrollment_is_run_again_with_backoff_then_failed_and_can_be_retried(enrollments):
    poison = enrollments[0]
    readable_context = dict(poison.context)
    Enrollment.objects.exclude(pk=poison.pk).delete()
    _poison(poison)
    now = timezone.now()
    for crash in range(1, MAX_CRASHES + 1):
        assert _claim_and_run(now) == [str(poison.pk)], f"crash {crash}: not claimed"
        poison.refresh_from_db()
        assert poison.crashes == crash
        if crash < MAX_CRASHES:
            assert _claim_and_run(now) == [], "claimed again before its backoff ran out"
            now = poison.next_run_at + timedelta(seconds=1)
    assert poison.status == "failed" and poison.next_run_at is None and poison.finished_at is not None
    assert poison.error["crashes"] == MAX_CRASHES
    assert _claim_and_run(now + timedelta(days=1)) == []

    Enrollment.objects.filter(pk=poison.pk).update(context=readable_context)  # the bug is fixed
    enrollment_retry(enrollment=poison)
    poison.refresh_from_db()
    assert poison.crashes == 0
    _claim_and_run(timezone.now() + timedelta(seconds=1))
    poison.refresh_from_db()
    assert poison.status == "completed"
