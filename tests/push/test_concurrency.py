"""Two workers sending the same step's push at the same moment: one stores it, the other finds it (the contact's
row lock orders them), and the browser gets one message."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from push.models import PushMessage
from push.outbox import Notification, push_send
from tests.factories import ContactFactory
from tests.push.conftest import subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_key_sent_twice_at_once_is_stored_once(workspace, push_service, push_queue, run_push_jobs):
    contact = ContactFactory(workspace=workspace)
    subscribe(workspace, contact, push_service.browser())
    start, outcomes = threading.Barrier(2), []

    def send() -> None:
        try:
            start.wait(10)
            result = push_send(
                key="enr-1:n1:1",
                workspace=workspace,
                contact=contact,
                notification=Notification(title="Once"),
            )
            outcomes.append(result.outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    run_push_jobs()

    assert sorted(outcomes) == ["exists", "queued"]
    assert PushMessage.objects.count() == 1 and len(push_service.received) == 1
