"""End to end over real HTTP both ways: the SMS goes to the Twilio stand-in, which posts its signed status
callbacks back to a live PenguinFlow server; the message ends `delivered` with one sms.sent and one sms.delivered."""

from __future__ import annotations

import pytest

from events.models import Event
from sms.delivery import sms_deliver
from sms.models import SmsMessage
from sms.outbox import sms_send
from tests.chaos import wait_for

pytestmark = pytest.mark.django_db(transaction=True)



def test_the_providers_signed_callbacks_come_back_and_settle_the_sms(
    live_server, workspace, contact, twilio, settings, sms_queue
):
    settings.PUBLIC_BASE_URL = live_server.url
    twilio.callbacks = ("sent", "delivered")
    result = sms_send(key="e2e:s1:1", workspace=workspace, contact=contact, text="Your code is 4321")

    sms_deliver(sms_ids=[result.message_id])

    wait_for(lambda: len(twilio.callbacks_posted) == 2, what=f"two callbacks ({twilio.callbacks_posted})")
    assert SmsMessage.objects.get(pk=result.message_id).status == "delivered"
    assert [(status, answer) for _, status, answer in twilio.callbacks_posted] == [
        ("sent", 204),
        ("delivered", 204),
    ]
    assert twilio.callbacks_posted[0][0] == f"{live_server.url}/hooks/sms/twilio/status?m={result.message_id}"
    types = sorted(
        Event.objects.filter(contact_id=contact.pk, type__startswith="sms.").values_list("type", flat=True)
    )
    assert types == ["sms.delivered", "sms.sent"]
    assert len(twilio.messages) == 1
