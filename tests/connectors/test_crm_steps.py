"""crm_create and crm_update for real: published, run by the runtime against a local server speaking each CRM's
API subset, through the outbound guard; the record's id and URL land on the step and in the enrollment's
variables, which the update (and any later step) reads. An expired token turns the connector needs_attention and
fails the step with the reason and the fix; a 429 is retried after its Retry-After with the same
Idempotency-Key; publishing refuses an unknown connector, another workspace's, and a social account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import Connector
from connectors.services import connector_create
from tests.connectors.crm_servers import TOKEN, crm_server
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due
from workflows.models import Enrollment, StepRun

# Each CRM's own field names, mapped from the contact.
CONTACT_FIELDS = {
    "hubspot": ({"email": "{{ contact.email }}", "firstname": "{{ contact.first_name }}"},
                {"lifecyclestage": "customer"}),
    "salesforce": ({"Email": "{{ contact.email }}", "FirstName": "{{ contact.first_name }}", "LastName": "Lovelace"},
                   {"Title": "Customer since {{ contact.fields.plan }}"}),
    "pipedrive": ({"name": "{{ contact.first_name }}", "email": "{{ contact.email }}"}, {"label": "customer"}),
}


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


def _connector(workspace, crm, kind: str, **settings) -> Connector:
    return connector_create(workspace=workspace, kind=kind, name=f"{kind} CRM", secret=TOKEN, base_url=crm.url,
                            settings=settings)


def _enroll(api, workflow, contact) -> Enrollment:
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]},
                        format="json")
    assert response.status_code == 202, response.content
    return Enrollment.objects.get(workflow=workflow, contact=contact)


def _create_then_update(workspace, connector, created: dict, updated: dict, object_name: str = "contact", **extra):
    config = {"connector_id": str(connector.pk), "object": object_name, **extra}
    return publish(workspace, [node("t", "trigger_manual"), node("c", "crm_create", {**config, "fields": created}),
                               node("u", "crm_update", {**config, "fields": updated}),
                               node("f", "update_field", {"field": "crm_id", "value": "{{ enrollment.vars."
                                                          + (extra.get("variable") or f"crm_{object_name}_id")
                                                          + " }}"})],
                   chain("t", "c", "u", "f"))


@pytest.mark.parametrize("kind", ["hubspot", "salesforce", "pipedrive"])
def test_a_contact_is_created_then_updated_in_each_crm(api, workspace, kind):
    contact = ContactFactory(workspace=workspace, email="ada@x.test", first_name="Ada", fields={"plan": "2026"})
    created, updated = CONTACT_FIELDS[kind]
    with crm_server(kind) as crm:
        connector = _connector(workspace, crm, kind, portal_id="42", company_domain="acme")
        enrollment = _enroll(api, _create_then_update(workspace, connector, created, updated), contact)
        run_due()

    enrollment.refresh_from_db()
    assert enrollment.status == "completed", enrollment.error
    (record_id,) = crm.records["contact"]
    assert enrollment.context["vars"]["crm_contact_id"] == record_id
    record = crm.records["contact"][record_id]
    rendered = {"hubspot": {"email": "ada@x.test", "firstname": "Ada", "lifecyclestage": "customer"},
                "salesforce": {"Email": "ada@x.test", "FirstName": "Ada", "LastName": "Lovelace",
                               "Title": "Customer since 2026"},
                "pipedrive": {"name": "Ada", "email": "ada@x.test", "label": "customer"}}[kind]
    assert {name: record[name] for name in rendered} == rendered
    urls = {"hubspot": f"https://app.hubspot.com/contacts/42/record/0-1/{record_id}",
            "salesforce": f"{crm.url}/lightning/r/Contact/{record_id}/view",
            "pipedrive": f"https://acme.pipedrive.com/person/{record_id}"}
    assert enrollment.context["vars"]["crm_contact_url"] == urls[kind]
    steps = {step.node_id: step for step in StepRun.objects.filter(enrollment=enrollment)}
    assert (steps["c"].detail["record_id"], steps["c"].detail["url"]) == (record_id, urls[kind])
    contact.refresh_from_db()
    assert contact.fields["crm_id"] == record_id  # a later step read the variable
    create, update = crm.writes()
    assert update.path.endswith(f"/{record_id}") and update.method == {"pipedrive": "PUT"}.get(kind, "PATCH")
    assert create.headers["Idempotency-Key"].startswith("pf_")
    assert TOKEN not in str(steps["c"].detail) + str(enrollment.context)


def test_an_update_without_a_stored_id_finds_the_contact_by_email(api, workspace):
    contact = ContactFactory(workspace=workspace, email="grace@x.test")
    with crm_server("hubspot") as crm:
        crm.records["contact"]["77"] = {"email": "grace@x.test"}
        connector = _connector(workspace, crm, "hubspot")
        workflow = publish(workspace, [node("t", "trigger_manual"), node("u", "crm_update", {
            "connector_id": str(connector.pk), "fields": {"lifecyclestage": "lead"}})], chain("t", "u"))
        enrollment = _enroll(api, workflow, contact)
        run_due()
    enrollment.refresh_from_db()
    assert enrollment.status == "completed", enrollment.error
    assert crm.records["contact"]["77"]["lifecyclestage"] == "lead"
    assert enrollment.context["vars"]["crm_contact_id"] == "77"


def test_a_deal_is_created_and_updated_under_the_variable_named(api, workspace):
    with crm_server("hubspot") as crm:
        connector = _connector(workspace, crm, "hubspot")
        workflow = _create_then_update(workspace, connector, {"dealname": "{{ contact.email }} deal",
                                                              "dealstage": "appointmentscheduled"},
                                       {"dealstage": "closedwon"}, object_name="deal", variable="their_deal")
        enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace, email="d@x.test"))
        run_due()
    enrollment.refresh_from_db()
    assert enrollment.status == "completed", enrollment.error
    (deal_id,) = crm.records["deal"]
    assert crm.records["deal"][deal_id] == {"dealname": "d@x.test deal", "dealstage": "closedwon"}
    assert enrollment.context["vars"]["their_deal"] == deal_id


def test_hubspot_answers_an_existing_contact_which_the_create_then_updates(api, workspace):
    with crm_server("hubspot") as crm:
        crm.records["contact"]["55"] = {"email": "ada@x.test", "firstname": "Old"}
        connector = _connector(workspace, crm, "hubspot")
        workflow = _create_then_update(workspace, connector, *CONTACT_FIELDS["hubspot"])
        enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace, email="ada@x.test", first_name="Ada"))
        run_due()
    enrollment.refresh_from_db()
    assert enrollment.status == "completed", enrollment.error
    assert list(crm.records["contact"]) == ["55"] and crm.records["contact"]["55"]["firstname"] == "Ada"


@pytest.mark.parametrize("kind", ["hubspot", "salesforce", "pipedrive"])
def test_an_expired_token_turns_the_connector_needs_attention_and_fails_the_step_with_the_fix(api, workspace, kind):
    with crm_server(kind) as crm:
        crm.token_expired = True
        connector = _connector(workspace, crm, kind)
        workflow = _create_then_update(workspace, connector, *CONTACT_FIELDS[kind])
        enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace))
        run_due()
        assert len(crm.requests) == 1  # not retried: only a person can fix it
    enrollment.refresh_from_db()
    assert enrollment.status == "failed"
    assert "refused the connector's token" in enrollment.error["message"]
    assert "Enter a new token in Settings → Connectors" in enrollment.error["message"]
    connector.refresh_from_db()
    assert connector.status == "needs_attention" and "401" in connector.last_error
    body = api.get(f"/api/v1/connectors/{connector.pk}").json()
    assert body["status"] == "needs_attention" and body["last_error"]


def test_a_rate_limit_is_retried_after_its_retry_after_with_the_same_idempotency_key(api, workspace):
    with crm_server("pipedrive") as crm:
        crm.queue(429, {"Retry-After": "600"}, b'{"success": false, "error": "Rate limit exceeded"}')
        connector = _connector(workspace, crm, "pipedrive")
        workflow = _create_then_update(workspace, connector, *CONTACT_FIELDS["pipedrive"])
        enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace))
        start = timezone.now()
        run_due(now=start)
        enrollment.refresh_from_db()
        assert enrollment.status == "waiting"
        assert enrollment.next_run_at >= start + timedelta(seconds=600)
        run_due(now=start + timedelta(hours=1))
    enrollment.refresh_from_db()
    assert enrollment.status == "completed", enrollment.error
    first, second = [seen for seen in crm.requests if seen.path == "/v1/persons"]
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert len(crm.records["contact"]) == 1


def _publish_errors(api, connector_id: str) -> list[tuple[str, str]]:
    graph = {"nodes": [node("t", "trigger_manual"), node("c", "crm_create", {
        "connector_id": connector_id, "fields": {"email": "{{ contact.email }}"}})], "edges": chain("t", "c")}
    workflow_id = api.post("/api/v1/workflows", {"name": "CRM", "graph": graph}, format="json").json()["id"]
    published = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert published.status_code == 422, published.content
    return [(error["code"], error["message"]) for error in published.json()["error"]["details"]["errors"]]


def test_publishing_refuses_an_unknown_connector_another_workspaces_and_a_social_account(
        api, workspace, other_workspace):
    theirs = connector_create(workspace=other_workspace, kind="hubspot", name="Theirs", secret=TOKEN)
    social = connector_create(workspace=workspace, kind="x", name="Our X", secret=TOKEN)

    assert _publish_errors(api, "00000000-0000-0000-0000-000000000000")[0][0] == "unknown_reference"
    assert _publish_errors(api, str(theirs.pk))[0][0] == "unknown_reference"
    ((code, message),) = _publish_errors(api, str(social.pk))
    assert code == "unfit_reference" and "choose a CRM connector" in message


def test_an_unknown_object_is_a_config_error(api):
    graph = {"nodes": [node("t", "trigger_manual"), node("c", "crm_create", {
        "connector_id": "x", "object": "invoice", "fields": {"email": "x"}})], "edges": chain("t", "c")}
    workflow_id = api.post("/api/v1/workflows", {"name": "CRM", "graph": graph}, format="json").json()["id"]
    published = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert published.status_code == 422, published.content
    errors = published.json()["error"]["details"]["errors"]
    assert any(error["node_id"] == "c" and "object" in error["message"] for error in errors), errors


def test_a_deleted_connector_fails_the_step_saying_so(api, workspace):
    with crm_server("hubspot") as crm:
        connector = _connector(workspace, crm, "hubspot")
        workflow = _create_then_update(workspace, connector, *CONTACT_FIELDS["hubspot"])
        Connector.objects.filter(pk=connector.pk).delete()
        enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace))
        run_due()
        assert crm.requests == []
    enrollment.refresh_from_db()
    assert enrollment.status == "failed" and "No connector" in enrollment.error["message"]
