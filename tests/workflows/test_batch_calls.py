"""A batch's inline calls (webhook, http_request) against real local receivers: a receiver that hangs is called
once per batch and the batch's other steps to it wait without spending an attempt; a batch whose calls took
WORKFLOW_BATCH_CALL_SECONDS starts no more; another receiver in the same batch is still called; every deferred
step later runs exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from penguinflow.workspaces.services import signing_secret_rotate
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.webhook_receiver import Answer, receiver_server
from tests.workflows.builders import publish, run_due
from workflows.models import Enrollment, StepRun

# Each contact's step calls the receiver its `hook` field names, on a path of its own.
URL = "http://{{ contact.fields.hook }}/c/{{ contact.id }}"


@pytest.fixture
def receivers(settings, workspace):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    signing_secret_rotate(workspace=workspace)
    hang = threading.Event()
    with receiver_server() as hanging, receiver_server() as healthy:
        hanging.answer(Answer(hold=hang))
        yield hanging, healthy, hang
        hang.set()  # lets the held server thread go


def _enrolled(api, workspace, node_type: str, count: int) -> list[Enrollment]:
    config = {"url": URL, "timeout_s": 1}
    workflow = publish(workspace, [node("t", "trigger_manual"), node("h", node_type, config)], chain("t", "h"))
    contacts = [ContactFactory(workspace=workspace, fields={"hook": "unset"}) for _ in range(count)]
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll",
                        {"contacts": [{"id": str(c.pk)} for c in contacts]}, format="json")
    assert response.status_code == 202, response.content
    # A batch runs its enrollments in id order (`workflows.runtime`): the tests give hooks in that order.
    return list(Enrollment.objects.filter(workflow=workflow).order_by("pk"))


def _hook(enrollment: Enrollment, receiver) -> None:
    Contact.objects.filter(pk=enrollment.contact_id).update(fields={"hook": receiver.url.removeprefix("http://")})


def _calls(receiver) -> Counter:
    return Counter(request.path.removeprefix("/c/") for request in receiver.requests)


def _steps(enrollment: Enrollment) -> list[tuple[str, int]]:
    return list(StepRun.objects.filter(enrollment=enrollment, node_id="h").order_by("sequence")
                .values_list("status", "attempt"))


def _deferred(enrollment: Enrollment, *, start, pause: timedelta, says: str) -> None:
    enrollment.refresh_from_db()
    # The pause counts from when the call was held back: after the batch's start, and no later than now.
    assert enrollment.status == "waiting" and start + pause <= enrollment.next_run_at <= timezone.now() + pause
    assert enrollment.context["attempt"] == 0
    (step,) = StepRun.objects.filter(enrollment=enrollment, node_id="h")
    assert (step.status, step.attempt, step.detail["call_deferred"]) == ("waiting", 1, True)
    assert says in step.detail["reason"]


def test_a_hanging_receiver_is_called_once_per_batch_and_another_receiver_still_is(api, workspace, receivers):
    hanging, healthy, hang = receivers
    enrollments = _enrolled(api, workspace, "webhook", 5)
    to_hanging, to_healthy = enrollments[0::2], enrollments[1::2]  # the healthy ones come after the hanging one
    for enrollment in to_hanging:
        _hook(enrollment, hanging)
    for enrollment in to_healthy:
        _hook(enrollment, healthy)
    start = timezone.now()

    run_due(now=start)

    assert len(hanging.requests) == 1
    first, *deferred = to_hanging
    assert _calls(hanging) == {str(first.contact_id): 1}
    assert _steps(first) == [("failed", 1)]  # the one that tried: a failure, retried per the policy
    for enrollment in deferred:
        _deferred(enrollment, start=start, pause=timedelta(seconds=30), says="gave no answer earlier in this batch")
    assert _calls(healthy) == {str(e.contact_id): 1 for e in to_healthy}
    assert {Enrollment.objects.get(pk=e.pk).status for e in to_healthy} == {"completed"}

    hang.set()
    hanging.answer(Answer())
    run_due(now=start + timedelta(hours=1))

    assert {Enrollment.objects.get(pk=e.pk).status for e in enrollments} == {"completed"}
    assert _calls(hanging) == {str(first.contact_id): 2, **{str(e.contact_id): 1 for e in deferred}}
    assert _calls(healthy) == {str(e.contact_id): 1 for e in to_healthy}
    for enrollment in deferred:
        assert _steps(enrollment) == [("waiting", 1), ("succeeded", 1)]


def test_a_batch_whose_calls_took_their_time_starts_no_more(api, workspace, receivers, settings):
    _, healthy, _ = receivers
    settings.WORKFLOW_BATCH_CALL_SECONDS = 0.1
    # The first answer takes longer than the batch's time for calls; the others are quick.
    healthy.answer(Answer(delay=0.3), Answer())
    enrollments = _enrolled(api, workspace, "webhook", 3)
    for enrollment in enrollments:
        _hook(enrollment, healthy)
    start = timezone.now()

    run_due(now=start)

    first, *deferred = enrollments
    assert _calls(healthy) == {str(first.contact_id): 1}
    assert _steps(first) == [("succeeded", 1)]
    for enrollment in deferred:
        _deferred(enrollment, start=start, pause=timedelta(seconds=1), says="this batch spent its 0.1 s for calls")

    settings.WORKFLOW_BATCH_CALL_SECONDS = 60
    run_due(now=start + timedelta(minutes=1))

    assert {Enrollment.objects.get(pk=e.pk).status for e in enrollments} == {"completed"}
    assert _calls(healthy) == {str(e.contact_id): 1 for e in enrollments}
    analytics = api.get(f"/api/v1/workflows/{enrollments[0].workflow_id}/analytics").json()
    assert analytics["nodes"]["h"] == {"entered": 3, "succeeded": 3, "failed": 0, "waiting_now": 0,
                                       "goal_reached": 0}


def test_http_request_steps_to_a_hanging_receiver_wait_too(api, workspace, receivers):
    hanging, _, _ = receivers
    enrollments = _enrolled(api, workspace, "http_request", 2)
    for enrollment in enrollments:
        _hook(enrollment, hanging)
    start = timezone.now()

    run_due(now=start)

    first, second = enrollments
    assert _calls(hanging) == {str(first.contact_id): 1}
    _deferred(second, start=start, pause=timedelta(seconds=30), says="gave no answer earlier in this batch")


def test_a_batch_run_again_one_by_one_does_not_call_the_hanging_receiver_again(api, workspace, receivers):
    hanging, _, _ = receivers
    *to_hanging, poison = _enrolled(api, workspace, "webhook", 4)
    for enrollment in to_hanging:
        _hook(enrollment, hanging)
    # State no reader can load, last in the batch: the batch raises after its call, rolls back, and runs again
    # one enrollment at a time (`workflows.runtime.enrollments_advance`), in the same job.
    Enrollment.objects.filter(pk=poison.pk).update(context={**poison.context, "entered_at": "not a time"})
    start = timezone.now()

    run_due(now=start, rounds=1)

    assert len(hanging.requests) == 1
    for enrollment in to_hanging:
        _deferred(enrollment, start=start, pause=timedelta(seconds=30), says="gave no answer earlier in this batch")
