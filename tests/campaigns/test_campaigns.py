"""Campaigns: CRUD and status transitions through the API, membership through the services; each emits its event."""

from __future__ import annotations

from campaigns.services import campaign_contact_add, campaign_contact_remove
from events.models import Event
from tests.factories import CampaignFactory, ContactFactory


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
    campaign = CampaignFactory(workspace=workspace)
    contact = ContactFactory(workspace=workspace)
    assert campaign_contact_add(campaign=campaign, contact=contact) is True
    assert campaign_contact_add(campaign=campaign, contact=contact) is False
    assert campaign_contact_remove(campaign=campaign, contact=contact) is True
    assert campaign_contact_remove(campaign=campaign, contact=contact) is False
    types = list(Event.objects.filter(contact_id=contact.id).order_by("id").values_list("type", flat=True))
    assert types == ["campaign.contact_added", "campaign.contact_removed"]
