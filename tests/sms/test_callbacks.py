"""The provider's callbacks: signed status changes become sms.sent/delivered/failed once each (a repeat changes
nothing, a forged one is refused with 403); inbound messages become sms.received, STOP withdraws SMS consent and
START restores it, with proof."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from bench._twilio import twilio_sign
from contacts.models import ConsentRecord, Contact
from events.models import Event
from sms.models import SmsMessage
from sms.outbox import sms_send
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

STATUS_URL = "http://testserver/hooks/sms/twilio/status"
INBOUND_URL = "http://testserver/hooks/sms/twilio/inbound"


def post_signed(client, twilio, url: str, params: dict, *, signature: str | None = None):
    signed = twilio_sign(twilio.auth_token, url, params.items()) if signature is None else signature
    return client.post(
        url.removeprefix("http://testserver"),
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signed,
    )


@pytest.fixture
def sent_row(workspace, contact, twilio, run_sms_jobs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = sms_send(key="e:s1:1", workspace=workspace, contact=contact, text="Hello", node_id="s1")
    run_sms_jobs()
    return SmsMessage.objects.get(pk=result.message_id)


def _status(row, status: str, **extra) -> dict:
    return {"MessageSid": row.provider_sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, **extra}


def test_a_delivered_callback_records_sms_delivered_once_however_often_it_comes(client, twilio, sent_row):
    url = f"{STATUS_URL}?m={sent_row.pk}"

    for _ in range(3):
        assert post_signed(client, twilio, url, _status(sent_row, "delivered")).status_code == 204

    sent_row.refresh_from_db()
    assert sent_row.status == "delivered" and sent_row.delivered_at is not None
    (delivered,) = Event.objects.filter(type="sms.delivered")
    assert delivered.properties["message_id"] == str(sent_row.pk) and delivered.source == "esp"
    # The provider's own "sent" is the same event as the one the hand-off recorded: still one sms.sent.
    assert post_signed(client, twilio, url, _status(sent_row, "sent")).status_code == 204
    assert Event.objects.filter(type="sms.sent").count() == 1
    assert SmsMessage.objects.get(pk=sent_row.pk).status == "delivered"  # never back


def test_an_undelivered_callback_records_sms_failed_with_the_error_code(client, twilio, sent_row):
    response = post_signed(
        client, twilio, f"{STATUS_URL}?m={sent_row.pk}", _status(sent_row, "undelivered", ErrorCode="30003")
    )

    assert response.status_code == 204
    assert SmsMessage.objects.get(pk=sent_row.pk).status == "failed"
    assert Event.objects.get(type="sms.failed").properties["error_code"] == "30003"


def test_a_callback_settles_an_unknown_sms_without_sending_it_again(client, twilio, sent_row):
    SmsMessage.objects.filter(pk=sent_row.pk).update(status="unknown", provider_sid=None)
    params = _status(sent_row, "sent")

    assert post_signed(client, twilio, f"{STATUS_URL}?m={sent_row.pk}", params).status_code == 204

    row = SmsMessage.objects.get(pk=sent_row.pk)
    assert (row.status, row.provider_sid) == ("sent", params["MessageSid"])
    assert len(twilio.messages) == 1


@pytest.mark.parametrize("signature", ["", "bm9wZQ==", "forged"])
def test_a_callback_not_signed_with_the_auth_token_is_refused_and_changes_nothing(
    client, twilio, sent_row, signature
):
    response = post_signed(
        client, twilio, f"{STATUS_URL}?m={sent_row.pk}", _status(sent_row, "delivered"), signature=signature
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert SmsMessage.objects.get(pk=sent_row.pk).status == "sent"
    assert not Event.objects.filter(type="sms.delivered").exists()


def test_a_signature_over_another_url_is_refused(client, twilio, sent_row):
    params = _status(sent_row, "delivered")
    other = twilio_sign(
        twilio.auth_token, f"{STATUS_URL}?m=00000000-0000-0000-0000-000000000000", params.items()
    )

    response = post_signed(client, twilio, f"{STATUS_URL}?m={sent_row.pk}", params, signature=other)

    assert response.status_code == 403


def _inbound(body: str, sid: str, sender: str = "+33612345678") -> dict:
    return {
        "MessageSid": sid,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "AccountSid": "AC" + "0" * 32,
    }


def test_stop_withdraws_sms_consent_with_proof_and_start_restores_it(client, twilio, workspace, contact):
    response = post_signed(client, twilio, INBOUND_URL, _inbound("Stop ", "SM1"))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    contact.refresh_from_db()
    assert contact.channels["sms"]["status"] == "unsubscribed"
    assert contact.channels["sms"]["source"] == "sms_keyword"
    record = ConsentRecord.objects.filter(contact=contact, channel="sms").latest("at")
    assert (record.status, record.proof["keyword"], record.proof["provider_sid"]) == (
        "unsubscribed",
        "STOP",
        "SM1",
    )
    received = Event.objects.get(type="sms.received")
    assert received.properties["text"] == "Stop " and received.properties["keyword"] == "STOP"

    post_signed(client, twilio, INBOUND_URL, _inbound("unstop", "SM2"))

    contact.refresh_from_db()
    assert contact.channels["sms"]["status"] == "subscribed"
    assert ConsentRecord.objects.filter(contact=contact, channel="sms").count() == 3  # form, STOP, UNSTOP


@pytest.mark.parametrize(
    "word", ["STOPALL", "unsubscribe", "End", "QUIT", "cancel", "optout", "REVOKE", "stop."]
)
def test_every_word_of_the_stop_family_withdraws_consent(client, twilio, contact, word):
    post_signed(client, twilio, INBOUND_URL, _inbound(word, "SM-" + word))

    contact.refresh_from_db()
    assert contact.channels["sms"]["status"] == "unsubscribed"


def test_a_repeated_inbound_message_is_recorded_and_acted_on_once(client, twilio, contact):
    for _ in range(2):
        post_signed(client, twilio, INBOUND_URL, _inbound("STOP", "SM9"))

    assert Event.objects.filter(type="sms.received").count() == 1
    assert ConsentRecord.objects.filter(contact=contact, channel="sms", status="unsubscribed").count() == 1


def test_a_reply_that_is_not_a_keyword_is_only_recorded(client, twilio, contact):
    post_signed(client, twilio, INBOUND_URL, _inbound("Please stop by tomorrow", "SM5"))

    contact.refresh_from_db()
    assert contact.channels["sms"]["status"] == "subscribed"
    assert Event.objects.get(type="sms.received").properties["keyword"] is None


def test_stop_reaches_every_contact_with_the_number_in_every_workspace(
    client, twilio, contact, other_workspace
):
    from tests.sms.conftest import opted_in

    twin = opted_in(ContactFactory(workspace=other_workspace), phone=contact.phone)

    post_signed(client, twilio, INBOUND_URL, _inbound("STOP", "SM7"))

    statuses = dict(
        Contact.objects.filter(pk__in=[contact.pk, twin.pk]).values_list("pk", "channels__sms__status")
    )
    assert statuses == {contact.pk: "unsubscribed", twin.pk: "unsubscribed"}


def test_an_inbound_message_not_signed_is_refused(client, twilio, contact):
    response = post_signed(client, twilio, INBOUND_URL, _inbound("STOP", "SM8"), signature="x")

    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.channels["sms"]["status"] == "subscribed"


def test_with_the_console_provider_there_are_no_callbacks(client, twilio, settings, contact):
    settings.SMS_URL = "console://"

    response = post_signed(client, twilio, INBOUND_URL, _inbound("STOP", "SM10"))

    assert response.status_code == 404
