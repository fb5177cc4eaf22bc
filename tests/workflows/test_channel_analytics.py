"""Cross-channel analytics per workflow, node and channel (CONTRACT §13), from the runtime's counters and the
events messages cause, on the real PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from contacts.models import Contact
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory, EmailTemplateFactory
from tests.workflows.builders import publish, run_due
from tests.workflows.test_frequency_caps import capped, enroll, mailer
from tests.workflows.test_runtime import event_record
from workflows.channel_analytics import MEASURES, step_measures
from workflows.engine.state import StepRecord, WaitState
from workflows.runtime_gateway import RuntimeGateway

AT = datetime(2026, 11, 23, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _empty_queues():
    import django_rq

    for name in ("engine", "email"):
        django_rq.get_queue(name).empty()


def record(type_: str, outcome: str, **detail) -> StepRecord:
    return StepRecord("n", type_, AT, outcome, "default" if outcome == "advance" else None, detail)


@pytest.mark.parametrize(
    ("step", "measures"),
    [
        (record("send_email", "advance", message_id="m1", status="queued"), [("email", "sent")]),
        (record("send_email", "advance", message_id=None, status="suppressed"), [("email", "suppressed")]),
        (
            record("send_email", "advance", capped=True, skipped="frequency_cap"),
            [("email", "capped_skipped")],
        ),
        (record("send_email", "wait", capped=True, policy="defer"), [("email", "capped_deferred")]),
        (record("send_email", "wait", outside_window=True), []),
        (record("send_email", "fail", reason="The template did not render"), [("email", "failed")]),
        (record("add_tag", "advance"), []),
    ],
)
def test_a_send_step_counts_what_became_of_its_message(step, measures):
    assert step_measures(step) == measures


def test_send_message_counts_each_attempt_once_across_its_waits():
    attempts = [
        {"channel": "preferred", "result": "skipped", "reason": "no_preferred_channel"},
        {"channel": "sms", "result": "skipped", "reason": "no_consent"},
        {"channel": "email", "result": "sent", "message_id": "m1", "status": "queued"},
    ]
    waiting = record(
        "send_message", "wait", attempts=attempts, channel="email", send_message={"attempts": attempts}
    )
    assert step_measures(waiting) == [("sms", "suppressed"), ("email", "sent")]
    later = [*attempts, {"channel": "push", "result": "skipped", "reason": "frequency_cap"}]
    resumed = WaitState(node_id="n", since=AT, until=AT, detail={"send_message": {"attempts": attempts}})
    assert step_measures(record("send_message", "advance", attempts=later), resumed=resumed) == [
        ("push", "capped_skipped")
    ]
    deferred = record("send_message", "wait", attempts=[], channel="sms", deferred={"quiet_hours": True})
    assert step_measures(deferred) == [("sms", "quiet_deferred")]


def test_the_analytics_show_per_node_and_channel_what_became_of_the_messages(api, workspace):
    capped(workspace, {"channels": ["email"], "max": 1, "per": "P1D", "policy": "skip"})
    reader, leaver = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    welcome = mailer(workspace, "Welcome")
    enroll(api, welcome, reader)
    enroll(api, welcome, leaver)
    Contact.objects.filter(pk=leaver.pk).update(status="unsubscribed")  # after entering, before the email
    run_due()
    promo = mailer(workspace, "Promo")
    enroll(api, promo, reader)
    run_due()  # the reader had an email today: the cap skips this one
    workflow_id = str(welcome.pk)
    opened = {"workflow_id": workflow_id, "node_id": "m", "message_id": "x"}
    RuntimeGateway().process(
        events=[
            event_record(reader, "email.delivered", opened),
            event_record(reader, "email.opened", opened),
            event_record(reader, "email.clicked", {**opened, "url": "https://example.com"}),
            event_record(reader, "email.opened", {"node_id": "m"}),  # no workflow: not this one's
        ]
    )

    response = api.get(f"/api/v1/workflows/{welcome.pk}/analytics")
    assert response.status_code == 200, response.content
    channels = response.json()["channels"]
    expected = {**dict.fromkeys(MEASURES, 0), "sent": 1, "suppressed": 1, "delivered": 1, "engaged": 2}
    assert channels == {"totals": {"email": expected}, "nodes": {"m": {"email": expected}}}
    promo_channels = api.get(f"/api/v1/workflows/{promo.pk}/analytics").json()["channels"]
    assert promo_channels["nodes"]["m"]["email"]["capped_skipped"] == 1
    assert promo_channels["totals"]["email"]["sent"] == 0


def test_bot_hits_are_not_engagement(api, workspace):
    template = EmailTemplateFactory(workspace=workspace)
    workflow = publish(
        workspace,
        [node("t", "trigger_manual"), node("m", "send_email", {"template_id": str(template.pk)})],
        chain("t", "m"),
    )
    contact = ContactFactory(workspace=workspace)
    bot = event_record(contact, "email.opened", {"workflow_id": str(workflow.pk), "node_id": "m"})
    bot = dataclasses.replace(bot, flags={"bot": True})
    RuntimeGateway().process(events=[bot])
    assert api.get(f"/api/v1/workflows/{workflow.pk}/analytics").json()["channels"] == {
        "totals": {},
        "nodes": {},
    }
