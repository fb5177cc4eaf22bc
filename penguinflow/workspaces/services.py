from __future__ import annotations

from django.db import transaction

from penguinflow.workspaces.models import Workspace, WorkspaceAPIKey


@transaction.atomic
def workspace_get_or_create(*, slug: str, name: str | None = None) -> tuple[Workspace, bool]:
    return Workspace.objects.get_or_create(slug=slug, defaults={"name": name or slug.replace("-", " ").title()})


def api_key_create(*, workspace: Workspace, name: str) -> tuple[WorkspaceAPIKey, str]:
    """Create a key and return it with its secret, which is shown this once and stored only hashed."""
    api_key, secret = WorkspaceAPIKey.objects.create_key(workspace=workspace, name=name)
    return api_key, secret
