from __future__ import annotations

from django.db import models

from penguinflow.common.models import WorkspaceScopedModel


class EmailTemplate(WorkspaceScopedModel):
    """Subject, HTML and text parts in Liquid; the text part is derived from the HTML when left empty."""

    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=998)
    html = models.TextField()
    text = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name


class OutboxMessage(WorkspaceScopedModel):
    """One email to one contact, rendered and stored before it is handed to the mail server.

    `key` is unique per workspace (the runtime passes "<enrollment>:<node>:<visit>"): a second `email_send` with the
    same key finds this row and sends nothing. The status moves only as `TRANSITIONS` allows, through the outbox,
    delivery and recovery modules; `unknown` means "handed over, or maybe not, and not recorded": it is never re-sent
    automatically.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown (may have been sent)"
        SKIPPED = "skipped", "Skipped (suppressed or not subscribed)"

    class Kind(models.TextChoices):
        # An email to the contact (campaign, workflow). A notification goes to a member of the team ABOUT the
        # contact: it is never suppressed by the contact's status, carries no unsubscribe headers or tracking,
        # and what becomes of it is not recorded as the contact's email events.
        MESSAGE = "message", "Message to the contact"
        NOTIFICATION = "notification", "Notification to a team member"

    TRANSITIONS = {
        Status.QUEUED: {Status.SENDING, Status.FAILED, Status.SKIPPED},
        Status.SENDING: {Status.SENT, Status.QUEUED, Status.FAILED, Status.UNKNOWN, Status.SKIPPED},
        # A slow worker may still record `sent` after its lease ran out; a person may resend deliberately.
        Status.UNKNOWN: {Status.SENT, Status.QUEUED},
        Status.FAILED: {Status.QUEUED},
    }

    # Served by outbox_unique_key_per_workspace and outbox_ws_status_created (each write maintains every index).
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(EmailTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    node_id = models.CharField(max_length=100, blank=True)
    workflow_id = models.UUIDField(null=True, blank=True)
    enrollment_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MESSAGE)
    to_email = models.CharField(max_length=400)
    from_email = models.CharField(max_length=400, blank=True)
    reply_to = models.CharField(max_length=400, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    links = models.JSONField(default=list, blank=True, help_text="Click-tracked URLs; a token names an index here.")
    message_id = models.CharField(max_length=255, blank=True, help_text="Our Message-ID header, same on every try.")
    esp_message_id = models.CharField(max_length=255, null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="outbox_unique_key_per_workspace")]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="outbox_live_status",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
            models.Index(
                fields=["esp_message_id"], name="outbox_esp_message_id", condition=models.Q(esp_message_id__isnull=False)
            ),
            models.Index(fields=["workspace", "status", "-created_at"], name="outbox_ws_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.subject or self.key} → {self.to_email} ({self.status})"
