from __future__ import annotations

from django.db import models

from penguinflow.common.models import WorkspaceScopedModel


class SmsMessage(WorkspaceScopedModel):
    """One SMS to one contact, rendered and stored before it is handed to the provider (the SMS outbox).

    `key` is unique per workspace (the runtime passes the step's effect key "<enrollment>:<node>:<visit>"): a second
    send with the same key finds this row and sends nothing. The status moves only as `TRANSITIONS` allows, through
    `sms.outbox`, `sms.delivery`, `sms.recovery` and `sms.callbacks`. `unknown` means "handed over, or maybe not, and
    not recorded": it is never re-sent by itself; a status callback from the provider settles it.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent (accepted by the provider)"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown (may have been sent)"
        SKIPPED = "skipped", "Skipped (no consent or no number)"

    TRANSITIONS = {
        Status.QUEUED: {Status.SENDING, Status.FAILED, Status.SKIPPED},
        # DELIVERED from SENDING: the provider's callback may overtake the worker recording its hand-off.
        Status.SENDING: {
            Status.SENT,
            Status.DELIVERED,
            Status.QUEUED,
            Status.FAILED,
            Status.UNKNOWN,
            Status.SKIPPED,
        },
        # The provider's callback settles an unknown row (it was handed over); a person may resend deliberately.
        Status.UNKNOWN: {Status.SENT, Status.DELIVERED, Status.FAILED, Status.QUEUED},
        Status.SENT: {Status.DELIVERED, Status.FAILED},
        Status.FAILED: {Status.QUEUED},
    }

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    node_id = models.CharField(max_length=100, blank=True)
    workflow_id = models.UUIDField(null=True, blank=True)
    enrollment_id = models.UUIDField(null=True, blank=True)
    topic = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    to_phone = models.CharField(
        max_length=20, blank=True, help_text="E.164, as it was when the message was stored."
    )
    from_phone = models.CharField(max_length=32, blank=True)
    body = models.TextField(blank=True)
    encoding = models.CharField(max_length=8, blank=True)
    segments = models.PositiveSmallIntegerField(default=0)
    provider_sid = models.CharField(
        max_length=64, null=True, blank=True, help_text="The provider's message id."
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="sms_unique_key_per_workspace")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="sms_live_status",
                         condition=models.Q(status__in=["queued", "sending"])),
            models.Index(fields=["provider_sid"], name="sms_provider_sid", condition=models.Q(provider_sid__isnull=False)),
            models.Index(fields=["workspace", "status", "-created_at"], name="sms_ws_status_created"),
            # An inbound SMS (a reply, STOP) finds the workspaces that texted its sender.
            models.Index(fields=["to_phone", "workspace"], name="sms_to_phone"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.key} → {self.to_phone} ({self.status})"
