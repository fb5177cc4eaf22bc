"""Events nothing reacts to are written processed; every event something could react to is queued as before
(workflows.event_reactions, through the engine gateway and events.services.events_write)."""

from __future__ import annotations

import pytest

from events.models import Event
from events.processing import events_claim, events_process_pending
from events.services import event_emit
from tests.engine.graphs import chain, edge, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import subscription_create, subscription_disable
from workflows.models import Enrollment


@pytest.fixture(autouse=True)
def _fresh_trigger_index():
    from workflows import trigger_index

    trigger_index._cache.reset()
    yield
    trigger_index._cache.reset()


def emitted(workspace, type_, contact=None) -> Event:
    event = event_emit(workspace=workspace, type=type_, contact_id=contact.pk if contact else None)
    return Event.objects.get(pk=event.pk)


def queued(event: Event) -> bool:
    return event.processed_at is None


def enroll(api, workflow, contact) -> Enrollment:
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]},
                        format="json")
    assert response.status_code == 202, response.content
    return Enrollment.objects.get(workflow=workflow, contact=contact)


def test_an_event_nothing_reacts_to_is_written_processed_and_never_claimed(workspace):
    contact = ContactFactory(workspace=workspace)
    event = emitted(workspace, "workflow.completed", contact)
    assert event.processed_at == event.received_at
    assert [event_id for event_id, _ in events_claim()] == []


def test_a_type_some_published_trigger_listens_to_is_queued_and_starts_it(workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_event", {"event": "workflow.completed"}),
                                   node("a", "add_tag", {"tag": "followed-up"})], [edge("t", "a")])
    event = emitted(workspace, "workflow.completed", contact)
    assert queued(event)
    assert queued(emitted(workspace, "workflow.enrolled", contact)) is False  # no trigger listens to this one
    events_process_pending()
    assert Enrollment.objects.filter(workflow=workflow, contact=contact).count() == 1


def test_another_workspace_trigger_does_not_keep_this_workspace_events(workspace, other_workspace):
    publish(other_workspace, [node("t", "trigger_event", {"event": "workflow.completed"}),
                              node("a", "add_tag", {"tag": "x"})], [edge("t", "a")])
    assert not queued(emitted(workspace, "workflow.completed", ContactFactory(workspace=workspace)))


@pytest.mark.parametrize("wanted", [["workflow.completed"], ["workflow.*"], ["*"]])
def test_a_type_an_active_subscription_wants_is_queued_and_delivered(workspace, wanted):
    subscription = subscription_create(workspace=workspace, url="https://hooks.example.com/in", events=wanted)
    event = emitted(workspace, "workflow.completed")
    assert queued(event)
    events_process_pending()
    assert WebhookDelivery.objects.filter(subscription=subscription, event_id=event.pk).count() == 1


def test_a_disabled_subscription_keeps_nothing_queued(workspace):
    subscription = subscription_create(workspace=workspace, url="https://hooks.example.com/in", events=["*"])
    subscription_disable(subscription_id=subscription.pk, reason="test", notify=False)
    assert WebhookSubscription.objects.get(pk=subscription.pk).status != WebhookSubscription.Status.ACTIVE
    assert not queued(emitted(workspace, "workflow.completed"))


def test_a_live_enrollment_that_could_wait_for_the_type_keeps_it_queued_before_it_waits(api, workspace):
    contact, stranger = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    workflow = publish(workspace, [
        node("t", "trigger_manual"), node("d", "delay", {"duration": "PT1H"}),
        node("w", "wait_for_event", {"event": "sms.sent", "timeout": "P1D"}),
        node("yes", "add_tag", {"tag": "texted"}), node("no", "add_tag", {"tag": "not-texted"}),
    ], [*chain("t", "d", "w"), edge("w", "yes", "event"), edge("w", "no", "timeout")])
    enrollment = enroll(api, workflow, contact)
    run_due()
    enrollment.refresh_from_db()
    assert enrollment.waiting_for == ""  # still in its delay: on its way to the wait, not at it
    assert queued(emitted(workspace, "sms.sent", contact))
    assert not queued(emitted(workspace, "sms.sent", stranger))  # no live enrollment of this contact
    assert not queued(emitted(workspace, "email.sent", contact))  # a type the workflow never waits for


def test_a_waiting_enrollment_is_resumed_by_the_event_it_waits_for(api, workspace):
    contact = ContactFactory(workspace=workspace, tags=[])
    workflow = publish(workspace, [
        node("t", "trigger_manual"),
        node("w", "wait_for_event", {"event": "workflow.completed", "timeout": "P1D"}),
        node("yes", "add_tag", {"tag": "done"}), node("no", "add_tag", {"tag": "timed-out"}),
    ], [edge("t", "w"), edge("w", "yes", "event"), edge("w", "no", "timeout")])
    enrollment = enroll(api, workflow, contact)
    run_due()
    enrollment.refresh_from_db()
    assert enrollment.waiting_for == "workflow.completed"
    assert queued(emitted(workspace, "workflow.completed", contact))
    events_process_pending()
    run_due()
    contact.refresh_from_db()
    assert contact.tags == ["done"]


def test_an_exit_condition_type_is_queued_and_exits_the_enrollment(api, workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual"), node("d", "delay", {"duration": "P7D"}),
                                   node("a", "add_tag", {"tag": "late"})], chain("t", "d", "a"),
                       settings={"exit_conditions": [{"event": "push.sent", "goal": "Reached"}]})
    enrollment = enroll(api, workflow, contact)
    run_due()
    assert queued(emitted(workspace, "push.sent", contact))
    events_process_pending()
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.goal) == ("exited", "Reached")


@pytest.mark.parametrize("type_", ["email.delivered", "email.opened", "email.clicked", "push.clicked",
                                   "sms.received", "sms.failed"])
def test_types_analytics_read_are_always_queued(workspace, type_):
    assert queued(emitted(workspace, type_, ContactFactory(workspace=workspace)))


def test_the_null_gateway_queues_every_event(workspace, settings):
    settings.ENGINE_GATEWAY = "events.gateway.NullGateway"
    assert queued(emitted(workspace, "workflow.completed", ContactFactory(workspace=workspace)))


def test_a_workspace_and_a_contact_named_by_their_text_are_judged_alike(api, workspace):
    contact = ContactFactory(workspace=workspace)
    publish(workspace, [node("t", "trigger_event", {"event": "order.paid"}), node("a", "add_tag", {"tag": "x"})],
            [edge("t", "a")], name="Paid")
    waits = publish(workspace, [
        node("t", "trigger_manual"), node("w", "wait_for_event", {"event": "sms.sent", "timeout": "P1D"}),
        node("yes", "add_tag", {"tag": "texted"}), node("no", "add_tag", {"tag": "not-texted"}),
    ], [edge("t", "w"), edge("w", "yes", "event"), edge("w", "no", "timeout")], name="Waits")
    enroll(api, waits, contact)
    for type_ in ("order.paid", "sms.sent"):
        event = event_emit(workspace=str(workspace.pk), type=type_, contact_id=str(contact.pk))
        assert queued(Event.objects.get(pk=event.pk)), type_
