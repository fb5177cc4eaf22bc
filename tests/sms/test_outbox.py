"""The SMS outbox sends each key exactly once, through the local Twilio stand-in, to contacts with consent only;
what the provider answers decides: sent, retried, failed for good, or unknown (never re-sent by itself)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.consent import consent_set
from events.models import Event
from penguinflow.common.errors import InvalidInput, InvalidTransition
from sms.delivery import sms_deliver
from sms.models import SmsMessage
from sms.outbox import sms_send
from sms.recovery import sms_resend, sms_sweep
from tests.factories import ContactFactory
from tests.sms.conftest import SENDER

pytestmark = pytest.mark.django_db


def send(workspace, contact, *, capture, key="enr-1:s1:1", text="Hi Ada, your order has shipped.", **kwargs):
    with capture(execute=True):
        return sms_send(key=key, workspace=workspace, contact=contact, text=text, node_id="s1",
                        workflow_id="6f1c1f4e-8b1e-4a51-9f3a-1d2b3c4d5e6f", **kwargs)  # fmt: skip


def test_an_sms_is_handed_to_the_provider_once_and_recorded_sent_with_its_sid(
    workspace, contact, twilio, run_sms_jobs, django_capture_on_commit_callbacks
):
    result = send(workspace, contact, capture=django_capture_on_commit_callbacks)

    assert (result.outcome, result.status) == ("queued", "queued")
    assert result.shape["encoding"] == "GSM-7" and result.shape["segments"] == 1
    assert twilio.messages == []  # nothing leaves before the job runs
    assert run_sms_jobs() == 1
    (received,) = twilio.messages
    assert (received.to, received.sender, received.body) == (
        "+33612345678",
        SENDER,
        "Hi Ada, your order has shipped.",
    )
    row = SmsMessage.objects.get(pk=result.message_id)
    assert received.callback == f"https://pf.example.test/hooks/sms/twilio/status?m={row.pk}"
    assert (row.status, row.provider_sid, row.attempts) == ("sent", received.sid, 1)
    sent = Event.objects.get(type="sms.sent")
    assert sent.contact_id == contact.pk and sent.client_id == f"sms:{row.pk}:sent"
    assert sent.properties == {"message_id": str(row.pk), "node_id": "s1", "provider_sid": received.sid,
                               "segments": 1, "workflow_id": "6f1c1f4e-8b1e-4a51-9f3a-1d2b3c4d5e6f"}  # fmt: skip


def test_the_same_key_twice_sends_exactly_one_sms(
    workspace, contact, twilio, run_sms_jobs, django_capture_on_commit_callbacks
):
    first = send(workspace, contact, capture=django_capture_on_commit_callbacks)
    run_sms_jobs()
    second = send(workspace, contact, capture=django_capture_on_commit_callbacks)

    assert (second.outcome, second.message_id, second.status) == ("exists", first.message_id, "sent")
    assert run_sms_jobs() == 0  # the repeat enqueued nothing
    sms_deliver(sms_ids=[first.message_id])  # nor does a stray second job send again
    assert len(twilio.messages) == 1 and SmsMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("prepare", "reason"),
    [
        (lambda c: None, "no_consent"),  # a number, but never opted in: SMS needs an explicit opt-in
        (
            lambda c: consent_set(contact=c, channel="sms", status="unsubscribed", source="api"),
            "unsubscribed",
        ),
    ],
)
def test_no_sms_to_a_contact_without_consent_a_skipped_row_says_why(
    prepare, reason, workspace, twilio, run_sms_jobs, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace, phone="+33612345678")
    prepare(contact)

    result = send(workspace, contact, capture=django_capture_on_commit_callbacks)

    assert (result.outcome, result.status, result.reason) == ("suppressed", "skipped", reason)
    assert run_sms_jobs() == 0 and twilio.messages == []
    again = send(workspace, contact, capture=django_capture_on_commit_callbacks)
    assert (again.outcome, again.status, again.message_id) == ("exists", "skipped", result.message_id)


def test_no_number_means_no_address(workspace, twilio, run_sms_jobs, django_capture_on_commit_callbacks):
    contact = ContactFactory(workspace=workspace)
    consent_set(contact=contact, channel="sms", status="subscribed", source="form")

    result = send(workspace, contact, capture=django_capture_on_commit_callbacks)

    assert (result.status, result.reason) == ("skipped", "no_address")
    assert run_sms_jobs() == 0 and twilio.messages == []


def test_a_topic_the_contact_opted_out_of_is_not_sent(
    workspace, contact, twilio, run_sms_jobs, django_capture_on_commit_callbacks
):
    contact.topic_opt_outs = ["promotions"]
    contact.save(update_fields=["topic_opt_outs"])

    result = send(workspace, contact, capture=django_capture_on_commit_callbacks, topic="promotions")

    assert (result.status, result.reason) == ("skipped", "topic_opted_out")
    assert run_sms_jobs() == 0 and twilio.messages == []


def test_consent_withdrawn_after_the_sms_was_stored_wins_at_delivery(
    workspace, contact, twilio, run_sms_jobs, django_capture_on_commit_callbacks
):
    result = send(workspace, contact, capture=django_capture_on_commit_callbacks)
    consent_set(contact=contact, channel="sms", status="unsubscribed", source="sms_keyword")

    run_sms_jobs()

    assert twilio.messages == []
    row = SmsMessage.objects.get(pk=result.message_id)
    assert row.status == "skipped" and "unsubscribed" in row.error


@pytest.mark.parametrize(
    ("text", "detail"), [("a" * 1531, "11 segments"), ("😀" * 336, "11 segments"), ("   ", "Empty")]
)
def test_a_text_too_long_or_empty_stores_nothing_and_sends_nothing(
    text, detail, workspace, contact, twilio, run_sms_jobs, django_capture_on_commit_callbacks
):
    with pytest.raises(InvalidInput) as caught:
        send(workspace, contact, capture=django_capture_on_commit_callbacks, text=text)

    assert detail in caught.value.details["text"]
    assert SmsMessage.objects.count() == 0 and run_sms_jobs() == 0 and twilio.messages == []


def test_a_number_the_provider_refuses_fails_for_good_with_sms_failed(
    workspace, twilio, run_sms_jobs, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace)
    from tests.sms.conftest import opted_in

    opted_in(contact, phone="+1555")  # stored by SQL around the API's check; the provider says 21211
    result = send(workspace, contact, capture=django_capture_on_commit_callbacks)

    run_sms_jobs()

    row = SmsMessage.objects.get(pk=result.message_id)
    assert row.status == "failed" and "21211" in row.error and twilio.messages == []
    failed = Event.objects.get(type="sms.failed")
    assert failed.properties["error_code"] == "21211" and failed.contact_id == contact.pk


def test_a_throttled_hand_off_is_retried_later_and_then_sent_once(
    workspace, contact, twilio, run_sms_jobs, django_capture_on_commit_callbacks
):
    twilio.script.append((429, {"code": 20429, "message": "Too Many Requests", "status": 429}))
    result = send(workspace, contact, capture=django_capture_on_commit_callbacks)

    report = sms_deliver(sms_ids=[result.message_id])

    assert report.retried == 1 and twilio.messages == []
    row = SmsMessage.objects.get(pk=result.message_id)
    assert row.status == "queued" and row.next_attempt_at > timezone.now() and row.attempts == 1
    later = row.next_attempt_at + timedelta(seconds=1)
    assert sms_deliver(sms_ids=[row.pk], now=later).sent == 1
    assert len(twilio.messages) == 1
    assert SmsMessage.objects.get(pk=row.pk).attempts == 2


def test_an_answer_that_may_hide_a_created_message_leaves_it_unknown_and_never_resent_by_itself(
    workspace, contact, twilio, run_sms_jobs, django_capture_on_commit_callbacks
):
    twilio.script.append((500, {"code": 20500, "message": "Internal Server Error", "status": 500}))
    result = send(workspace, contact, capture=django_capture_on_commit_callbacks)

    assert sms_deliver(sms_ids=[result.message_id]).unknown == 1

    row = SmsMessage.objects.get(pk=result.message_id)
    assert row.status == "unknown"
    assert sms_deliver(sms_ids=[row.pk]).sent == 0 and sms_sweep().requeued == 0
    assert twilio.messages == []  # (the stand-in answered 500 without keeping it)
    # A person decides to send it again: then, and only then, it goes.
    with django_capture_on_commit_callbacks(execute=True):
        sms_resend(message=row)
    run_sms_jobs()
    assert len(twilio.messages) == 1 and SmsMessage.objects.get(pk=row.pk).status == "sent"


def test_the_sweep_turns_a_claim_whose_worker_died_into_unknown_and_delivery_leaves_it(
    workspace, contact, twilio, settings, django_capture_on_commit_callbacks
):
    result = send(workspace, contact, capture=django_capture_on_commit_callbacks)
    SmsMessage.objects.filter(pk=result.message_id).update(
        status="sending", claimed_at=timezone.now() - timedelta(minutes=10)
    )
    settings.SMS_SEND_LEASE_SECONDS = 300

    report = sms_sweep()

    assert report.unknown == 1
    assert SmsMessage.objects.get(pk=result.message_id).status == "unknown"
    assert sms_deliver(sms_ids=[result.message_id]).sent == 0 and twilio.messages == []


def test_only_unknown_or_failed_sms_can_be_resent(
    workspace, contact, twilio, run_sms_jobs, django_capture_on_commit_callbacks
):
    result = send(workspace, contact, capture=django_capture_on_commit_callbacks)
    run_sms_jobs()

    with pytest.raises(InvalidTransition):
        sms_resend(message=SmsMessage.objects.get(pk=result.message_id))
    assert len(twilio.messages) == 1
