from django.db import models

from connectors.kinds import KINDS
from penguinflow.common.models import WorkspaceScopedModel


class Connector(WorkspaceScopedModel):
    """A workspace's account at another service: a CRM to create and update records in, or a social page to post to.

    The secret (an API key or an OAuth token the user entered) is write-only and stored encrypted with the
    credentials' key (`penguinflow.workspaces.credentials`). When the service refuses it (expired, revoked, a
    permission lost), the connector turns `needs_attention` with the service's reason, and the steps that use it
    fail saying what to fix, until the user enters a new secret.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_ATTENTION = "needs_attention", "Needs attention (the service refused the secret)"

    kind = models.CharField(max_length=32, choices=[(key, kind.label) for key, kind in KINDS.items()])
    name = models.CharField(max_length=100)
    base_url = models.URLField(max_length=500, blank=True,
                               help_text="The service's API address when not the kind's default.")
    settings = models.JSONField(default=dict, blank=True,
                                help_text="Kind-specific: field mapping, page or organisation id, pipeline.")
    secret_encrypted = models.BinaryField(editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_error = models.CharField(max_length=1000, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    cursor = models.JSONField(default=dict, blank=True, editable=False,
                              help_text="Where polling for the service's changes stopped.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="connector_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
