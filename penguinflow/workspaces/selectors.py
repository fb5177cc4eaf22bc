"""Reads of a workspace's people: who may be assigned a task or sent a notification."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from penguinflow.workspaces.models import Membership


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
