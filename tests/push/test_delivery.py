"""The push outbox sends each key once, encrypted for the browser and signed with the workspace's VAPID key, to a
real local push service that decrypts it (RFC 8291) and checks the JWT (RFC 8292)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from events.models import Event
from push.delivery import push_deliver
from push.engagement import push_click
from push.models import PushMessage, PushSubscription
from push.outbox import Notification, push_send
from push.recovery import push_resend, push_sweep
from push.tracking import click_token
from push.vapid import push_settings_get
from tests.push.conftest import subscribe

pytestmark = pytest.mark.django_db

HELLO = Notification(
    title="Hello Ada",
    body="Your plan is ready.",
    url="https://example.com/plan?x=1",
    icon="https://example.com/icon.png",
)


def send(workspace, contact, capture, *, key="enr-1:n2:1", notification=HELLO):
    with capture(execute=True):
        return push_send(
            key=key,
            workspace=workspace,
            contact=contact,
            notification=notification,
            node_id="n2",
            workflow_id="6f1c1f4e-8b1e-4a51-9f3a-1d2b3c4d5e6f",
        )


def test_a_push_is_decrypted_by_the_browser_and_signed_with_the_workspaces_vapid_key(
    workspace, contact, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    browser = push_service.browser()
    subscribe(workspace, contact, browser)

    result = send(workspace, contact, django_capture_on_commit_callbacks)

    assert result.outcome == "queued" and len(result.message_ids) == 1
    assert push_service.received == []  # nothing leaves before the job runs
    assert run_push_jobs() == 1
    (message,) = push_service.messages_for(browser)
    row = PushMessage.objects.get(pk=result.message_id)
    assert message.payload == {
        "id": str(row.pk),
        "title": "Hello Ada",
        "body": "Your plan is ready.",
        "url": f"https://pf.example.test/t/p/{click_token(row.pk)}",
        "icon": "https://example.com/icon.png",
    }
    assert message.vapid_key == push_settings_get(workspace=workspace).vapid_public_key
    assert message.claims["aud"] == push_service.origin and message.claims["sub"].startswith("mailto:")
    assert message.headers["ttl"] == "86400"
    assert push_service.refused == []
    assert (row.status, row.attempts, row.response_status) == ("sent", 1, 201)
    sent = Event.objects.get(type="push.sent")
    assert sent.contact_id == contact.pk
    assert sent.properties == {
        "message_id": str(row.pk),
        "device": str(row.device),
        "title": "Hello Ada",
        "node_id": "n2",
        "workflow_id": "6f1c1f4e-8b1e-4a51-9f3a-1d2b3c4d5e6f",
    }


def test_every_browser_of_the_contact_gets_it_and_a_repeated_key_sends_nothing_more(
    workspace, contact, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    phone, laptop = push_service.browser(), push_service.browser()
    subscribe(workspace, contact, phone)
    subscribe(workspace, contact, laptop)

    first = send(workspace, contact, django_capture_on_commit_callbacks)
    again = send(workspace, contact, django_capture_on_commit_callbacks)
    run_push_jobs()
    later = send(workspace, contact, django_capture_on_commit_callbacks)
    run_push_jobs()

    assert first.outcome == "queued" and len(first.message_ids) == 2
    assert again.outcome == later.outcome == "exists"
    assert sorted(again.message_ids) == sorted(first.message_ids)
    assert len(push_service.messages_for(phone)) == len(push_service.messages_for(laptop)) == 1
    assert PushMessage.objects.count() == 2 and Event.objects.filter(type="push.sent").count() == 2


def test_a_contact_without_push_consent_or_browser_gets_nothing_and_a_skipped_row_says_why(
    workspace, contact, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    nobody = send(workspace, contact, django_capture_on_commit_callbacks)
    browser = push_service.browser()
    subscribe(workspace, contact, browser)
    from contacts.consent import consent_set

    consent_set(
        contact=Contact.objects.get(pk=contact.pk), channel="push", status="unsubscribed", source="test"
    )
    withdrawn = send(
        workspace, Contact.objects.get(pk=contact.pk), django_capture_on_commit_callbacks, key="enr-2:n2:1"
    )
    run_push_jobs()

    assert (nobody.outcome, nobody.status) == ("no_address", "skipped")
    assert (withdrawn.outcome, withdrawn.status) == ("unsubscribed", "skipped")
    assert push_service.received == []
    assert set(PushMessage.objects.values_list("status", flat=True)) == {"skipped"}


def test_consent_withdrawn_after_the_send_and_before_delivery_stops_the_message(
    workspace, contact, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    subscribe(workspace, contact, push_service.browser())
    result = send(workspace, contact, django_capture_on_commit_callbacks)
    from contacts.consent import consent_set

    consent_set(
        contact=Contact.objects.get(pk=contact.pk), channel="push", status="unsubscribed", source="test"
    )
    run_push_jobs()

    assert push_service.received == []
    row = PushMessage.objects.get(pk=result.message_id)
    assert (row.status, row.error) == ("skipped", "unsubscribed")


@pytest.mark.parametrize("answer", [404, 410])
def test_an_expired_subscription_is_removed_and_the_push_fails(
    answer, workspace, contact, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    browser = push_service.browser()
    subscription = subscribe(workspace, contact, browser)
    assert Contact.objects.get(pk=contact.pk).channels["push"]["devices"] == 1
    push_service.answers[browser["endpoint"].rsplit("/", 1)[-1]] = answer

    result = send(workspace, contact, django_capture_on_commit_callbacks)
    run_push_jobs()

    row = PushMessage.objects.get(pk=result.message_id)
    assert (row.status, row.response_status) == ("gone", answer)
    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()
    assert Contact.objects.get(pk=contact.pk).channels["push"]["devices"] == 0
    failed = Event.objects.get(type="push.failed")
    assert (
        failed.properties["reason"] == "subscription_expired" and failed.properties["status_code"] == answer
    )
    # With no browser left, the next push reaches nobody.
    assert send(workspace, contact, django_capture_on_commit_callbacks, key="enr-9:n2:1").status == "skipped"


def test_a_push_service_error_is_retried_later_and_a_refusal_fails_for_good(
    workspace, contact, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    flaky, refusing = push_service.browser(), push_service.browser()
    subscribe(workspace, contact, flaky)
    subscribe(workspace, contact, refusing)
    push_service.answers[flaky["endpoint"].rsplit("/", 1)[-1]] = 503
    push_service.answers[refusing["endpoint"].rsplit("/", 1)[-1]] = 400

    send(workspace, contact, django_capture_on_commit_callbacks)
    run_push_jobs()

    rows = {row.subscription.endpoint: row for row in PushMessage.objects.select_related("subscription")}
    retried, failed = rows[flaky["endpoint"]], rows[refusing["endpoint"]]
    assert retried.status == "queued" and retried.next_attempt_at > timezone.now() and retried.attempts == 1
    assert (failed.status, failed.response_status) == ("failed", 400)
    del push_service.answers[flaky["endpoint"].rsplit("/", 1)[-1]]
    assert (
        push_deliver(message_ids=[retried.pk], now=retried.next_attempt_at + timedelta(seconds=1)).sent == 1
    )
    assert len(push_service.messages_for(flaky)) == 1 and push_service.messages_for(refusing) == []


def test_a_worker_that_died_mid_send_leaves_unknown_which_is_never_resent_by_itself(
    workspace, contact, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    subscribe(workspace, contact, push_service.browser())
    result = send(workspace, contact, django_capture_on_commit_callbacks)
    # What a worker killed between hand-off and record leaves: the row claimed, no outcome recorded.
    PushMessage.objects.filter(pk=result.message_id).update(status="sending", claimed_at=timezone.now())

    report = push_sweep(now=timezone.now() + timedelta(hours=1))
    run_push_jobs()
    push_deliver(message_ids=[result.message_id])

    row = PushMessage.objects.get(pk=result.message_id)
    assert report.unknown == 1 and row.status == "unknown" and push_service.received == []
    with django_capture_on_commit_callbacks(execute=True):
        push_resend(message=row)  # a person decides to send it again
    run_push_jobs()
    assert PushMessage.objects.get(pk=row.pk).status == "sent" and len(push_service.received) == 1


def test_a_click_records_push_clicked_and_redirects_to_the_stored_url_only(
    client, workspace, contact, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    subscribe(workspace, contact, push_service.browser())
    result = send(workspace, contact, django_capture_on_commit_callbacks)
    run_push_jobs()
    url = push_service.received[0].payload["url"]
    path = url.removeprefix("https://pf.example.test")

    response = client.get(path, HTTP_USER_AGENT="Mozilla/5.0")
    forged = client.get(path[:-3] + "abc")
    email_kind = client.get(path.replace("/t/p/", "/t/c/"))

    assert response.status_code == 302 and response["Location"] == "https://example.com/plan?x=1"
    assert forged.status_code == email_kind.status_code == 404
    clicked = Event.objects.get(type="push.clicked")
    assert clicked.contact_id == contact.pk and clicked.properties["url"] == "https://example.com/plan?x=1"
    assert clicked.properties["message_id"] == result.message_id
    assert push_click(token="not-a-token") is None and Event.objects.filter(type="push.clicked").count() == 1


def test_a_long_body_is_shortened_to_fit_a_push_message_instead_of_failing(
    workspace, contact, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    subscribe(workspace, contact, push_service.browser())
    long = Notification(title="Weekly digest", body="€ news " * 2000, url="https://example.com/")

    send(workspace, contact, django_capture_on_commit_callbacks, notification=long)
    run_push_jobs()

    (message,) = push_service.received
    assert message.payload["body"].startswith("€ news") and message.payload["body"].endswith("…")
    assert 3700 < len(json.dumps(message.payload, separators=(",", ":"), ensure_ascii=False).encode()) <= 3800
    assert PushMessage.objects.get().status == "sent"


def test_a_batch_writes_its_rows_at_the_flush_and_a_key_that_existed_is_a_conflict(
    workspace, contact, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from push.outbox import PushBatch, PushConflict

    subscribe(workspace, contact, push_service.browser())
    locked = Contact.objects.get(pk=contact.pk)
    batch = PushBatch()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        first = push_send(
            key="enr-1:n1:1", workspace=workspace, contact=locked, notification=HELLO, held=True, batch=batch
        )
        repeat = push_send(
            key="enr-1:n1:1", workspace=workspace, contact=locked, notification=HELLO, held=True, batch=batch
        )
        assert PushMessage.objects.count() == 0  # nothing written before the flush
        assert batch.flush() == 1
    run_push_jobs()
    again = PushBatch()
    with pytest.raises(PushConflict), transaction.atomic():
        push_send(
            key="enr-1:n1:1", workspace=workspace, contact=locked, notification=HELLO, held=True, batch=again
        )
        again.flush()

    assert (first.outcome, repeat.outcome, repeat.message_ids) == ("queued", "exists", first.message_ids)
    assert PushMessage.objects.count() == 1 and len(push_service.received) == 1


def test_sender_connections_are_kept_from_job_to_job_but_reopened_after_a_silence():
    """A TLS handshake per job cost as much as its messages; a connection idle too long may have been closed by
    the service, and a request on it would leave its message `unknown`."""
    from push.delivery import KEEP_IDLE_S, _Senders

    clock = [1000.0]
    senders = _Senders(clock=lambda: clock[0])
    first = senders.connections()
    clock[0] += KEEP_IDLE_S - 1
    assert senders.connections() is first
    clock[0] += KEEP_IDLE_S + 1
    assert senders.connections() is not first
