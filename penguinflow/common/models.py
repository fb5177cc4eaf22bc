"""The one mechanism that scopes data to a workspace.

Every tenant-owned model derives from `WorkspaceScopedModel`; every API view derives its queryset through
`WorkspaceQuerySet.for_workspace(...)` (see `penguinflow.common.api.WorkspaceScopedViewSet`). Nothing else filters
by workspace by hand, so nothing can forget to.
"""

from __future__ import annotations

import uuid

from django.db import models


class WorkspaceQuerySet(models.QuerySet):
    def for_workspace(self, workspace) -> WorkspaceQuerySet:
        if workspace is None:
            return self.none()
        return self.filter(workspace=workspace)


class WorkspaceScopedModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        abstract = True
