"""PostgreSQL drops the connection that is to record an SMS just as the provider takes it (`pg_terminate_backend`,
as an administrator, a failover or a restart does): the record is written again on a new connection, so the SMS
is recorded sent once, and a job run again hands nothing over a second time."""

from __future__ import annotations

import pytest

from events.models import Event
from sms.delivery import sms_deliver
from sms.models import SmsMessage
from sms.outbox import sms_send
from tests.chaos import backend_pid, connection_dropped_when

pytestmark = pytest.mark.django_db(transaction=True)  # the connection is really dropped: no test transaction


def test_an_sms_whose_connection_drops_as_the_provider_takes_it_is_recorded_sent_once_and_sent_once(
    workspace, contact, twilio, sms_queue
):
    result = sms_send(key="drop:s1:1", workspace=workspace, contact=contact, text="Your code is 4321")

    with connection_dropped_when(accepted_by=twilio) as dropped:
        report = sms_deliver(sms_ids=[result.message_id])

    assert len(dropped) == 1 and backend_pid() != dropped[0]  # recorded on a new connection
    assert (report.sent, report.unknown) == (1, 0)
    (received,) = twilio.messages
    row = SmsMessage.objects.get(pk=result.message_id)
    assert (row.status, row.provider_sid, row.attempts) == ("sent", received.sid, 1)
    assert sms_deliver(sms_ids=[result.message_id]).sent == 0  # the job run again: nothing left to hand over
    assert len(twilio.messages) == 1
    assert Event.objects.filter(contact_id=contact.pk, type="sms.sent").count() == 1
