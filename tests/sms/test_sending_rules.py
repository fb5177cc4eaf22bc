"""The workspace's rules for when and how fast SMS go out, for real (runtime, outbox, delivery to the Twilio
stand-in): the SMS rate defers, never drops; quiet hours hold for transactional texts too; `quiet_hours: skip`
goes on unsent (send_message: to the next channel) and is counted; a region's closed Sunday, set through the
settings API, defers a text to Monday morning across a DST change."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from sms.delivery import sms_deliver
from sms.models import SmsMessage
from sms.outbox import sms_send
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory, EmailTemplateFactory
from tests.sms.conftest import opted_in
from tests.workflows.builders import publish
from workflows.models import Enrollment, SendLedgerEntry, StepRun

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
BERLIN = ZoneInfo("Europe/Berlin")


def _paris(hour: int, *, days_ahead: int = 2) -> datetime:
    """A moment ahead of the enrollment (so that it is due), at `hour` o'clock in Paris."""
    day = (timezone.now() + timedelta(days=days_ahead)).astimezone(PARIS).date()
    return datetime.combine(day, time(hour, 0), tzinfo=PARIS)


def _run_one(api, workspace, contact, type_: str, config: dict):
    workflow = publish(workspace, [node("t", "trigger_manual"), node("s", type_, config)], chain("t", "s"))
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]},
                        format="json")  # fmt: skip
    assert response.status_code == 202, response.content
    return workflow


def _step(workflow) -> StepRun:
    return StepRun.objects.filter(enrollment__workflow=workflow, node_id="s").order_by("sequence").last()


def _channels(api, workflow) -> dict:
    return api.get(f"/api/v1/workflows/{workflow.pk}/analytics").json()["channels"]["nodes"]["s"]


def test_the_workspaces_sms_rate_defers_what_is_over_it_and_delivers_each_later_exactly_once(
    workspace, twilio, sms_queue
):
    workspace.settings = {"sms_rate_per_second": 2}
    workspace.save(update_fields=["settings"])
    contacts = [opted_in(ContactFactory(workspace=workspace), phone=f"+3361234{n:04d}") for n in range(5)]
    ids = [sms_send(key=f"rate:{n}", workspace=workspace, contact=c, text=f"message {n}").message_id
           for n, c in enumerate(contacts)]  # fmt: skip
    now = timezone.now()

    report = sms_deliver(sms_ids=ids, now=now)

    assert (report.sent, report.throttled) == (2, 3) and len(twilio.messages) == 2
    waiting = SmsMessage.objects.filter(status="queued").order_by("next_attempt_at")
    assert [row.next_attempt_at - now for row in waiting] == [timedelta(seconds=s) for s in (1, 1, 2)]
    assert len(sms_queue.scheduled_job_registry.get_job_ids()) == 2  # a job for each second's rows
    assert sms_deliver(sms_ids=ids, now=now + timedelta(milliseconds=999)).sent == 0  # not due yet
    assert sms_deliver(sms_ids=ids, now=now + timedelta(seconds=1)).sent == 2
    assert sms_deliver(sms_ids=ids, now=now + timedelta(seconds=2)).sent == 1
    assert sorted(m.body for m in twilio.messages) == [f"message {n}" for n in range(5)]  # none lost, none twice
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_a_transactional_sms_passes_the_frequency_cap_but_still_waits_for_the_end_of_quiet_hours(
    api, workspace, contact, twilio, run_sms_jobs, run_steps
):
    workspace.settings = {"frequency_caps": [{"channels": ["sms"], "max": 1, "per": "P7D"}]}
    workspace.save(update_fields=["settings"])
    evening = _paris(22)
    SendLedgerEntry.objects.create(contact_id=contact.pk, channel="sms", sent_at=evening - timedelta(hours=1),
                                   key="earlier:s:1")  # the cap is used up  # fmt: skip
    workflow = _run_one(api, workspace, contact, "send_sms", {"text": "Your code is 1234", "transactional": True})

    run_steps(evening)

    step, morning = _step(workflow), _paris(8, days_ahead=3)
    assert step.status == "waiting" and step.detail["reason"] == "quiet_hours" and "capped" not in step.detail
    assert Enrollment.objects.get(workflow=workflow).next_run_at == morning
    assert SmsMessage.objects.count() == 0
    run_steps(morning)
    run_sms_jobs()
    assert [m.body for m in twilio.messages] == ["Your code is 1234"]  # exempt from the cap, not from quiet hours


