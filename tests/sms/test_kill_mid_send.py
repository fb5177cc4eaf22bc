"""Chaos: a real worker process killed with SIGKILL while the provider holds its hand-offs (taken, not answered).

What must hold: no SMS arrives twice, none is lost without a trace. The group the worker had claimed becomes
`unknown` after its lease (those handed over and those not: nobody can know which), is never re-sent by itself,
and every other SMS is delivered exactly once by the next worker.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction

from sms.models import SmsMessage
from sms.outbox import sms_send
from sms.recovery import sms_sweep
from tests.chaos import process_env, wait_for
from tests.factories import ContactFactory
from tests.sms.conftest import opted_in

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
COUNT = 60


def _worker(twilio, log: Path) -> subprocess.Popen:
    env = process_env(
        SMS_URL=twilio.url,
        SMS_FROM="+15005550006",
        SMS_STATUS_CALLBACKS="0",
        SMS_TIMEOUT_SECONDS="120",  # the held answers must not time out (that would be `unknown` too)
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "sms", "--worker-class", "penguinflow.common.workers.Worker", "--burst"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip



def test_a_worker_killed_mid_send_loses_and_duplicates_no_sms(
    workspace, twilio, sms_queue, settings, tmp_path
):
    contacts = [opted_in(ContactFactory(workspace=workspace), phone=f"+3361234{n:04d}") for n in range(COUNT)]
    with transaction.atomic():  # as a runtime batch stores them: one delivery job, enqueued at commit
        ids = [
            sms_send(key=f"chaos:{n}", workspace=workspace, contact=contact, text=f"message {n}").message_id
            for n, contact in enumerate(contacts)
        ]
    twilio.hold = threading.Event()  # the provider takes requests and does not answer yet

    worker = _worker(twilio, tmp_path / "worker-1.log")
    wait_for(lambda: len(twilio.messages) >= 3, what="the worker's first hand-offs")
    worker.send_signal(signal.SIGKILL)
    worker.wait(30)
    twilio.hold.set()  # the answers now go to a dead worker
    twilio.hold = None

    stuck = SmsMessage.objects.filter(status="sending").count()
    assert stuck == django_settings.SMS_CLAIM_GROUP  # the group it had claimed, handed over or not
    settings.SMS_SEND_LEASE_SECONDS = 0  # the lease is over: what the scheduler's sweep finds a while later
    assert sms_sweep().unknown == stuck
    sms_queue.empty()
    sms_queue.enqueue("sms.jobs.sms_deliver", [str(i) for i in ids])  # what a lost job's re-enqueue does
    second = _worker(twilio, tmp_path / "worker-2.log")
    assert second.wait(120) == 0, (tmp_path / "worker-2.log").read_text()[-3000:]

    arrivals = Counter(message.body for message in twilio.messages)
    assert max(arrivals.values()) == 1, "an SMS arrived twice"
    rows = {row.body: row.status for row in SmsMessage.objects.all()}
    statuses = Counter(rows.values())
    assert set(statuses) <= {"sent", "unknown"} and statuses["unknown"] == stuck
    for body, status in rows.items():
        if status == "sent":
            assert arrivals[body] == 1  # every sent SMS arrived, once
    # Every SMS either arrived or is shown as unknown (for a person to decide): none vanished.
    assert all(arrivals[body] == 1 or status == "unknown" for body, status in rows.items())
