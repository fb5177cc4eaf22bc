"""send_push for real: published and run by the runtime, it renders its Liquid for the contact, checks consent on
the batch's locked contact, and queues one message per browser; the local push service decrypts what arrives.
And the step's failures: a URL that is no URL once rendered, a contact with no consent (nothing is sent)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from contacts.consent import consent_set
from contacts.models import Contact
from push.models import PushMessage
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.push.conftest import subscribe
from tests.workflows.builders import publish, run_due
from workflows.engine.registry import registry
from workflows.models import Enrollment, StepRun

pytestmark = pytest.mark.django_db


def _workflow(workspace, **config):
    # No quiet hours: these tests send at the real time of day (quiet hours have their test below).
    workspace.settings = {**(workspace.settings or {}), "quiet_hours": {"start": "00:00", "end": "00:00"}}
    workspace.save(update_fields=["settings"])
    config = {
        "title": "Hi {{ contact.first_name }}",
        "body": "Your {{ contact.fields.plan }} plan",
        "url": "https://example.com/{{ contact.fields.plan }}",
        **config,
    }
    nodes = [node("t", "trigger_manual"), node("p", "send_push", config)]
    return publish(workspace, nodes, chain("t", "p"), name="Push")


def _enroll(api, workflow, contact) -> None:
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]}, format="json"
    )
    assert response.status_code == 202, response.content


def test_send_push_is_declared_for_the_push_channel_with_its_config_schema():
    send_push = registry.get("send_push")
    schema = send_push.describe()["config_schema"]
    assert send_push.channel == "push" and send_push.ports == ("push",)
    assert schema["required"] == ["title"]
    assert {"title", "body", "url", "icon", "window", "transactional", "topic"} <= set(schema["properties"])
    with pytest.raises(ValueError):
        send_push.parse_config({"title": "x", "url": "javascript:alert(1)"})


def test_a_send_push_step_sends_the_rendered_notification_to_each_browser_once(
    api, workspace, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace, first_name="Ada", fields={"plan": "pro"})
    phone, laptop = push_service.browser(), push_service.browser()
    subscribe(workspace, contact, phone)
    subscribe(workspace, contact, laptop)
    workflow = _workflow(workspace)
    _enroll(api, workflow, contact)

    capture = django_capture_on_commit_callbacks
    with capture(execute=True):  # the delivery job is enqueued once the runtime's batch commits
        run_due()
    run_push_jobs()

    assert Enrollment.objects.get(workflow=workflow).status == "completed"
    step = StepRun.objects.get(enrollment__workflow=workflow, node_id="p")
    assert step.status == "succeeded" and step.detail["devices"] == 2 and step.detail["status"] == "queued"
    for browser in (phone, laptop):
        (message,) = push_service.messages_for(browser)
        assert (message.payload["title"], message.payload["body"]) == ("Hi Ada", "Your pro plan")
    assert set(PushMessage.objects.values_list("url", flat=True)) == {"https://example.com/pro"}
    assert set(PushMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_a_contact_without_consent_is_skipped_and_the_step_says_why(
    api, workspace, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace, fields={"plan": "pro"})
    subscribe(workspace, contact, push_service.browser())
    consent_set(
        contact=Contact.objects.get(pk=contact.pk), channel="push", status="unsubscribed", source="test"
    )
    workflow = _workflow(workspace)
    _enroll(api, workflow, contact)

    capture = django_capture_on_commit_callbacks
    with capture(execute=True):  # the delivery job is enqueued once the runtime's batch commits
        run_due()
    run_push_jobs()

    step = StepRun.objects.get(enrollment__workflow=workflow, node_id="p")
    assert step.status == "succeeded" and step.detail["status"] == "suppressed"
    assert step.detail["reason"] == "unsubscribed" and step.detail["message_id"] is None
    assert push_service.received == []


def test_a_url_that_is_not_one_once_rendered_fails_the_step_for_good(
    api, workspace, push_service, run_push_jobs, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace, fields={"plan": "javascript:alert(1)//"})
    subscribe(workspace, contact, push_service.browser())
    workflow = _workflow(workspace, url="{{ contact.fields.plan }}")
    _enroll(api, workflow, contact)

    capture = django_capture_on_commit_callbacks
    with capture(execute=True):  # the delivery job is enqueued once the runtime's batch commits
        run_due()
    run_push_jobs()

    step = StepRun.objects.filter(enrollment__workflow=workflow, node_id="p").latest("started_at")
    assert step.status == "failed" and "not an http(s) URL" in step.error_message
    assert Enrollment.objects.get(workflow=workflow).status == "failed"
    assert push_service.received == [] and not PushMessage.objects.exists()


def test_in_the_recipients_quiet_hours_a_push_step_waits_for_their_end_then_shows_once(
    api, workspace, push_service, run_push_jobs, run_steps
):
    contact = ContactFactory(workspace=workspace, first_name="Ada", fields={"plan": "pro"}, timezone="Europe/Paris")
    browser = push_service.browser()
    subscribe(workspace, contact, browser)
    workflow = _workflow(workspace)
    workspace.settings = {}  # the default quiet hours: 21:00 to 08:00 in the contact's zone
    workspace.save(update_fields=["settings"])
    _enroll(api, workflow, contact)
    paris = ZoneInfo("Europe/Paris")
    day = (timezone.now() + timedelta(days=2)).astimezone(paris).date()

    run_steps(datetime.combine(day, time(23, 0), tzinfo=paris))

    morning = datetime.combine(day + timedelta(days=1), time(8, 0), tzinfo=paris)
    enrollment = Enrollment.objects.get(workflow=workflow)
    step = StepRun.objects.get(enrollment=enrollment, node_id="p")
    assert enrollment.next_run_at == morning and step.detail["reason"] == "quiet_hours"
    assert not PushMessage.objects.exists()
    run_steps(morning)
    run_push_jobs()
    assert len(push_service.messages_for(browser)) == 1


def test_the_node_test_says_a_push_would_wait_in_the_recipients_quiet_hours(api, workspace):
    offset = (23 - timezone.now().astimezone(ZoneInfo("UTC")).hour) % 24  # a zone where it is 23:xx now
    offset = offset - 24 if offset > 12 else offset
    zone = "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    contact = {"first_name": "Ada", "timezone": zone, "channels": {"push": {"status": "subscribed", "devices": 1}}}

    response = api.post("/api/v1/node-types/send_push/test", {"config": {"title": "Hi"}, "contact": contact},
                        format="json")  # fmt: skip

    assert response.status_code == 200, response.content
    would = response.json()["would"]
    assert would["outcome"] == "wait" and not would["actions"]
    until = datetime.fromisoformat(would["until"]).astimezone(ZoneInfo(zone))
    assert (until.hour, until.minute) == (8, 0) and until > timezone.now()