def test_with_quiet_hours_skip_the_sms_step_goes_on_unsent_and_the_skip_is_counted(
    api, workspace, contact, twilio, run_steps
):
    workflow = _run_one(api, workspace, contact, "send_sms", {"text": "Flash sale!", "quiet_hours": "skip"})

    run_steps(_paris(22))

    assert Enrollment.objects.get(workflow=workflow).status == "completed"
    detail = _step(workflow).detail
    assert (detail["status"], detail["skipped"], detail["reason"]) == ("skipped", "quiet_hours", "quiet_hours")
    assert datetime.fromisoformat(detail["until"]) == _paris(8, days_ahead=3)
    assert SmsMessage.objects.count() == 0 and twilio.messages == []
    counts = _channels(api, workflow)["sms"]
    assert (counts["quiet_skipped"], counts["quiet_deferred"], counts["sent"]) == (1, 0, 0)


def test_send_message_skips_sms_in_quiet_hours_and_sends_the_email_instead(
    api, workspace, contact, twilio, run_steps
):
    template = EmailTemplateFactory(workspace=workspace)
    config = {"channels": ["sms", "email"], "quiet_hours": "skip", "sms": {"text": "Flash sale!"},
              "email": {"template_id": str(template.pk)}}  # fmt: skip
    workflow = _run_one(api, workspace, contact, "send_message", config)

    run_steps(_paris(22))

    detail = _step(workflow).detail
    skipped, sent = detail["attempts"]
    assert (skipped["channel"], skipped["result"], skipped["reason"]) == ("sms", "skipped", "quiet_hours")
    assert datetime.fromisoformat(skipped["until"]) == _paris(8, days_ahead=3)
    assert (sent["channel"], sent["result"], detail["channel"]) == ("email", "sent", "email")
    assert SmsMessage.objects.count() == 0
    counts = _channels(api, workflow)
    assert counts["sms"]["quiet_skipped"] == 1 and counts["email"]["sent"] == 1


def _next_dst_sunday(after: date) -> date:
    """The next Sunday after `after` on which Berlin's clocks change (the last Sunday of March or October)."""
    day = after + timedelta(days=1)
    while not (day.weekday() == 6 and _offset(day) != _offset(day + timedelta(days=1))):
        day += timedelta(days=1)
    return day


def _offset(day: date) -> timedelta:
    return datetime.combine(day, time(0, 0), tzinfo=BERLIN).utcoffset()


def test_a_regions_closed_sunday_set_by_the_api_defers_an_sms_to_monday_morning_across_the_dst_change(
    api, workspace, twilio, run_steps
):
    body = {"quiet_hours": {"start": "21:00", "end": "08:00", "regions": {"DE": {"closed_days": ["sun"]}}}}
    assert api.patch("/api/v1/workspace/settings", body, format="json").status_code == 200
    german = opted_in(ContactFactory(workspace=workspace, timezone="Europe/Berlin"), phone="+4915123456789")
    french = opted_in(ContactFactory(workspace=workspace, timezone="Europe/Paris"), phone="+33612345678")
    workflow = publish(workspace, [node("t", "trigger_manual"), node("s", "send_sms", {"text": "Sale"})],
                       chain("t", "s"))  # fmt: skip
    api.post(f"/api/v1/workflows/{workflow.pk}/enroll",
             {"contacts": [{"id": str(german.pk)}, {"id": str(french.pk)}]}, format="json")  # fmt: skip
    sunday = _next_dst_sunday(timezone.now().date())
    sunday_noon = datetime.combine(sunday, time(12, 0), tzinfo=BERLIN)

    run_steps(sunday_noon)

    waits = {e.contact_id: e.next_run_at for e in Enrollment.objects.filter(workflow=workflow)}
    monday_morning = datetime.combine(sunday + timedelta(days=1), time(8, 0), tzinfo=BERLIN)
    assert waits[german.pk] == monday_morning  # 08:00 local by the new offset
    assert _offset(sunday) != _offset(sunday + timedelta(days=1))  # the clocks changed in between
    assert Enrollment.objects.get(workflow=workflow, contact=french).status == "completed"  # not closed in France
    assert [m.to_phone for m in SmsMessage.objects.all()] == ["+33612345678"]


