"""Outbound webhook subscriptions (CONTRACT §14) and their deliveries.

A `WebhookSubscription` names an endpoint and the event types it wants; a `WebhookDelivery` is one event for one
subscription, with its envelope frozen at fan-out (the receiver gets the same bytes on every try) and the
outcome of its latest attempt. Deliveries are the queue of record: the dispatcher claims due ones from PostgreSQL
(`webhooks.dispatch`), as events and enrollments are claimed.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from penguinflow.common.models import WorkspaceQuerySet, WorkspaceScopedModel


class WebhookSubscription(WorkspaceScopedModel):
    """An endpoint and the event types it is sent (exact types, `family.*` or `*`).

    The signing secret is stored as it is (HMAC needs it); after a rotation the previous one keeps signing beside
    the new one until `previous_secret_expires_at`. `failing_since` is the first failed attempt since the last
    success (a day of that disables the subscription); `blocked_until` is the circuit breaker after a timeout or
    a refused connection, so a hanging endpoint is not called again at once.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"

    url = models.URLField(max_length=2000)
    events = ArrayField(models.CharField(max_length=128), help_text="Event types, `family.*` or `*`.")
    # The sorted, de-duplicated events, joined: what "the same subscription" means (unique with the URL).
    events_key = models.CharField(max_length=4000, editable=False)
    description = models.CharField(max_length=500, blank=True)
    ordered = models.BooleanField(default=False, help_text="Deliver each contact's events one at a time, in order.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "url", "events_key"], name="webhook_subscription_unique"),
        ]
        indexes = [models.Index(fields=["workspace", "status"], name="webhook_sub_ws_status")]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.events)})"


class WebhookDelivery(models.Model):
    """One event for one subscription: the envelope as sent, the attempts made, the latest answer."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its next attempt (or being attempted: `claimed_until`)
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # every attempt of the schedule failed, or the endpoint answered 410
        CANCELLED = "cancelled", "Cancelled"  # the subscription was disabled or deleted before it went out

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+",
                                  db_constraint=False)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.BigIntegerField()
    event_type = models.CharField(max_length=128)
    contact_id = models.UUIDField(null=True, blank=True)
    msg_id = models.CharField(max_length=64, help_text="The webhook-id header: the same on every attempt.")
    payload = models.TextField(help_text="The envelope, exactly as sent.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts made, replays included.")
    round_attempts = models.PositiveSmallIntegerField(default=0, help_text="Attempts since the last (re)start.")
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="The start of the latest answer's body.")
    error = models.TextField(blank=True, help_text="Why the latest attempt failed, when it got no answer.")
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_delivery_once_per_event"),
        ]
        indexes = [
            # The dispatcher's claim: due deliveries only.
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due",
                         condition=Q(status="pending")),
            # An ordered subscription's earlier pending delivery for the same contact holds the later ones.
            models.Index(fields=["subscription", "contact_id", "event_id"], name="webhook_delivery_contact_order",
                         condition=Q(status="pending")),
            models.Index(fields=["subscription", "-created_at", "-id"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.subscription_id} ({self.status})"
