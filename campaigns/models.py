from __future__ import annotations

from django.db import models

from penguinflow.common.models import WorkspaceScopedModel


class Campaign(WorkspaceScopedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"

    TRANSITIONS = {
        Status.DRAFT: {Status.RUNNING},
        Status.RUNNING: {Status.PAUSED, Status.COMPLETED},
        Status.PAUSED: {Status.RUNNING, Status.COMPLETED},
        Status.COMPLETED: set(),
    }

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)

    def __str__(self) -> str:
        return self.name


class CampaignMember(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REMOVED = "removed", "Removed"
        COMPLETED = "completed", "Completed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="campaign_memberships")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    added_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "contact"], name="campaign_member_unique")]
        indexes = [models.Index(fields=["contact"], name="campaign_member_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.campaign_id} ({self.status})"
