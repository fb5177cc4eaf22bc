"""Web push: a workspace's VAPID keys and site settings, the browsers (subscriptions) of its contacts, and the
push outbox (one row per message and browser, stored before it is handed to the browser's push service)."""

from __future__ import annotations

from django.db import models

from penguinflow.common.models import WorkspaceScopedModel


class PushSettings(WorkspaceScopedModel):
    """A workspace's VAPID key pair and the keys of its websites. One per workspace, made on first use.

    The private key is stored encrypted (`push.vapid`) and never leaves the server: the API shows only the public
    key. `site_key` names the workspace to a website's script (public, like the VAPID public key);
    `identity_secret` lets the site's backend vouch for who the visitor is (an HMAC of the address). Which sites
    may subscribe is the workspace's setting `push_origins` (penguinflow.workspaces.messaging_settings).
    """

    vapid_public_key = models.CharField(max_length=100, help_text="Uncompressed P-256 point, base64url.")
    vapid_private_key_encrypted = models.TextField(editable=False)
    subject = models.CharField(
        max_length=254, blank=True, help_text="VAPID 'sub' claim: mailto: or https: URL."
    )
    site_key = models.CharField(max_length=40, unique=True)
    identity_secret = models.CharField(max_length=64, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="push_settings_one_per_workspace")]

    def __str__(self) -> str:
        return f"push settings of {self.workspace_id}"


class PushSubscription(WorkspaceScopedModel):
    """One browser of a contact: the push service endpoint and the keys its messages are encrypted for.

    An endpoint belongs to one contact of a workspace at a time; storing it for another contact moves it.
    """

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    endpoint = models.URLField(max_length=2000)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)
    source = models.CharField(max_length=32, default="api", help_text="api or website")
    user_agent = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "endpoint"], name="push_subscription_unique_endpoint"
            ),
        ]
        indexes = [models.Index(fields=["contact"], name="push_subscription_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} → {self.endpoint[:60]}"


class PushMessage(WorkspaceScopedModel):
    """One notification to one browser of a contact. `key` is the step's effect key: a second send with it finds
    its rows and sends nothing. `unknown` means "handed over, or maybe not, and not recorded": never re-sent by
    itself. `gone`: the push service said the subscription expired (404/410), and it was removed."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        GONE = "gone", "Subscription expired"
        UNKNOWN = "unknown", "Unknown (may have been sent)"
        SKIPPED = "skipped", "Skipped (no consent or no browser)"

    TRANSITIONS = {
        Status.QUEUED: {Status.SENDING, Status.FAILED, Status.SKIPPED},
        Status.SENDING: {Status.SENT, Status.QUEUED, Status.FAILED, Status.GONE, Status.UNKNOWN},
        # A slow worker may still record its outcome after the sweep; a person may resend deliberately.
        Status.UNKNOWN: {Status.SENT, Status.FAILED, Status.GONE, Status.QUEUED},
        Status.FAILED: {Status.QUEUED},
    }

    key = models.CharField(max_length=255)
    # The subscription's id, kept when the subscription is removed: with `key`, what makes a row unique.
    device = models.UUIDField()
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(
        PushSubscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    node_id = models.CharField(max_length=100, blank=True)
    workflow_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    url = models.URLField(
        max_length=2000, blank=True, help_text="Where a click leads (through the click token)."
    )
    icon = models.URLField(max_length=2000, blank=True)
    topic = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "key", "device"], name="push_message_unique_key_device"
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="push_message_live_status",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
            models.Index(fields=["workspace", "status", "-created_at"], name="push_message_ws_status"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.contact_id} ({self.status})"
