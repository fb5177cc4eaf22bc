"""Writes to campaigns and their membership; each emits its CONTRACT §3 campaign event."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, CampaignMember
from events.services import event_emit
from penguinflow.common.states import transition

_STATUS_EVENTS = {
    Campaign.Status.RUNNING: "campaign.started",
    Campaign.Status.PAUSED: "campaign.paused",
    Campaign.Status.COMPLETED: "campaign.completed",
}


def campaign_create(*, workspace, name: str, description: str = "") -> Campaign:
    return Campaign.objects.create(workspace=workspace, name=name, description=description)


@transaction.atomic
def campaign_set_status(*, campaign: Campaign, status: str) -> Campaign:
    """Start, pause or complete a campaign (allowed transitions only); emit campaign.started|paused|completed."""
    transition(campaign, to=status, allowed=Campaign.TRANSITIONS)
    event_emit(
        workspace=campaign.workspace,
        type=_STATUS_EVENTS[status],
        properties={"campaign_id": str(campaign.id)},
    )
    return campaign


@transaction.atomic
def campaign_contact_add(*, campaign: Campaign, contact) -> bool:
    """Add a contact (idempotent); return True and emit `campaign.contact_added` only when it was not active."""
    member, created = CampaignMember.objects.select_for_update().get_or_create(campaign=campaign, contact=contact)
    if not created and member.status == CampaignMember.Status.ACTIVE:
        return False
    if not created:
        member.status = CampaignMember.Status.ACTIVE
        member.save(update_fields=["status", "updated_at"])
    event_emit(
        workspace=campaign.workspace,
        type="campaign.contact_added",
        contact_id=contact.id,
        properties={"campaign_id": str(campaign.id)},
    )
    return True


@transaction.atomic
def campaign_contact_remove(*, campaign: Campaign, contact) -> bool:
    """Remove a contact (idempotent); return True and emit `campaign.contact_removed` only when it was active."""
    updated = CampaignMember.objects.filter(
        campaign=campaign, contact=contact, status=CampaignMember.Status.ACTIVE
    ).update(status=CampaignMember.Status.REMOVED, updated_at=timezone.now())
    if updated:
        event_emit(
            workspace=campaign.workspace,
            type="campaign.contact_removed",
            contact_id=contact.id,
            properties={"campaign_id": str(campaign.id)},
        )
    return bool(updated)
