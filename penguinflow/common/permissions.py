from __future__ import annotations

from rest_framework import permissions

from penguinflow.common.auth import request_role, request_workspace
from penguinflow.workspaces.models import Membership

_WRITERS = {Membership.Role.ADMIN, Membership.Role.EDITOR}


class WorkspaceRolePermission(permissions.BasePermission):
    """Any member reads; editors and admins (and API keys) write."""

    message = "Your role in this workspace does not allow this change."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request_workspace(request) is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return request_role(request) in _WRITERS
