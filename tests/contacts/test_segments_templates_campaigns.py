from __future__ import annotations

from events.models import Event
from tests.factories import CampaignFactory, ContactFactory, EmailTemplateFactory


def test_segment_crud_and_members(api, workspace):
    ContactFactory(workspace=workspace, email="vip@x.test", tags=["vip"])
    ContactFactory(workspace=workspace, email="pleb@x.test", tags=[])
    response = api.post(
        "/api/v1/segments", {"name": "VIPs", "rule": {"in": ["vip", {"var": "contact.tags"}]}}, format="json"
    )
    assert response.status_code == 201, response.content
    segment_id = response.json()["id"]
    members = api.get(f"/api/v1/segments/{segment_id}/contacts").json()["results"]
    assert [m["email"] for m in members] == ["vip@x.test"]
    assert api.patch(f"/api/v1/segments/{segment_id}", {"name": "Very important"}, format="json").status_code == 200
    assert api.get(f"/api/v1/segments/{segment_id}").json()["name"] == "Very important"
    assert api.delete(f"/api/v1/segments/{segment_id}").status_code == 204


def test_segment_with_unknown_operator_is_refused(api):
    response = api.post("/api/v1/segments", {"name": "Bad", "rule": {"frobnicate": [1]}}, format="json")
    assert response.status_code == 400
    assert "frobnicate" in response.json()["error"]["details"]["rule"]


def test_template_crud(api):
    response = api.post(
        "/api/v1/templates", {"name": "Welcome", "subject": "Hi {{ contact.first_name }}", "html": "<p>Hi</p>"},
        format="json",
    )
    assert response.status_code == 201, response.content
    template_id = response.json()["id"]
    assert api.patch(f"/api/v1/templates/{template_id}", {"subject": "Hello"}, format="json").json()["subject"] == "Hello"
    assert api.get("/api/v1/templates").json()["results"][0]["id"] == template_id
    assert api.delete(f"/api/v1/templates/{template_id}").status_code == 204


def test_template_with_liquid_syntax_error_reports_line_and_is_not_saved(api):
    response = api.post(
        "/api/v1/templates",
        {"name": "Broken", "subject": "Fine", "html": "<p>one</p>\n<p>{% if contact.first_name %}two</p>"},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "template_syntax_error"
    assert error["details"]["html"] == "line 2: expected tag endif, found end of expression"
    assert api.get("/api/v1/templates").json()["results"] == []


def test_template_subject_with_newline_is_refused(api):
    response = api.post(
        "/api/v1/templates", {"name": "X", "subject": "Hi\r\nBcc: evil@x.test", "html": "<p>x</p>"}, format="json"
    )
    assert response.status_code == 400
    assert "subject" in response.json()["error"]["details"]


def test_campaign_crud_and_status_transitions_emit_events(api, workspace):
    response = api.post("/api/v1/campaigns", {"name": "Launch"}, format="json")
    assert response.status_code == 201
    campaign_id = response.json()["id"]
    assert response.json()["status"] == "draft"
    assert api.post(f"/api/v1/campaigns/{campaign_id}/pause").status_code == 409
    assert api.post(f"/api/v1/campaigns/{campaign_id}/start").json()["status"] == "running"
    assert api.post(f"/api/v1/campaigns/{campaign_id}/pause").json()["status"] == "paused"
    assert api.post(f"/api/v1/campaigns/{campaign_id}/complete").json()["status"] == "completed"
    types = list(Event.objects.filter(workspace=workspace).order_by("id").values_list("type", "properties"))
    assert types == [
        ("campaign.started", {"campaign_id": campaign_id}),
        ("campaign.paused", {"campaign_id": campaign_id}),
        ("campaign.completed", {"campaign_id": campaign_id}),
    ]
    assert api.patch(f"/api/v1/campaigns/{campaign_id}", {"name": "Launch 2"}, format="json").status_code == 200
    assert api.delete(f"/api/v1/campaigns/{campaign_id}").status_code == 204


def test_campaign_membership_is_idempotent_and_emits_once(workspace):
    from campaigns.services import campaign_contact_add, campaign_contact_remove

    campaign = CampaignFactory(workspace=workspace)
    contact = ContactFactory(workspace=workspace)
    assert campaign_contact_add(campaign=campaign, contact=contact) is True
    assert campaign_contact_add(campaign=campaign, contact=contact) is False
    assert campaign_contact_remove(campaign=campaign, contact=contact) is True
    assert campaign_contact_remove(campaign=campaign, contact=contact) is False
    types = list(Event.objects.filter(contact_id=contact.id).order_by("id").values_list("type", flat=True))
    assert types == ["campaign.contact_added", "campaign.contact_removed"]


def test_template_factory_template_is_listed(api, workspace):
    EmailTemplateFactory(workspace=workspace, name="From factory")
    assert [t["name"] for t in api.get("/api/v1/templates").json()["results"]] == ["From factory"]
