"""The send_sms step for real: published, run by the runtime through the SMS port, handed to the Twilio stand-in;
quiet hours defer it (never drop it) in the recipient's zone; no consent is a recorded suppression; a text that
cannot be sent is a recorded step failure; the node test and the builder's count show encoding and segments."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from sms.models import SmsMessage
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish
from workflows.models import Enrollment, StepRun

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def _enroll(api, workflow, *contacts) -> None:
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll",
                        {"contacts": [{"id": str(c.pk)} for c in contacts]}, format="json")  # fmt: skip
    assert response.status_code == 202, response.content


def _sms_workflow(workspace, **config):
    config.setdefault("text", "Hi {{ contact.first_name }}, your order has shipped.")
    return publish(workspace, [node("t", "trigger_manual"), node("s", "send_sms", config)], chain("t", "s"))


def _paris(hour: int, *, days_ahead: int = 2) -> datetime:
    """A moment ahead of the enrollment (so that it is due), at `hour` o'clock in Paris."""
    day = (timezone.now() + timedelta(days=days_ahead)).astimezone(PARIS).date()
    return datetime.combine(day, time(hour, 0), tzinfo=PARIS)


def _step(enrollment) -> StepRun:
    return StepRun.objects.filter(enrollment=enrollment, node_id="s").order_by("sequence").last()


def test_a_send_sms_step_texts_the_contact_once(api, workspace, contact, twilio, run_sms_jobs, run_steps):
    workflow = _sms_workflow(workspace)
    _enroll(api, workflow, contact)

    assert run_steps(_paris(12)) == 1
    run_sms_jobs()

    enrollment = Enrollment.objects.get(workflow=workflow)
    assert enrollment.status == "completed"
    (received,) = twilio.messages
    assert (received.to, received.body) == ("+33612345678", "Hi Ada, your order has shipped.")
    step = _step(enrollment)
    row = SmsMessage.objects.get()
    assert step.status == "succeeded"
    assert step.detail == {"outcome": "advance", "message_id": str(row.pk), "status": "queued", "encoding": "GSM-7",
                           "segments": 1}  # fmt: skip
    assert row.key.startswith(f"{enrollment.pk}:s:") and row.node_id == "s" and row.workflow_id == workflow.pk


def test_in_the_recipients_quiet_hours_the_step_waits_for_their_end_and_then_sends(
    api, workspace, contact, twilio, run_sms_jobs, run_steps
):
    workflow = _sms_workflow(workspace)
    _enroll(api, workflow, contact)  # the contact lives in Paris: quiet from 21:00 to 08:00

    evening = _paris(22)
    run_steps(evening)

    enrollment = Enrollment.objects.get(workflow=workflow)
    morning = _paris(8, days_ahead=3)
    assert enrollment.status == "waiting" and enrollment.next_run_at == morning
    step = _step(enrollment)
    assert step.status == "waiting" and step.detail["quiet_hours"] is True
    assert datetime.fromisoformat(step.detail["until"]) == morning
    assert SmsMessage.objects.count() == 0 and twilio.messages == []  # deferred, nothing stored

    assert run_steps(morning - timedelta(minutes=1)) == 0
    assert run_steps(morning) == 1
    run_sms_jobs()
    enrollment.refresh_from_db()
    assert enrollment.status == "completed" and len(twilio.messages) == 1


def test_a_contact_without_sms_consent_is_not_texted_and_the_step_says_why(
    api, workspace, twilio, run_sms_jobs, run_steps
):
    contact = ContactFactory(workspace=workspace, phone="+33612345678")  # a number, never an opt-in
    workflow = _sms_workflow(workspace)
    _enroll(api, workflow, contact)

    run_steps(_paris(12))
    run_sms_jobs()

    enrollment = Enrollment.objects.get(workflow=workflow)
    step = _step(enrollment)
    assert enrollment.status == "completed" and twilio.messages == []
    assert (step.status, step.detail["status"], step.detail["reason"]) == (
        "succeeded",
        "suppressed",
        "no_consent",
    )
    assert SmsMessage.objects.get().status == "skipped"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{% for i in (1..200) %}0123456789{% endfor %}", "too long"),
        ("Hi {{ contact.first_name | divided_by: 0 }}", "could not be rendered"),
    ],
)
def test_a_text_that_cannot_be_sent_is_a_recorded_step_failure(
    api, workspace, contact, twilio, text, says, run_steps
):
    workflow = _sms_workflow(workspace, text=text)
    _enroll(api, workflow, contact)

    run_steps(_paris(12))

    enrollment = Enrollment.objects.get(workflow=workflow)
    step = _step(enrollment)
    assert enrollment.status == "failed" and step.status == "failed"
    assert says in step.error_message
    assert SmsMessage.objects.count() == 0 and twilio.messages == []


