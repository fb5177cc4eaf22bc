"""Entries a trigger offered that did not start are counted on their version, by reason, and the analytics answer
them under `triggers` (docs/api-additions.md): how a marketer learns why an event started nothing. An event
processed again: tests/workflows/test_runtime.py; time triggers: tests/workflows/test_time_triggers.py."""

from __future__ import annotations

from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due
from tests.workflows.test_runtime import enroll, event_record
from workflows.models import Enrollment
from workflows.runtime_gateway import RuntimeGateway


def _triggers(api, workflow) -> dict:
    response = api.get(f"/api/v1/workflows/{workflow.pk}/analytics")
    assert response.status_code == 200, response.content
    return response.json()["triggers"]


def test_an_event_for_a_contact_still_in_the_workflow_is_counted_as_already_enrolled(api, workspace):
    contact, other = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_event", {"event": "form.submitted"}),
                                   node("d", "delay", {"duration": "P1D"})],
                       chain("t", "d"), settings={"reenrollment": {"mode": "always"}})
    RuntimeGateway().process(events=[event_record(contact, "form.submitted")])
    assert _triggers(api, workflow) == {}  # nothing skipped: the trigger is left out

    RuntimeGateway().process(events=[event_record(contact, "form.submitted"), event_record(other, "form.submitted")])
    assert Enrollment.objects.filter(workflow=workflow).count() == 2
    assert _triggers(api, workflow) == {"t": {"not_entered": 0, "skipped": {"already_enrolled": 1}}}


def test_the_same_contact_twice_in_one_batch_is_counted_as_a_duplicate(api, workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_event", {"event": "form.submitted"})], [],
                       settings={"reenrollment": {"mode": "always"}})
    RuntimeGateway().process(events=[event_record(contact, "form.submitted"), event_record(contact, "form.submitted")])
    assert _triggers(api, workflow)["t"]["skipped"] == {"duplicate": 1}


def test_a_workflows_own_event_is_counted_as_self_triggered(api, workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_event", {"event": "contact.tagged"})], [],
                       settings={"reenrollment": {"mode": "always"}})
    RuntimeGateway().process(events=[event_record(contact, "contact.tagged", {"workflow_id": str(workflow.pk)})])
    assert not Enrollment.objects.filter(workflow=workflow).exists()
    assert _triggers(api, workflow)["t"]["skipped"] == {"self_triggered": 1}


def test_a_second_enroll_under_never_is_counted_as_not_allowed_and_by_version(api, workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("start", "trigger_manual")], [])  # re-enrollment `never` by default
    enroll(api, workflow, contact)
    run_due()
    again = enroll(api, workflow, contact)
    assert again["skipped"][0]["reason"] == "reenrollment_not_allowed"
    assert _triggers(api, workflow) == {"start": {"not_entered": 0, "skipped": {"reenrollment_not_allowed": 1}}}
    by_version = api.get(f"/api/v1/workflows/{workflow.pk}/analytics?version=1").json()["triggers"]
    assert by_version["start"]["skipped"] == {"reenrollment_not_allowed": 1}
    assert api.get(f"/api/v1/workflows/{workflow.pk}/analytics?version=2").status_code == 404
