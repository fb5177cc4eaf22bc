"""PostgreSQL drops the connection that is to record an email just as the mail server takes it
(`pg_terminate_backend`, as an administrator, a failover or a restart does): the record is written again on a new
connection, so the email is recorded sent once, and a job run again hands nothing over a second time."""

from __future__ import annotations

import pytest

from events.models import Event
from templates.delivery import outbox_deliver
from templates.models import OutboxMessage
from templates.outbox import email_send
from tests.chaos import backend_pid, connection_dropped_when

pytestmark = pytest.mark.django_db(transaction=True)  # the connection is really dropped: no test transaction


def test_an_email_whose_connection_drops_as_the_server_takes_it_is_recorded_sent_once_and_sent_once(
    workspace, contact, template, smtp, email_queue
):
    result = email_send(key="drop:e1:1", workspace=workspace, contact=contact, template=template,
                        context={"event": {"type": "contact.created"}})  # fmt: skip

    with connection_dropped_when(accepted_by=smtp.recorder) as dropped:
        report = outbox_deliver(outbox_ids=[result.message_id])

    assert len(dropped) == 1 and backend_pid() != dropped[0]  # recorded on a new connection
    assert (report.sent, report.unknown) == (1, 0)
    row = OutboxMessage.objects.get(pk=result.message_id)
    assert (row.status, row.attempts) == ("sent", 1)
    assert outbox_deliver(outbox_ids=[result.message_id]).sent == 0  # the job run again: nothing left to hand over
    assert len(smtp.messages) == 1
    assert Event.objects.filter(contact_id=contact.pk, type="email.sent").count() == 1