def test_the_simulation_skips_a_push_and_defers_an_sms_in_quiet_hours_as_live_runs_do(api, workspace):
    nodes = [node("t", "trigger_manual"), node("p", "send_push", {"title": "Hi", "quiet_hours": "skip"}),
             node("s", "send_sms", {"text": "Hi {{ contact.first_name }}"}),
             node("q", "send_push", {"title": "Hello {{ contact.first_name }}", "url": "https://x.test/"})]  # fmt: skip
    workflow = publish(workspace, nodes, chain("t", "p", "s", "q"))
    contact = {"first_name": "Zoë", "phone": "+33612345678", "timezone": "Europe/Paris",
               "channels": {"sms": {"status": "subscribed"}, "push": {"status": "subscribed", "devices": 1}}}
    start = datetime(2026, 12, 14, 22, 0, tzinfo=PARIS)  # a Monday evening: quiet until 08:00
    response = api.post(f"/api/v1/workflows/{workflow.pk}/simulate",
                        {"version": "1", "contact": contact, "start": start.isoformat()}, format="json")

    assert response.status_code == 200, response.content
    push, sms_wait, sms_sent = (s for s in response.json()["path"] if s["node_id"] in ("p", "s"))
    assert (push["outcome"], push["detail"]["skipped"]) == ("advance", "quiet_hours")
    assert sms_wait["outcome"] == "wait" and sms_sent["outcome"] == "advance" and sms_sent["detail"]["message_id"]
    morning = datetime(2026, 12, 15, 8, 0, tzinfo=PARIS)
    assert datetime.fromisoformat(sms_wait["detail"]["until"]) == morning
    assert datetime.fromisoformat(sms_sent["at"]) == morning
    sms, push = (a for a in response.json()["actions"] if a["node_id"] in ("s", "q"))  # each as it would be sent
    assert (sms["sms"]["text"], sms["sms"]["encoding"]) == ("Hi Zoë", "UCS-2")
    assert (push["push"]["title"], push["push"]["url"]) == ("Hello Zoë", "https://x.test/")


def test_the_contacts_timeline_names_the_channel_of_every_message_step_and_event(
    api, workspace, contact, twilio, run_sms_jobs, run_steps
):
    from events.services import NewEvent, events_store

    config = {"channels": ["sms", "email"], "sms": {"text": "Hi"},
              "email": {"template_id": str(EmailTemplateFactory(workspace=workspace).pk)}}  # fmt: skip
    _run_one(api, workspace, contact, "send_message", config)
    run_steps(_paris(12))
    run_sms_jobs()  # the hand-off records sms.sent
    events_store(workspace=workspace.pk, events=[
        NewEvent(type="push.clicked", contact_id=contact.pk, properties={"url": "https://x.test/"}),
        NewEvent(type="page.viewed", contact_id=contact.pk, properties={"path": "/"}),
    ])  # fmt: skip

    items = api.get(f"/api/v1/contacts/{contact.pk}/timeline").json()["results"]

    channels = {(item["kind"], item["type"]): item["channel"] for item in items}
    assert channels[("step", "send_message")] == "sms"  # the channel that went out
    assert channels[("event", "sms.sent")] == "sms" and channels[("event", "push.clicked")] == "push"
    assert channels[("event", "page.viewed")] is None and channels[("step", "trigger_manual")] is None
