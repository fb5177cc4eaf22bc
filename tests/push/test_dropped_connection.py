"""PostgreSQL drops the connection that is to record a push message just as the push service takes it
(`pg_terminate_backend`, as an administrator, a failover or a restart does): the record is written again on a new
connection, so the message is recorded sent once, and a job run again hands nothing over a second time."""

from __future__ import annotations

import pytest

from events.models import Event
from push.delivery import push_deliver
from push.models import PushMessage
from push.outbox import Notification, push_send
from tests.chaos import backend_pid, connection_dropped_when
from tests.push.conftest import subscribe

pytestmark = pytest.mark.django_db(transaction=True)  # the connection is really dropped: no test transaction


def test_a_push_whose_connection_drops_as_the_service_takes_it_is_recorded_sent_once_and_sent_once(
    workspace, contact, push_service, push_queue
):
    browser = push_service.browser()
    subscribe(workspace, contact, browser)
    result = push_send(key="drop:n1:1", workspace=workspace, contact=contact,
                       notification=Notification(title="Hello Ada", body="Your plan is ready."))  # fmt: skip

    with connection_dropped_when(accepted_by=push_service) as dropped:
        report = push_deliver(message_ids=[result.message_id])

    assert len(dropped) == 1 and backend_pid() != dropped[0]  # recorded on a new connection
    assert (report.sent, report.unknown) == (1, 0)
    row = PushMessage.objects.get(pk=result.message_id)
    assert (row.status, row.response_status, row.attempts) == ("sent", 201, 1)
    assert push_deliver(message_ids=[result.message_id]).sent == 0  # the job run again: nothing left to hand over
    assert [message.payload["id"] for message in push_service.messages_for(browser)] == [str(row.pk)]
    assert Event.objects.filter(contact_id=contact.pk, type="push.sent").count() == 1
