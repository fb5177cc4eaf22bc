"""POST /api/v1/node-types/{type}/test: would a trigger fire and why not; what a step would do, without doing it;
and the same answers a simulation gives."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from contacts.models import Contact
from events.services import NewEvent, events_emit
from penguinflow.workspaces.services import signing_secret_rotate
from tasks.models import Task
from templates.models import OutboxMessage
from tests.engine.graphs import chain, node
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    EmailTemplateFactory,
    MembershipFactory,
    UserFactory,
)
from tests.workflows.presets_support import with_real_objects
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.node_test import TEST_NODE
from workflows.engine.presets import action_presets, trigger_presets
from workflows.engine.registry import registry
from workflows.engine.simulator import simulate

pytestmark = pytest.mark.django_db

URL = "/api/v1/node-types/{}/test"


def _test(api, node_type, **body):
    return api.post(URL.format(node_type), body, format="json")


def test_an_event_trigger_fires_for_a_matching_event(api):
    response = _test(api, "trigger_event", config={"event": "page.viewed", "filter": {
        "in": ["/pricing", {"var": "event.properties.url"}]}},
        contact={"email": "ada@example.com"}, event={"type": "page.viewed", "properties": {"url": "/pricing"}})
    assert response.status_code == 200, response.json()
    assert response.json()["fires"] is True
    assert response.json()["reasons"] == []


def test_a_trigger_that_does_not_fire_names_the_failing_clause_and_the_values_it_saw(api):
    rule = {"and": [{"==": [{"var": "contact.fields.plan"}, "pro"]},
                    {">=": [{"var": "contact.score"}, 50]}]}
    response = _test(api, "trigger_event", config={"event": "page.viewed", "filter": rule},
                     contact={"email": "ada@example.com", "score": 10, "fields": {"plan": "pro"}},
                     event={"type": "page.viewed", "properties": {}})
    body = response.json()
    assert body["fires"] is False
    clause = next(reason for reason in body["reasons"] if isinstance(reason, dict))
    assert clause["rule"] == "filter"
    assert clause["clause"] == {">=": [{"var": "contact.score"}, 50]}  # the first clause held; this one decided
    assert clause["values"] == {"contact.score": 10}
    assert clause["result"] is False


def test_a_trigger_says_when_it_listens_to_another_event(api):
    body = _test(api, "trigger_event", config={"event": "email.opened"}, contact={},
                 event={"type": "email.clicked"}).json()
    assert body["fires"] is False
    assert "email.opened" in body["reasons"][0] and "email.clicked" in body["reasons"][0]


def test_a_stored_contact_is_tested_with_its_real_history(api, workspace):
    contact = ContactFactory(workspace=workspace)
    config = {"event": "page.viewed", "filter": {">=": [{"event_count": {"type": "email.opened", "within": "P30D"}}, 2]}}
    event = {"type": "page.viewed", "properties": {}}
    assert _test(api, "trigger_event", config=config, contact={"id": str(contact.pk)}, event=event).json()["fires"] is False
    events_emit(workspace=workspace, events=[NewEvent(type="email.opened", contact_id=contact.pk, properties={})
                                             for _ in range(2)])
    assert _test(api, "trigger_event", config=config, contact={"id": str(contact.pk)}, event=event).json()["fires"] is True


def test_a_date_field_trigger_says_when_it_fires(api):
    body = _test(api, "trigger_date_field", config={"field": "renewal", "offset": "-P3D", "at_time": "09:00"},
                 contact={"timezone": "Europe/Paris", "fields": {"renewal": "2099-06-10"}}).json()
    assert body["fires"] is False  # beyond the horizon the test looks at
    soon = (timezone.now() + timezone.timedelta(days=30)).date().isoformat()
    body = _test(api, "trigger_date_field", config={"field": "renewal", "offset": "-P3D", "at_time": "09:00"},
                 contact={"timezone": "Europe/Paris", "fields": {"renewal": soon}}).json()
    assert body["fires"] is True
    assert body["would"]["occasion"] == f"renewal:{soon}"


def test_a_schedule_names_the_audience_clause_a_contact_fails(api):
    body = _test(api, "trigger_schedule", config={"rrule": "FREQ=DAILY", "audience": {
        "rule": {"in": ["vip", {"var": "contact.tags"}]}}}, contact={"tags": ["trial"]}).json()
    assert body["fires"] is False
    assert any(isinstance(reason, dict) and reason["values"] == {"contact.tags": ["trial"]} for reason in body["reasons"])


def test_an_email_step_shows_the_rendered_email_with_headers_and_tracked_links_and_sends_nothing(api, workspace):
    template = EmailTemplateFactory(workspace=workspace, subject="Hi {{ contact.first_name }}",
                                    html='<p>Read <a href="https://x.test/pricing">this</a></p>', text="")
    body = _test(api, "send_email", config={"template_id": str(template.pk)},
                 contact={"email": "ada@example.com", "first_name": "Ada"}).json()
    assert body["would"]["outcome"] == "advance"
    email = body["would"]["actions"][0]["email"]
    assert email["subject"] == "Hi Ada"
    assert email["to"] == "Ada <ada@example.com>"
    assert email["headers"]["Subject"] == "Hi Ada"
    assert "List-Unsubscribe" in email["headers"]
    assert email["links"] == ["https://x.test/pricing"]
    assert "https://x.test/pricing" not in email["html"]  # rewritten to a click-tracking URL
    assert "/t/c/" in email["html"]
    assert not OutboxMessage.objects.exists()
    assert not Contact.objects.filter(email="ada@example.com").exists()


def test_an_email_step_for_an_unsubscribed_contact_says_it_would_not_send(api, workspace):
    template = EmailTemplateFactory(workspace=workspace)
    body = _test(api, "send_email", config={"template_id": str(template.pk)},
                 contact={"email": "ada@example.com", "status": "unsubscribed"}).json()
    action = body["would"]["actions"][0]
    assert "unsubscribed" in action["summary"] and "email" not in action


def test_a_template_that_does_not_render_fails_the_step_with_the_reason(api, workspace):
    template = EmailTemplateFactory(workspace=workspace, subject="{{ 1 | divided_by: 0 }}")
    body = _test(api, "send_email", config={"template_id": str(template.pk)}, contact={"email": "a@example.com"}).json()
    assert body["would"]["outcome"] == "fail"
    assert "did not render" in body["would"]["reason"]


def test_a_condition_explains_its_no(api):
    body = _test(api, "condition", config={"rule": {"in": ["vip", {"var": "contact.tags"}]}},
                 contact={"tags": ["trial"]}).json()
    assert body["would"]["branch"] == "no"
    assert body["would"]["explain"][0]["values"] == {"contact.tags": ["trial"]}


def test_a_field_change_is_described_not_made(api, workspace):
    contact = ContactFactory(workspace=workspace, fields={"plan": "free"})
    body = _test(api, "update_field", config={"field": "plan", "value": "pro"}, contact={"id": str(contact.pk)}).json()
    assert body["would"]["actions"][0]["summary"] == "Set field 'plan' to 'pro'"
    contact.refresh_from_db()
    assert contact.fields == {"plan": "free"}


def test_a_config_publishing_would_refuse_is_answered_with_the_same_errors(api, other_workspace):
    campaign = CampaignFactory(workspace=other_workspace)
    response = _test(api, "add_to_campaign", config={"campaign_id": str(campaign.pk)}, contact={})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["code"] == "unknown_reference"


@pytest.mark.parametrize(("node_type", "body", "status", "field"), [
    ("no_such_type", {"config": {}}, 404, None),
    ("add_tag", {"config": {"tag": ""}}, 400, "config.tag"),
    ("add_tag", {"config": {"tag": "x"}, "contact": {"id": "not-a-contact"}}, 400, "contact.id"),
    ("add_tag", {"config": {"tag": "x"}, "contact": {"score": "high"}}, 400, "contact.score"),
    ("trigger_event", {"config": {"event": "x.y"}, "event": {"properties": {}}}, 400, "event"),
])
def test_bad_input_is_a_clear_4xx(api, node_type, body, status, field):
    response = api.post(URL.format(node_type), body, format="json")
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    if field is not None:
        assert any(key.startswith(field) for key in error.get("details", {})), error


EVENT_TRIGGER_PRESETS = [preset for preset in trigger_presets(registry)
                         if registry.get(preset["type"]).entered_by == "event"]


@pytest.mark.parametrize("preset", EVENT_TRIGGER_PRESETS, ids=lambda preset: preset["id"])
def test_an_event_trigger_preset_fires_on_its_example_as_a_simulation_enters(api, workspace, preset):
    preset = with_real_objects(workspace, preset)
    example = preset["example"]
    event = {"type": example["event"]["type"], "properties": example["event"].get("properties", {})}
    contact = {"email": "ada@example.com", **example.get("contact", {})}
    body = _test(api, preset["type"], config=preset["config"], contact=contact, event=event).json()
    graph = Graph.from_builder({"nodes": [node("t", preset["type"], preset["config"])], "edges": []})
    simulated = simulate(graph=graph, settings=WorkflowSettings(), contact=contact, start=timezone.now(),
                         events=[{"type": event["type"], "properties": event["properties"]}], until="P1D")
    assert body["fires"] is (simulated.trigger_node == "t")
    assert body["fires"] is True


@pytest.mark.parametrize("preset", action_presets(registry), ids=lambda preset: preset["id"])
def test_an_action_preset_would_do_what_a_simulation_does(api, workspace, preset):
    preset = with_real_objects(workspace, preset)
    if preset["type"] in ("create_task", "notify"):
        MembershipFactory(workspace=workspace, user=UserFactory(email="sales@example.com"), role="admin")
    if preset["type"] == "webhook":
        signing_secret_rotate(workspace=workspace)
    contact = {"email": "ada@example.com", "first_name": "Ada", **preset["example"].get("contact", {})}
    response = _test(api, preset["type"], config=preset["config"], contact=contact)
    assert response.status_code == 200, response.json()
    graph = Graph.from_builder({"nodes": [node("t", "trigger_manual"), node(TEST_NODE, preset["type"], preset["config"])],
                                "edges": chain("t", TEST_NODE)})
    # A week: a business-hours window run on a Friday evening opens on Monday (a day's horizon failed from Friday
    # 17:00 to Sunday).
    simulated = simulate(graph=graph, settings=WorkflowSettings(), contact=contact, start=timezone.now(), until="P7D")
    would = response.json()["would"]
    assert simulated.actions  # every action preset does something
    if would["outcome"] == "wait":  # outside its send window now: the simulation acts when the window opens
        assert not would["actions"]
        assert simulated.actions[0]["at"].isoformat() == would["until"]
    else:
        assert [action["summary"] for action in would["actions"]] == [action["summary"] for action in simulated.actions]


def test_a_notification_shows_what_the_members_would_receive_and_queues_nothing(api, workspace):
    MembershipFactory(workspace=workspace, user=UserFactory(email="sales@example.com", first_name="Sam"))
    body = _test(api, "notify", config={"to": ["sales@example.com"], "subject": "Hot lead: {{ contact.email }}",
                                        "message": "Call {{ contact.first_name }}"},
                 contact={"email": "ada@example.com", "first_name": "Ada"}).json()
    notification = body["would"]["actions"][0]["notification"]
    assert notification["to"] == ["Sam <sales@example.com>"] or notification["to"][0].endswith("<sales@example.com>")
    assert notification["subject"] == "Hot lead: ada@example.com"
    assert notification["text"].startswith("Call Ada")
    assert not OutboxMessage.objects.exists()


def test_a_notification_to_the_admins_of_a_workspace_without_any_fails_with_the_reason(api):
    body = _test(api, "notify", config={"to": "workspace_admins", "subject": "Hi"}, contact={}).json()
    assert body["would"]["outcome"] == "fail"
    assert "no admins" in body["would"]["reason"]


def test_a_task_is_shown_rendered_and_not_created(api, workspace):
    MembershipFactory(workspace=workspace, user=UserFactory(email="sales@example.com"))
    body = _test(api, "create_task", config={"title": "Call {{ contact.first_name }}", "assignee_email":
                                             "sales@example.com", "due_in": "P1D"},
                 contact={"first_name": "Ada"}).json()
    task = body["would"]["actions"][0]["task"]
    assert task["title"] == "Call Ada" and task["assignee_email"] == "sales@example.com" and task["due_at"]
    assert not Task.objects.exists()


def test_a_filter_written_as_an_expression_is_tested_and_explained_as_one(api):
    body = _test(api, "trigger_event", config={"event": "page.viewed", "filter": {
        "js": 'event.properties.url.includes("/pricing") && contact.score >= 50'}},
        contact={"score": 10}, event={"type": "page.viewed", "properties": {"url": "/pricing"}}).json()
    assert body["fires"] is False
    clause = next(reason for reason in body["reasons"] if isinstance(reason, dict))
    assert clause["js"] == "contact.score >= 50"
    assert clause["values"] == {"contact.score": 10}


def test_an_expression_that_does_not_compile_is_a_400_with_its_position(api):
    response = _test(api, "condition", config={"rule": {"js": "contact.score >>> 2"}}, contact={})
    assert response.status_code == 400
    assert "config" in str(response.json()["error"]["details"])


def test_a_webhook_shows_the_signed_request_it_would_send_and_sends_nothing(api, workspace):
    secret = signing_secret_rotate(workspace=workspace).secret
    body = _test(api, "webhook", config={"url": "https://crm.example.com/hook?email={{ contact.email }}",
                                         "body": {"email": "{{ contact.email }}", "note": 'say "hi"'}},
                 contact={"email": "ada@example.com"}).json()
    request = body["would"]["actions"][0]["request"]
    assert request["url"] == "https://crm.example.com/hook?email=ada@example.com"
    assert json.loads(request["body"]) == {"email": "ada@example.com", "note": 'say "hi"'}
    headers = {name.lower(): value for name, value in request["headers"].items()}
    # Signed as the receiver will check it (Standard Webhooks' own verifier).
    assert Webhook(secret).verify(request["body"], headers) == json.loads(request["body"])


def test_a_webhook_without_a_signing_secret_is_refused_as_publishing_would(api):
    response = _test(api, "webhook", config={"url": "https://crm.example.com/hook"}, contact={})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["code"] == "webhook_secret_missing"


def test_a_send_message_step_shows_the_channel_it_would_use_and_the_email_it_would_send(api, workspace):
    template = EmailTemplateFactory(workspace=workspace, subject="Hi {{ contact.first_name }}")
    config = {"channels": ["preferred", "email"], "email": {"template_id": str(template.pk)}}
    body = _test(api, "send_message", config=config,
                 contact={"email": "ada@example.com", "first_name": "Ada", "preferred_channel": "sms"}).json()
    assert body["would"]["outcome"] == "advance"
    assert body["would"]["detail"]["channel"] == "email"
    assert body["would"]["detail"]["attempts"][0] == {"channel": "sms", "result": "skipped", "reason": "not_configured"}
    assert body["would"]["actions"][-1]["email"]["subject"] == "Hi Ada"
    assert not OutboxMessage.objects.exists()
