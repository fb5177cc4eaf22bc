from __future__ import annotations

from rest_framework import permissions

from penguinflow.common.auth import ApiKeyPrincipal, request_role, request_workspace
from penguinflow.common.errors import DomainError
from penguinflow.workspaces.models import ApiScope, Membership

_WRITERS = {Membership.Role.ADMIN, Membership.Role.EDITOR}
# A view may set `api_key_scope` to say which scope its requests need instead of the method's: a scope name,
# ANY_SCOPE (any valid key, e.g. `GET /api/v1/me`, the connection test), or a dict by DRF action name.
ANY_SCOPE = "any"


class ScopeRequired(DomainError):
    """An API key without the scope a request needs (403, naming the scope)."""

    status = 403
    code = "insufficient_scope"


def required_scope(request, view) -> str:
    """The scope an API key needs for this request: the view's `api_key_scope`, else read for GET/HEAD/OPTIONS
    and write for everything else."""
    declared = getattr(view, "api_key_scope", None)
    if isinstance(declared, dict):
        declared = declared.get(getattr(view, "action", None))
    if declared:
        return declared
    return ApiScope.READ if request.method in permissions.SAFE_METHODS else ApiScope.WRITE


def scope_check(principal: ApiKeyPrincipal, scope: str) -> None:
    """Raise ScopeRequired unless the key holds `scope` (ANY_SCOPE: any key passes)."""
    missing = None if scope == ANY_SCOPE else principal.missing(scope)
    if missing:
        message, details = missing
        raise ScopeRequired(message, details=details)


class WorkspaceRolePermission(permissions.BasePermission):
    """Any member reads; editors and admins (and API keys with the scope the request needs) write."""

    message = "Your role in this workspace does not allow this change."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request_workspace(request) is None:
            return False
        if isinstance(request.user, ApiKeyPrincipal):
            scope_check(request.user, required_scope(request, view))
        if request.method in permissions.SAFE_METHODS:
            return True
        return request_role(request) in _WRITERS
