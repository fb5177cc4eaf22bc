"""Test mode shows the emails a simulation would send: each send_email action carries the rendered email."""

from __future__ import annotations

import uuid

import pytest

from templates.models import OutboxMessage
from tests.engine.graphs import chain, node
from tests.factories import EmailTemplateFactory

pytestmark = pytest.mark.django_db


def _simulate(api, graph, body):
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/simulate", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_simulated_email_is_rendered_for_the_contact_as_the_run_has_it_and_nothing_is_stored(api, workspace):
    template = EmailTemplateFactory(workspace=workspace, subject="Hello {{ contact.first_name }}",
                                    html="<p>Plan: {{ contact.fields.plan | default: 'none' }}</p>")
    graph = {"nodes": [node("t", "trigger_manual"),
                       node("f", "update_field", {"field": "plan", "value": "pro", "op": "set"}),
                       node("s", "send_email", {"template_id": str(template.pk)})],
             "edges": chain("t", "f", "s")}
    answer = _simulate(api, graph, {"contact": {"email": "ada@x.test", "first_name": "Ada"}})

    sent = [action for action in answer["actions"] if action["type"] == "send_email"]
    assert len(sent) == 1
    assert sent[0]["email"]["subject"] == "Hello Ada"
    assert sent[0]["email"]["to"] == "Ada <ada@x.test>"
    assert "Plan: pro" in sent[0]["email"]["html"]  # the field the step before set
    assert "email_error" not in sent[0]
    assert sent[0]["summary"].startswith("Sent email template")
    assert not OutboxMessage.objects.exists()


def test_a_missing_template_is_said_on_the_action_and_the_run_goes_on_as_before(api, workspace):
    graph = {"nodes": [node("t", "trigger_manual"), node("s", "send_email", {"template_id": str(uuid.uuid4())}),
                       node("g", "add_tag", {"tag": "after"})],
             "edges": chain("t", "s", "g")}
    answer = _simulate(api, graph, {"contact": {"email": "ada@x.test"}})

    assert answer["status"] == "completed"
    (sent,) = [action for action in answer["actions"] if action["type"] == "send_email"]
    assert "does not exist" in sent["email_error"]
    assert "email" not in sent


def test_no_email_is_rendered_for_a_contact_who_would_not_be_sent_one(api, workspace):
    template = EmailTemplateFactory(workspace=workspace)
    graph = {"nodes": [node("t", "trigger_manual"), node("s", "send_email", {"template_id": str(template.pk)})],
             "edges": chain("t", "s")}
    answer = _simulate(api, graph, {"contact": {"email": "ada@x.test", "status": "unsubscribed"}})

    (sent,) = answer["actions"]
    assert sent["summary"].startswith("Did not send")
    assert "email" not in sent and "email_error" not in sent


def test_a_simulated_email_sees_the_trigger_event_and_the_enrollment_as_live_runs_give_them(api, workspace):
    template = EmailTemplateFactory(workspace=workspace, subject="Order {{ event.properties.order }}",
                                    html="<p>{{ enrollment.workflow_id }} v{{ enrollment.version }} "
                                         "{{ enrollment.entered_at }}</p>")
    graph = {"nodes": [node("t", "trigger_event", {"event": "custom.ordered"}),
                       node("s", "send_email", {"template_id": str(template.pk)})],
             "edges": chain("t", "s")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/simulate", {
        "contact": {"email": "ada@x.test"}, "start": "2026-11-23T08:00:00Z",
        "events": [{"after": "PT1H", "type": "custom.ordered", "properties": {"order": "A-17"}}],
    }, format="json")
    assert response.status_code == 200, response.content

    (sent,) = response.json()["actions"]
    assert sent["email"]["subject"] == "Order A-17"
    assert f"{workflow_id} vdraft 2026-11-23T09:00:00+00:00" in sent["email"]["html"]


@pytest.mark.parametrize("contact", [{}, {"email": None}, {"email": "not an address"}, {"email": "a@x.test\r\nBcc: b@x.test"}])
def test_a_contact_without_a_usable_address_gets_a_reason_not_a_500(api, workspace, contact):
    template = EmailTemplateFactory(workspace=workspace)
    graph = {"nodes": [node("t", "trigger_manual"), node("s", "send_email", {"template_id": str(template.pk)})],
             "edges": chain("t", "s")}
    answer = _simulate(api, graph, {"contact": contact})

    assert answer["status"] == "completed"  # rendering never changes the run
    (sent,) = answer["actions"]
    assert "email" in sent or "email_error" in sent


def test_a_template_that_does_not_render_is_said_on_the_action(api, workspace):
    template = EmailTemplateFactory(workspace=workspace, html="<p>{{ contact.fields.amount | divided_by: 0 }}</p>")
    graph = {"nodes": [node("t", "trigger_manual"), node("s", "send_email", {"template_id": str(template.pk)})],
             "edges": chain("t", "s")}
    answer = _simulate(api, graph, {"contact": {"email": "ada@x.test", "fields": {"amount": 3}}})

    (sent,) = answer["actions"]
    assert "email" in sent or sent["email_error"].startswith("The email would not render")


def test_a_previewed_email_carries_no_open_pixel_for_a_browser_to_fetch(api, workspace):
    template = EmailTemplateFactory(workspace=workspace, html="<p>Hi</p>")
    graph = {"nodes": [node("t", "trigger_manual"), node("s", "send_email", {"template_id": str(template.pk)})],
             "edges": chain("t", "s")}
    answer = _simulate(api, graph, {"contact": {"email": "ada@x.test"}})

    html = answer["actions"][0]["email"]["html"]
    assert "<p>Hi</p>" in html and "/t/o/" not in html
