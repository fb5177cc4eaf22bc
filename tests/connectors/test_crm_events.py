"""CRM changes coming in as events, for real: a HubSpot webhook delivery signed with the v3 signature and a
Pipedrive one with Basic authentication, posted to /hooks/crm/<connector id>/, and Salesforce's field history
polled with a cursor from a local server; each change becomes an event of the contact with that email, which
starts a workflow through the normal ingestion path. Unsigned, stale and replayed deliveries add nothing."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.crm.polling import crm_poll, crm_polls_due
from connectors.crm.signatures import hubspot_v3_signature
from connectors.models import Connector
from connectors.services import connector_create
from events.models import Event
from events.processing import events_process_pending
from tests.connectors.crm_servers import TOKEN, crm_server
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due

HOOK_SECRET = "hubspot-client-secret-1"
STAGE_RULE = {"==": [{"var": "event.properties.stage"}, "Meeting Booked"]}


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture(autouse=True)
def _fresh_trigger_index():
    # Publishing resets the index on commit, and a test's transaction never commits (as in tests/events).
    from workflows import trigger_index

    trigger_index._cache.reset()
    yield
    trigger_index._cache.reset()


def _tag_on_stage(workspace, stage: str = "Meeting Booked"):
    rule = {"==": [{"var": "event.properties.stage"}, stage]}
    return publish(workspace, [node("t", "trigger_event", {"event": "crm.deal_stage_changed", "filter": rule}),
                               node("a", "add_tag", {"tag": "meeting-booked"})], chain("t", "a"))


def _tags_after_processing(contact) -> list[str]:
    events_process_pending()
    run_due()
    contact.refresh_from_db()
    return contact.tags


def _hubspot_post(client, connector, notes, *, secret=HOOK_SECRET, age_ms: int = 0):
    path = f"/hooks/crm/{connector.pk}/"
    body = json.dumps(notes).encode()
    timestamp = str(int(time.time() * 1000) - age_ms)
    signature = hubspot_v3_signature(secret=secret, method="POST", uri=f"http://testserver{path}", body=body,
                                     timestamp=timestamp)
    return client.post(path, data=body, content_type="application/json",
                       headers={"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp})


def test_a_signed_hubspot_deal_stage_change_starts_a_workflow_once(client, workspace):
    contact = ContactFactory(workspace=workspace, email="ada@x.test")
    workflow = _tag_on_stage(workspace)
    note = {"eventId": 9001, "subscriptionType": "deal.propertyChange", "objectId": 301,
            "propertyName": "dealstage", "propertyValue": "Meeting Booked", "occurredAt": int(time.time() * 1000)}
    with crm_server("hubspot") as crm:
        crm.records["contact"]["201"] = {"email": "ada@x.test"}
        crm.records["deal"]["301"] = {"dealname": "Big", "_contact": "201"}
        connector = connector_create(workspace=workspace, kind="hubspot", name="HubSpot", secret=TOKEN,
                                     base_url=crm.url, settings={"webhook_secret": HOOK_SECRET, "portal_id": "42"})
        first = _hubspot_post(client, connector, [note])
        again = _hubspot_post(client, connector, [note])  # HubSpot delivers at least once

    assert first.status_code == 200, first.content
    assert first.json() == {"recorded": 1, "duplicates": 0, "unmatched": 0}
    assert again.json() == {"recorded": 0, "duplicates": 1, "unmatched": 0}
    (event,) = Event.objects.filter(workspace=workspace, type="crm.deal_stage_changed")
    assert event.contact_id == contact.pk
    assert event.properties | {"event_id": "9001"} == {
        "crm": "hubspot", "event_id": "9001", "deal_id": "301", "stage": "Meeting Booked", "previous_stage": None,
        "url": "https://app.hubspot.com/contacts/42/record/0-3/301", "connector_id": str(connector.pk)}
    assert "meeting-booked" in _tags_after_processing(contact)
    assert workflow.enrollments.count() == 1


def test_hubspot_deliveries_not_signed_with_the_secret_or_stale_are_refused(client, workspace):
    connector = connector_create(workspace=workspace, kind="hubspot", name="HubSpot", secret=TOKEN,
                                 base_url="http://127.0.0.1:9", settings={"webhook_secret": HOOK_SECRET})
    note = {"eventId": 1, "subscriptionType": "contact.propertyChange", "objectId": 1, "propertyName": "email",
            "propertyValue": "a@x.test"}
    assert _hubspot_post(client, connector, [note], secret="guessed").status_code == 401
    assert _hubspot_post(client, connector, [note], age_ms=10 * 60 * 1000).status_code == 401
    assert client.post(f"/hooks/crm/{connector.pk}/", data=b"[]", content_type="application/json").status_code == 401
    assert client.post("/hooks/crm/not-a-connector/", data=b"[]", content_type="application/json").status_code == 404
    assert not Event.objects.filter(workspace=workspace, type__startswith="crm.").exists()


@pytest.mark.parametrize("notes", [[1, 2], ["a"], {"eventId": 1}, [None], "x"])
def test_a_signed_hubspot_delivery_of_another_shape_is_a_400(client, workspace, notes):
    connector = connector_create(workspace=workspace, kind="hubspot", name="HubSpot", secret=TOKEN,
                                 base_url="http://127.0.0.1:9", settings={"webhook_secret": HOOK_SECRET})
    answer = _hubspot_post(client, connector, notes)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_payload"
    assert not Event.objects.filter(workspace=workspace, type__startswith="crm.").exists()


@pytest.mark.parametrize("payload", [[], {"event": "updated.deal", "meta": "x"},
                                     {"event": "updated.person", "current": [1], "previous": {}},
                                     {"event": "updated.deal", "current": {}, "previous": "2"}])
def test_an_authenticated_pipedrive_delivery_of_another_shape_is_a_400(client, workspace, payload):
    connector = connector_create(workspace=workspace, kind="pipedrive", name="Pipedrive", secret=TOKEN,
                                 base_url="http://127.0.0.1:9", settings={"webhook_secret": "pd-pass"})
    auth = "Basic " + base64.b64encode(b"penguinflow:pd-pass").decode()
    answer = client.post(f"/hooks/crm/{connector.pk}/", data=json.dumps(payload), content_type="application/json",
                         headers={"Authorization": auth})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_payload"


def test_a_hubspot_contact_change_is_a_contact_updated_event(client, workspace):
    contact = ContactFactory(workspace=workspace, email="ada@x.test")
    connector = connector_create(workspace=workspace, kind="hubspot", name="HubSpot", secret=TOKEN,
                                 base_url="http://127.0.0.1:9", settings={"webhook_secret": HOOK_SECRET})
    notes = [{"eventId": 5, "subscriptionType": "contact.propertyChange", "objectId": 201, "propertyName": "email",
              "propertyValue": "ada@x.test"},
             {"eventId": 6, "subscriptionType": "contact.propertyChange", "objectId": 202, "propertyName": "email",
              "propertyValue": "nobody@x.test"}]
    answer = _hubspot_post(client, connector, notes)
    assert answer.json() == {"recorded": 1, "duplicates": 0, "unmatched": 1}
    (event,) = Event.objects.filter(workspace=workspace, type="crm.contact_updated")
    assert event.contact_id == contact.pk and event.properties["changes"] == {"email": "ada@x.test"}


def test_a_pipedrive_deal_moved_to_another_stage_with_basic_auth_starts_a_workflow(client, workspace):
    contact = ContactFactory(workspace=workspace, email="pd@x.test")
    _tag_on_stage(workspace, stage="3")
    payload = {"v": 1, "event": "updated.deal", "meta": {"object": "deal", "id": 77, "timestamp": 1764763200},
               "current": {"id": 77, "title": "Deal", "stage_id": 3, "person_id": 45},
               "previous": {"id": 77, "stage_id": 2}}
    with crm_server("pipedrive") as crm:
        crm.records["contact"]["45"] = {"name": "PD", "email": "pd@x.test"}
        connector = connector_create(workspace=workspace, kind="pipedrive", name="Pipedrive", secret=TOKEN,
                                     base_url=crm.url, settings={"webhook_secret": "pd-pass"})
        path = f"/hooks/crm/{connector.pk}/"

        def post(password: str):
            auth = "Basic " + base64.b64encode(f"penguinflow:{password}".encode()).decode()
            return client.post(path, data=json.dumps(payload), content_type="application/json",
                               headers={"Authorization": auth})

        assert post("wrong").status_code == 401
        answer = post("pd-pass")
    assert answer.json()["recorded"] == 1, answer.content
    (event,) = Event.objects.filter(workspace=workspace, type="crm.deal_stage_changed")
    assert (event.properties["stage"], event.properties["previous_stage"]) == ("3", "2")
    assert "meeting-booked" in _tags_after_processing(contact)


def test_salesforce_stage_changes_are_polled_with_a_cursor_and_start_a_workflow(workspace):
    contact = ContactFactory(workspace=workspace, email="sf@x.test")
    _tag_on_stage(workspace)
    start = timezone.now()
    with crm_server("salesforce") as crm:
        crm.records["deal"]["006000000000000001"] = {"Name": "Big deal", "_email": "sf@x.test"}
        connector = connector_create(workspace=workspace, kind="salesforce", name="SF", secret=TOKEN,
                                     base_url=crm.url)
        assert crm_polls_due(now=start) == [str(connector.pk)]
        first = crm_poll(connector_id=str(connector.pk), now=start)  # sets the cursor: no history replayed
        assert first.status == "polled" and first.recorded.recorded == 0
        assert crm_polls_due(now=start + timedelta(seconds=30)) == []

        at = (start + timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        crm.stage_changed("006000000000000001", "Prospecting", "Meeting Booked", at)
        second = crm_poll(connector_id=str(connector.pk), now=start + timedelta(minutes=2))
        third = crm_poll(connector_id=str(connector.pk), now=start + timedelta(minutes=4))
    assert (second.status, second.recorded.recorded) == ("polled", 1)
    assert third.recorded.recorded == 0 and third.recorded.duplicates == 0  # the cursor moved past it
    (event,) = Event.objects.filter(workspace=workspace, type="crm.deal_stage_changed")
    assert event.properties["previous_stage"] == "Prospecting" and event.properties["deal_name"] == "Big deal"
    assert "meeting-booked" in _tags_after_processing(contact)


def test_a_refused_salesforce_token_stops_polling_until_a_new_one_is_entered(workspace, api):
    with crm_server("salesforce") as crm:
        connector = connector_create(workspace=workspace, kind="salesforce", name="SF", secret=TOKEN,
                                     base_url=crm.url)
        crm_poll(connector_id=str(connector.pk))
        crm.token_expired = True
        result = crm_poll(connector_id=str(connector.pk), now=timezone.now() + timedelta(minutes=2))
    assert result.status == "refused" and "Session expired or invalid" in result.message
    connector.refresh_from_db()
    assert connector.status == Connector.Status.NEEDS_ATTENTION
    assert crm_polls_due(now=timezone.now() + timedelta(hours=1)) == []
    fixed = api.patch(f"/api/v1/connectors/{connector.pk}", {"secret": "new-token"}, format="json").json()
    assert fixed["status"] == "active"


def test_the_webhook_secret_is_write_only_and_kept_when_other_settings_change(api, workspace):
    created = api.post("/api/v1/connectors", {"kind": "hubspot", "name": "HS", "secret": TOKEN,
                                              "settings": {"webhook_secret": HOOK_SECRET, "portal_id": "1"}},
                       format="json").json()
    assert created["settings"] == {"portal_id": "1", "webhook_secret_set": True}
    changed = api.patch(f"/api/v1/connectors/{created['id']}", {"settings": {"portal_id": "2"}},
                        format="json").json()
    assert changed["settings"] == {"portal_id": "2", "webhook_secret_set": True}
    assert HOOK_SECRET not in json.dumps(Connector.objects.get(pk=created["id"]).settings)


def test_a_polled_stage_change_is_a_goal_that_ends_a_waiting_enrollment(api, workspace):
    contact = ContactFactory(workspace=workspace, email="goal@x.test")
    workflow = publish(workspace, [node("t", "trigger_manual"), node("d", "delay", {"duration": "P7D"}),
                                   node("a", "add_tag", {"tag": "still-waiting"})], chain("t", "d", "a"),
                       settings={"exit_conditions": [{"event": "crm.deal_stage_changed", "filter": STAGE_RULE,
                                                      "goal": "Meeting booked"}]})
    assert api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]},
                    format="json").status_code == 202
    run_due()
    start = timezone.now()
    with crm_server("salesforce") as crm:
        crm.records["deal"]["006000000000000002"] = {"Name": "Demo", "_email": "goal@x.test"}
        connector = connector_create(workspace=workspace, kind="salesforce", name="SF", secret=TOKEN,
                                     base_url=crm.url)
        crm_poll(connector_id=str(connector.pk), now=start)
        crm.stage_changed("006000000000000002", "Qualification", "Meeting Booked",
                          (start + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S.000+0000"))
        assert crm_poll(connector_id=str(connector.pk), now=start + timedelta(minutes=1)).recorded.recorded == 1
    events_process_pending()
    enrollment = workflow.enrollments.get()
    assert (enrollment.status, enrollment.goal) == ("exited", "Meeting booked")
