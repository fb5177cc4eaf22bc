"""Content recommendations live, on the real PostgreSQL (issue 20 item 5): the topics and links a contact clicks,
kept by event processing and read by conditions and templates, and a send step choosing among candidate templates
from what contacts sharing the contact's top topic clicked."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from contacts.segments import rule_members
from events.processing import events_process_pending
from events.services import NewEvent, events_emit
from templates.models import OutboxMessage
from tests.engine.graphs import chain, edge, node
from tests.factories import ContactFactory, EmailTemplateFactory
from tests.workflows.builders import publish, run_due
from workflows.models import ContentChoice, Enrollment, StepRun


@pytest.fixture(autouse=True)
def _empty_queues():
    import django_rq

    for name in ("engine", "email", "events"):
        django_rq.get_queue(name).empty()


def click(contact, url, type_="email.clicked", **properties):
    return NewEvent(type=type_, contact_id=contact.pk, properties={"url": url, **properties})


def test_clicks_make_interests_that_conditions_templates_and_the_candidate_choice_use(api, workspace):
    contact = ContactFactory(workspace=workspace)
    events_emit(workspace=workspace, events=[
        click(contact, "https://shop.example/shoes/red?utm_source=mail"),
        click(contact, "https://www.shop.example/shoes/red"),
        click(contact, "https://shop.example/blog/spring"),
        click(contact, "https://shop.example/shoes/blue", type_="push.clicked", topic="sale"),
        NewEvent(type="email.clicked", contact_id=contact.pk, properties={"url": "https://shop.example/golf/x"},
                 flags={"bot": True, "reason": "scanner"}),  # a scanner's click counts for nothing
    ])  # fmt: skip
    with TestCase.captureOnCommitCallbacks(execute=True):  # the contacts' summaries are written after commit
        events_process_pending()
    contact.refresh_from_db()
    expected = {
        "topics": [{"topic": "shoes", "count": 2, "share": 0.5}, {"topic": "blog", "count": 1, "share": 0.25},
                   {"topic": "sale", "count": 1, "share": 0.25}],
        "links": [{"link": "shop.example/shoes/red", "count": 2}, {"link": "shop.example/blog/spring", "count": 1},
                  {"link": "shop.example/shoes/blue", "count": 1}],
        "clicks": 4,
    }  # fmt: skip
    assert contact.interests == expected
    # A rebuild from the stored clicks (for history from before, or after a replay) finds the same.
    out = io.StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("interests_rebuild", "--workspace", workspace.slug, stdout=out)
    contact.refresh_from_db()
    assert contact.interests == expected and "counted 4 clicks" in out.getvalue()

    # Segments read them too: the count in SQL, the top topic (a path through a list) in Python.
    for rule in ({">=": [{"var": "contact.interests.clicks"}, 4]},
                 {"==": [{"var": "contact.interests.topics.0.topic"}, "shoes"]}):
        assert rule_members(workspace_id=workspace.pk, rule=rule, now=timezone.now()) == {contact.pk}
    assert rule_members(workspace_id=workspace.pk, rule={">": [{"var": "contact.interests.clicks"}, 4]},
                        now=timezone.now()) == set()  # fmt: skip

    plain = EmailTemplateFactory(workspace=workspace, subject="News")
    themed = EmailTemplateFactory(workspace=workspace, subject="New in {{ contact.interests.topics[0].topic }}")
    candidates = [str(plain.pk), str(themed.pk)]
    workflow = publish(workspace, [
        node("t", "trigger_manual"),
        node("c", "condition", {"rule": {"==": [{"var": "contact.interests.topics.0.topic"}, "shoes"]}}),
        node("m", "send_email", {"template_id": candidates[0], "template_ids": candidates}),
    ], [*chain("t", "c"), edge("c", "m", "yes")])  # fmt: skip
    # Contacts whose top topic is shoes clicked the themed email far more often; everyone else, the plain one.
    ContentChoice.objects.bulk_create([
        ContentChoice(workflow=workflow, node_id="m", key=f"earlier:{template}:{topic}:{n}", template_id=template,
                      topic=topic, clicked=n < clicks)
        for template, topic, clicks in ((candidates[0], "shoes", 1), (candidates[1], "shoes", 24),
                                        (candidates[0], "", 30), (candidates[1], "", 2))
        for n in range(40)
    ])  # fmt: skip
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]},
                        format="json")  # fmt: skip
    assert response.status_code == 202, response.content
    enrollment = Enrollment.objects.get(workflow=workflow, contact=contact)
    run_due()

    assert StepRun.objects.get(enrollment=enrollment, node_id="c").branch == "yes"
    step = StepRun.objects.get(enrollment=enrollment, node_id="m")
    choice = step.detail["content_choice"]
    assert step.detail["template_id"] == candidates[1] and choice["basis"] == "topic" and choice["topic"] == "shoes"
    assert "contacts whose top topic is 'shoes'" in choice["reason"]
    message = OutboxMessage.objects.get(contact=contact)
    assert message.subject == "New in shoes"
    recorded = ContentChoice.objects.get(key=message.key)
    assert (recorded.template_id, recorded.topic, recorded.clicked) == (candidates[1], "shoes", False)

    # The contact clicks that message: the choice is credited once, however often they click.
    properties = {"message_id": str(message.pk), "node_id": "m", "workflow_id": str(workflow.pk)}
    events_emit(workspace=workspace, events=[click(contact, "https://shop.example/shoes/new", **properties),
                                             click(contact, "https://shop.example/shoes/new", **properties)])
    events_process_pending()
    recorded.refresh_from_db()
    assert recorded.clicked
    assert ContentChoice.objects.filter(workflow=workflow, clicked=True).count() == (1 + 24 + 30 + 2) + 1