def test_publishing_refuses_a_literal_text_too_long_to_send(api, workspace):
    response = api.post("/api/v1/node-types/send_sms/test", {"config": {"text": "ë" * 671}}, format="json")

    assert response.status_code == 400
    assert "11 UCS-2 segments" in str(response.json()["error"]["details"])


def _midday_zone() -> str:
    """A zone where it is now early afternoon: the node test judges quiet hours at the real time."""
    offset = (13 - timezone.now().astimezone(ZoneInfo("UTC")).hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def test_the_node_test_shows_the_rendered_sms_with_its_encoding_and_segments(api, twilio):
    contact = {"first_name": "Zoë", "phone": "+33612345678", "timezone": _midday_zone(),
               "channels": {"sms": {"status": "subscribed"}}}  # fmt: skip
    response = api.post(
        "/api/v1/node-types/send_sms/test",
        {"config": {"text": "Bonjour {{ contact.first_name }} !"}, "contact": contact},
        format="json",
    )

    assert response.status_code == 200, response.content
    would = response.json()["would"]
    assert would["outcome"] == "advance"
    (action,) = would["actions"]
    sms = action["sms"]
    assert (sms["text"], sms["encoding"], sms["segments"], sms["non_gsm"]) == (
        "Bonjour Zoë !",
        "UCS-2",
        1,
        ["ë"],
    )
    assert twilio.messages == []


def test_the_segment_count_answers_for_any_text(api):
    response = api.post("/api/v1/sms/segments", {"text": "a" * 161}, format="json")

    assert response.status_code == 200
    assert response.json() == {"encoding": "GSM-7", "segments": 2, "characters": 161, "units": 161, "non_gsm": [],
                               "too_long": False, "max_segments": 10, "max_characters": 1600}  # fmt: skip
    assert api.post("/api/v1/sms/segments", {"text": 5}, format="json").status_code in (200, 400)
    assert api.post("/api/v1/sms/segments", {}, format="json").status_code == 400


def test_the_workspaces_quiet_hours_and_a_stricter_region_decide_when_a_step_may_send(
    api, workspace, twilio, run_sms_jobs, run_steps
):
    from tests.sms.conftest import opted_in

    workspace.settings = {
        "quiet_hours": {
            "start": "22:00",
            "end": "07:00",
            "regions": {"US": {"start": "20:00", "end": "09:00"}},
        }
    }
    workspace.save(update_fields=["settings"])
    new_york = ZoneInfo("America/New_York")
    french = opted_in(ContactFactory(workspace=workspace, timezone="Europe/Paris"), phone="+33612345678")
    american = opted_in(
        ContactFactory(workspace=workspace, timezone=""), phone="+12125550123"
    )  # zone from the number
    workflow = _sms_workflow(workspace)
    _enroll(api, workflow, french, american)
    day = (timezone.now() + timedelta(days=2)).astimezone(new_york).date()
    moment = datetime.combine(day, time(20, 30), tzinfo=new_york)  # 02:30 in Paris: quiet for both

    run_steps(moment)

    waits = {e.contact_id: e.next_run_at for e in Enrollment.objects.filter(workflow=workflow)}
    paris_morning = datetime.combine(moment.astimezone(PARIS).date(), time(7, 0), tzinfo=PARIS)
    assert waits[french.pk] == paris_morning  # the workspace's 07:00
    assert waits[american.pk] == datetime.combine(
        day + timedelta(days=1), time(9, 0), tzinfo=new_york
    )  # US: 09:00
    assert twilio.messages == []
