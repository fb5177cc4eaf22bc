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

    def get_for_workspace(self, workspace, object_id: object, *, noun: str):
        """The workspace's object `object_id`, for a step or a service handed an id from a config or a client.

        Raises NotFound, in words naming `noun`, for an id that is not a UUID and for any other workspace's id."""
        from penguinflow.common.errors import NotFound  # errors imports DRF, which models must not load early

        try:
            pk = uuid.UUID(str(object_id))
        except ValueError:
            raise NotFound(f"No {noun} {object_id!r} in this workspace.") from None
        found = self.for_workspace(workspace).filter(pk=pk).first()
        if found is None:
            raise NotFound(f"No {noun} {object_id!r} in this workspace (deleted?): choose another one.")
        return found


class WorkspaceScopedModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        abstract = True
