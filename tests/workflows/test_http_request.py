"""The http_request and lookup steps for real: published, run by the runtime against a real local server and the
real database; their answers mapped into the enrollment's variables, which a following condition and a Liquid
template read. The credential's secret goes into the header and nowhere else; the SSRF guard refuses internal
addresses; a retry carries the same Idempotency-Key; a path the answer lacks fails the step saying which."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event
from penguinflow.workspaces.services import credential_create
from tests.engine.graphs import chain, edge, node
from tests.factories import CampaignFactory, ContactFactory
from tests.webhook_receiver import Answer, receiver_server
from tests.workflows.builders import publish, run_due
from workflows.models import Enrollment, StepRun

SECRET = "sk_live_s3cr3t-value"
ACCOUNT = {"data": {"plan": "pro", "seats": 5, "owners": [{"email": "boss@x.test"}]}}


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with receiver_server() as receiver:
        yield receiver


def _enroll(api, workflow, contact) -> Enrollment:
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]},
                        format="json")
    assert response.status_code == 202, response.content
    return Enrollment.objects.get(workflow=workflow, contact=contact)


def _call_then_branch(workspace, **config):
    """trigger → http_request → condition on enrollment.vars.plan → (yes) a field set from a template
    of the variables, (no) a tag."""
    rule = {"==": [{"var": "enrollment.vars.plan"}, "pro"]}
    return publish(workspace, [
        node("t", "trigger_manual"), node("h", "http_request", config), node("c", "condition", {"rule": rule}),
        node("f", "update_field", {"field": "plan", "value": "{{ enrollment.vars.plan }}/{{ enrollment.vars.seats }}"}),
        node("n", "add_tag", {"tag": "not-pro"}),
    ], [*chain("t", "h", "c"), edge("c", "f", "yes"), edge("c", "n", "no")])


def test_the_answer_is_mapped_into_variables_that_a_condition_and_a_template_read(
        api, workspace, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    credential = credential_create(workspace=workspace, name="Accounts API", secret=SECRET)
    contact = ContactFactory(workspace=workspace, email="ada@x.test")
    receiver.answer(Answer(200, body=json.dumps(ACCOUNT).encode()))
    workflow = _call_then_branch(
        workspace, url=receiver.url + "/accounts?email={{ contact.email }}", method="POST",
        headers={"Authorization": "Bearer {{ credential }}"}, body={"email": "{{ contact.email }}"},
        credential_id=str(credential.pk),
        map={"plan": "$.data.plan", "seats": "$.data.seats", "owner": "$.data.owners[0].email"})

    enrollment = _enroll(api, workflow, contact)
    run_due()

    enrollment.refresh_from_db()
    assert enrollment.status == "completed", enrollment.error
    assert enrollment.context["vars"] == {"plan": "pro", "seats": 5, "owner": "boss@x.test"}
    assert api.get(f"/api/v1/executions/{enrollment.pk}").json()["vars"] == enrollment.context["vars"]
    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", "/accounts?email=ada@x.test")
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert request.headers["Idempotency-Key"].startswith("pf_")
    assert json.loads(request.body) == {"email": "ada@x.test"}
    steps = {step.node_id: step for step in StepRun.objects.filter(enrollment=enrollment)}
    assert steps["c"].branch == "yes" and "n" not in steps
    contact.refresh_from_db()
    assert contact.fields["plan"] == "pro/5"
    # The secret is in the header sent, and nowhere PenguinFlow keeps or prints anything.
    assert SECRET not in json.dumps(steps["h"].detail) + json.dumps(enrollment.context)
    assert SECRET not in caplog.text


def test_a_mapped_path_the_answer_lacks_fails_the_step_with_the_path(api, workspace, receiver):
    receiver.answer(Answer(200, body=b'{"data": {"seats": 5}}'))
    workflow = _call_then_branch(workspace, url=receiver.url, map={"plan": "$.data.plan"})
    enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace))
    run_due()
    enrollment.refresh_from_db()
    assert enrollment.status == "failed"
    assert "$.data has no key 'plan' (it has: seats)" in enrollment.error["message"]
    assert enrollment.context["vars"] == {}
    assert set(StepRun.objects.filter(enrollment=enrollment).values_list("node_id", flat=True)) == {"t", "h"}


def test_an_answer_that_is_not_json_fails_the_step_when_something_is_mapped(api, workspace, receiver):
    receiver.answer(Answer(200, {"Content-Type": "text/html"}, b"<html>hi</html>"))
    workflow = _call_then_branch(workspace, url=receiver.url, map={"plan": "$.plan"})
    enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace))
    run_due()
    enrollment.refresh_from_db()
    assert enrollment.status == "failed"
    assert "not JSON (text/html)" in enrollment.error["message"]


def test_a_5xx_is_retried_with_the_same_idempotency_key(api, workspace, receiver):
    receiver.answer(Answer(503, {}, b"busy"), Answer(200, body=json.dumps(ACCOUNT).encode()))
    workflow = _call_then_branch(workspace, url=receiver.url, method="POST", map={"plan": "$.data.plan"})
    enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace))
    start = timezone.now()
    run_due(now=start)
    enrollment.refresh_from_db()
    assert enrollment.status == "waiting" and enrollment.context["vars"] == {}
    run_due(now=start + timedelta(hours=1))
    enrollment.refresh_from_db()
    assert enrollment.status == "completed" and enrollment.context["vars"] == {"plan": "pro"}
    keys = [request.headers["Idempotency-Key"] for request in receiver.requests]
    assert len(keys) == 2 and keys[0] == keys[1]


def test_an_internal_address_is_refused_at_publish_and_when_rendered_at_send_time(api, workspace, settings):
    graph = {"nodes": [node("t", "trigger_manual"),
                       node("h", "http_request", {"url": "http://169.254.169.254/latest/meta-data"})],
             "edges": chain("t", "h")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    published = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert published.status_code == 422
    assert [(e["code"], e["node_id"]) for e in published.json()["error"]["details"]["errors"]] == [
        ("url_refused", "h")]

    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with receiver_server() as receiver:  # a real server on 127.0.0.1 that must never be reached
        contact = ContactFactory(workspace=workspace, fields={"api": receiver.url.removeprefix("http://")})
        workflow = _call_then_branch(workspace, url="http://{{ contact.fields.api }}/x", map={"plan": "$.plan"})
        enrollment = _enroll(api, workflow, contact)
        run_due()
        assert receiver.requests == []
    enrollment.refresh_from_db()
    assert enrollment.status == "failed"
    assert "The request was not sent" in enrollment.error["message"]


def test_another_workspaces_credential_is_refused_at_publish(api, workspace, other_workspace):
    theirs = credential_create(workspace=other_workspace, name="Theirs", secret=SECRET)
    graph = {"nodes": [node("t", "trigger_manual"), node("h", "http_request", {
        "url": "https://api.example.com/x", "headers": {"Authorization": "Bearer {{ credential }}"},
        "credential_id": str(theirs.pk)})], "edges": chain("t", "h")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    published = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert published.status_code == 422
    (error,) = published.json()["error"]["details"]["errors"]
    assert (error["code"], error["node_id"]) == ("unknown_reference", "h")


def test_lookups_read_events_campaigns_and_another_contact_of_the_workspace_only(
        api, workspace, other_workspace):
    contact = ContactFactory(workspace=workspace, fields={"referrer": "Ref@X.test", "stranger": "far@x.test"})
    ContactFactory(workspace=workspace, email="ref@x.test", first_name="Rita")
    ContactFactory(workspace=other_workspace, email="far@x.test", first_name="Not yours")
    now = timezone.now()
    for total, ago in ((40, 2), (120, 1)):
        Event.objects.create(workspace_id=workspace.pk, contact_id=contact.pk, type="order.completed",
                             properties={"total": total}, occurred_at=now - timedelta(days=ago), received_at=now)
    campaign = CampaignFactory(workspace=workspace, name="Spring")
    campaign.members.create(contact=contact)
    workflow = publish(workspace, [
        node("t", "trigger_manual"),
        node("e", "lookup", {"source": "recent_events", "key": "order.completed",
                             "map": {"orders": "$.count", "last_total": "$.last.properties.total"}}),
        node("m", "lookup", {"source": "campaigns", "map": {"campaign": "$.campaigns[0].name"}}),
        node("r", "lookup", {"source": "contact", "key": "{{ contact.fields.referrer }}",
                             "map": {"referrer": "$.contact.first_name"}}),
        node("s", "lookup", {"source": "contact", "key": "{{ contact.fields.stranger }}",
                             "map": {"stranger_found": "$.found"}}),
    ], chain("t", "e", "m", "r", "s"))

    enrollment = _enroll(api, workflow, contact)
    run_due()

    enrollment.refresh_from_db()
    assert enrollment.status == "completed", enrollment.error
    assert enrollment.context["vars"] == {"orders": 2, "last_total": 120, "campaign": "Spring",
                                         "referrer": "Rita", "stranger_found": False}
