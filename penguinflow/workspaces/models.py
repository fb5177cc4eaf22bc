"""The tenant (`Workspace`), who may use it (`Membership`), how machines reach it (`WorkspaceAPIKey`) and how its
outbound webhooks are signed (`WebhookSigningSecret`)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from penguinflow.common.models import WorkspaceScopedModel


class Workspace(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA zone used when nothing closer is known.")
    from_email = models.CharField(max_length=254, blank=True, help_text="Default sender, e.g. 'Acme <hi@acme.test>'.")
    reply_to = models.EmailField(blank=True)
    send_rate_per_minute = models.PositiveIntegerField(default=600, help_text="Most messages sent per minute.")
    settings = models.JSONField(default=dict, db_default={}, blank=True,
                                help_text="Sending on every channel: frequency caps, quiet hours, topics, push "
                                          "origins (penguinflow.workspaces.messaging_settings).")
    # Public (it is in every page of the workspace's sites), so stored as it is: it can only add events, from the
    # origins of the setting `tracking_origins` (events.tracking). Empty until made in the settings.
    write_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False,
                                 help_text="The website tracking script's public write key (adds events only).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    """A user's role in one workspace; what each role may do is the table of `penguinflow.common.permissions`."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        EDITOR = "editor", "Editor"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user_workspace")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


# Each role can do everything the roles below it can: a rank compares them.
ROLE_RANK = {Membership.Role.VIEWER: 0, Membership.Role.EDITOR: 1, Membership.Role.ADMIN: 2, Membership.Role.OWNER: 3}
# The roles that run the workspace (its settings, secrets, connectors and people); tasks and organization
# sharing ask for them by this name.
MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


def role_at_least(role: str | None, least: str) -> bool:
    """Whether `role` (None: no membership) can do what `least` can."""
    return role in ROLE_RANK and ROLE_RANK[role] >= ROLE_RANK[least]


class ApiScope(models.TextChoices):
    """What a key may do. `read`: every GET; `write`: every change (and events, which are writes too);
    `events`: `POST /api/v1/events` only, for a website or a backend that just reports what happened."""

    READ = "read", "Read"
    WRITE = "write", "Write"
    EVENTS = "events", "Events only"


def all_scopes() -> list[str]:
    """Full access: what keys made before scopes existed have, and what a key gets unless told otherwise."""
    return [scope.value for scope in ApiScope]


class WorkspaceAPIKey(AbstractAPIKey):
    """An API key of one workspace; only its hash is stored (djangorestframework-api-key).

    `name` is the key's label. Scopes, label and rate are read into the per-process key cache; a change to any
    of them (a save) makes every process's cache stale (see `penguinflow.common.auth`).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    scopes = ArrayField(models.CharField(max_length=16, choices=ApiScope.choices), default=all_scopes,
                        help_text="read, write, events (events: only POST /api/v1/events).")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False,
                                        help_text="Recorded at most once a minute.")
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most requests a minute for this key; empty: the server's default.")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"


class WebhookSigningSecret(WorkspaceScopedModel):
    """A secret the workspace signs its outbound webhooks with (Standard Webhooks, `whsec_...`).

    Stored as it is, not hashed: signing needs the secret itself (HMAC), unlike an API key, which only has to be
    recognised. The newest secret that is neither revoked nor expired is current; an older one keeps signing
    beside it until its `expires_at` (the overlap of a rotation), so receivers can switch without losing a call.
    """

    secret = models.CharField(max_length=100, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Set when a newer secret replaced it.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "webhook signing secret"

    @property
    def hint(self) -> str:
        """Enough of the secret to tell which one a receiver holds, never enough to sign."""
        return f"{self.secret[:10]}…"

    def __str__(self) -> str:
        return f"{self.hint} ({self.workspace_id})"


class Credential(WorkspaceScopedModel):
    """A secret the workspace's workflow steps send to other systems (an API token in an http_request header).

    Write-only: the API takes the secret and never shows it again, not even in part (unlike a signing secret,
    nobody needs to tell two credentials apart by their value: their names do that). Stored encrypted
    (`penguinflow.workspaces.credentials`), so a database dump or a backup does not give the tokens away.
    """

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    secret_encrypted = models.BinaryField(editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="credential_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.workspace_id})"


class IdempotentRequest(models.Model):
    """A request made with an `Idempotency-Key` header, and the answer it got (Stripe's semantics).

    The row is claimed (inserted) before the request runs, so a concurrent repeat finds it and does not run; the
    answer is stored once the request is done. `owner` is who sent it (an API key or a session user): keys are
    scoped to their sender, never shared. Rows older than a day are forgotten.
    """

    owner = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    created_at = models.DateTimeField(db_index=True)
    status = models.PositiveSmallIntegerField(null=True, help_text="Empty while the first request runs.")
    content_type = models.CharField(max_length=200, blank=True)
    body = models.BinaryField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotent_request_unique_key")]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"
