"""kill -9 mid-send: a real worker process (rqworker, SimpleWorker) is killed while the push service holds the
answers to the messages it has received. No message is lost (each is sent, or `unknown` and shown), none arrives
twice: the sweep marks the claimed ones `unknown` and never re-sends them by itself; the rest are delivered by
the next worker; an operator's deliberate resend of those that did not arrive delivers each exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from push.models import PushMessage
from push.outbox import Notification, push_send
from push.recovery import push_resend, push_sweep
from tests.chaos import process_env, wait_for
from tests.factories import ContactFactory
from tests.push.conftest import subscribe

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 80
IN_FLIGHT = 4



def _worker(push_service, log) -> subprocess.Popen:
    env = process_env(
        OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
        PUSH_CA_CERTS=push_service.ca_file,
        PUSH_SENDER_THREADS=str(IN_FLIGHT),
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "push", "--worker-class", "penguinflow.common.workers.Worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def test_a_worker_killed_mid_send_loses_and_duplicates_no_push(
    workspace, push_service, push_queue, run_push_jobs, tmp_path
):
    contacts = [ContactFactory(workspace=workspace) for _ in range(MESSAGES)]
    for contact in contacts:
        subscribe(workspace, contact, push_service.browser())
    push_service.hold = threading.Event()  # messages arrive; their answers wait
    with transaction.atomic():  # as a runtime batch does: one delivery job for all of them, after commit
        for n, contact in enumerate(contacts):
            push_send(
                key=f"enr-{n}:n1:1",
                workspace=workspace,
                contact=contact,
                notification=Notification(title=f"Message {n}", body="Hello"),
            )
    with (tmp_path / "worker.log").open("wb") as log:
        worker = _worker(push_service, log)
        try:
            wait_for(lambda: len(push_service.received) >= IN_FLIGHT, what="the first messages to arrive")
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        finally:
            if worker.poll() is None:
                worker.kill()
    push_service.hold.set()
    arrived_before = Counter(message.payload["id"] for message in push_service.received)
    assert len(arrived_before) == IN_FLIGHT, (tmp_path / "worker.log").read_text()[-3000:]
    assert PushMessage.objects.filter(
        status="sending"
    ).exists()  # claimed, handed over or not, never recorded

    # The scheduler's sweep, once the lease is over: claimed rows → unknown; queued rows whose job died → enqueued.
    report = push_sweep(now=timezone.now() + timedelta(hours=1), grace_seconds=0)
    run_push_jobs()
    push_sweep(now=timezone.now() + timedelta(hours=1), grace_seconds=0)
    run_push_jobs()

    statuses = Counter(PushMessage.objects.values_list("status", flat=True))
    arrived = Counter(message.payload["id"] for message in push_service.received)
    assert report.unknown == statuses["unknown"] == 50  # the claimed group (push.delivery.GROUP)
    assert report.requeued == MESSAGES - 50
    assert statuses["sent"] + statuses["unknown"] == MESSAGES  # nothing lost: each one sent, or shown unknown
    assert max(arrived.values()) == 1  # nothing twice
    unknown = {str(pk) for pk in PushMessage.objects.filter(status="unknown").values_list("pk", flat=True)}
    sent = {str(pk) for pk in PushMessage.objects.filter(status="sent").values_list("pk", flat=True)}
    assert sent <= set(arrived) and set(arrived_before) <= unknown
    assert unknown.isdisjoint(set(arrived) - set(arrived_before))  # an unknown row is never re-sent by itself

    # What an operator does: resend the unknown ones that never arrived (the others did: leave them).
    for message in PushMessage.objects.filter(status="unknown").exclude(pk__in=list(arrived_before)):
        push_resend(message=message)
    run_push_jobs()

    final = Counter(message.payload["id"] for message in push_service.received)
    assert len(final) == MESSAGES and set(final.values()) == {1}
