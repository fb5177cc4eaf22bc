"""Reads of a workspace's people: who may be assigned a task or sent a notification."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from penguinflow.workspaces.messaging_settings import MessagingSettings, messaging_settings
from penguinflow.workspaces.models import Membership, Workspace


def memberships_of(*, workspace, q: str = "") -> QuerySet[Membership]:
    """Return the workspace's memberships with their users; ``q`` narrows them to those whose email, name or
    username contains it (case-insensitive). A request with no workspace gets none."""
    if workspace is None:
        return Membership.objects.none()
    memberships = Membership.objects.filter(workspace=workspace).select_related("user")
    if q:
        memberships = memberships.filter(
            Q(user__email__icontains=q) | Q(user__first_name__icontains=q) | Q(user__last_name__icontains=q)
            | Q(user__username__icontains=q)
        )
    return memberships


def workspace_messaging_settings(workspace: Workspace) -> MessagingSettings:
    """Return the workspace's sending settings as stored now: an API key's principal is cached with its workspace
    row, which a PATCH since may have changed."""
    return messaging_settings(Workspace.objects.only("id", "settings").get(pk=workspace.pk))
