"""Who may do what in a workspace: one table, read by `WorkspaceRolePermission` for every API request.

Roles, each able to do everything the roles below it can (`ROLE_RANK`):

| What | viewer | editor | admin | owner |
|---|---|---|---|---|
| Read anything of the workspace (every GET), members and settings included | yes | yes | yes | yes |
| Computations that read what a viewer may read and store, send and call nothing: validate and simulate a workflow, test a node, preview Liquid, a template or an SMS's segments, compile and render expressions, plan workflows as code (the requests a read-scoped API key may make, `api_key_scope = "read"`) | yes | yes | yes | yes |
| Change the workspace's content: contacts, segments, templates, campaigns, tasks, workflows (draft, publish, pause, enroll, delete), executions (retry, cancel), parked events, outbound webhook subscriptions, marketplace templates (save, share, install) | no | yes | yes | yes |
| Run the workspace (`ADMIN` below): its sending settings, the website write key, webhook signing secrets, credentials, CRM and social connectors, web push settings and identity secret | no | no | yes | yes |
| Add, re-role and remove editors and viewers | no | no | yes | yes |
| Add, re-role and remove admins and owners; make someone an admin or an owner | no | no | no | yes |

- An API key acts as an admin within its scopes (it cannot make or touch an owner or an admin). API keys
  themselves are made and revoked by staff, in the Django admin or with `manage.py create_api_key`: no role
  reaches them through the API.
- The last owner of a workspace can be neither removed nor demoted (409 `last_owner`): someone must always be
  able to manage its people. A workspace made in the Django admin gets its creator as owner; the demo user owns
  the demo workspace.
- A refusal is a 403 `permission_denied` in the contract's error format, naming the role needed; an id of another
  workspace stays a 404 (the lookup is scoped before anything else is decided).
- Why the computations are open to viewers: they show a viewer what a workflow they may read would do, with no
  effect; each is bounded as the live path is (the expression compiler's length limit and the rule budget, the
  Liquid render budget, the simulator's event and step limits). A viewer can spend server time with them, no
  more than with reads.

A view declares the least role its writes need with `required_role` (a role, or a dict by DRF action name);
without it a write needs an editor, and a read-scoped request a viewer.
"""

from __future__ import annotations

from rest_framework import permissions

from penguinflow.common.auth import ApiKeyPrincipal, request_role, request_workspace
from penguinflow.common.errors import DomainError, NotPermitted
from penguinflow.workspaces.models import ApiScope, Membership, role_at_least

VIEWER = Membership.Role.VIEWER
EDITOR = Membership.Role.EDITOR
ADMIN = Membership.Role.ADMIN
OWNER = Membership.Role.OWNER
# A view may set `api_key_scope` to say which scope its requests need instead of the method's: a scope name,
# ANY_SCOPE (any valid key, e.g. `GET /api/v1/me`, the connection test), or a dict by DRF action name.
ANY_SCOPE = "any"


class ScopeRequired(DomainError):
    """An API key without the scope a request needs (403, naming the scope)."""

    status = 403
    code = "insufficient_scope"


def _declared(view, attribute: str) -> str | None:
    declared = getattr(view, attribute, None)
    if isinstance(declared, dict):
        declared = declared.get(getattr(view, "action", None))
    return declared or None


def required_scope(request, view) -> str:
    """The scope an API key needs for this request: the view's `api_key_scope`, else read for GET/HEAD/OPTIONS
    and write for everything else."""
    declared = _declared(view, "api_key_scope")
    if declared:
        return declared
    return ApiScope.READ if request.method in permissions.SAFE_METHODS else ApiScope.WRITE


def required_role(request, view) -> str:
    """The least role this request needs (the module's table): viewer for reads and read-scoped computations,
    else the view's `required_role`, else editor."""
    if request.method in permissions.SAFE_METHODS:
        return VIEWER
    declared = _declared(view, "required_role")
    if declared:
        return declared
    return VIEWER if required_scope(request, view) == ApiScope.READ else EDITOR


def scope_check(principal: ApiKeyPrincipal, scope: str) -> None:
    """Raise ScopeRequired unless the key holds `scope` (ANY_SCOPE: any key passes)."""
    missing = None if scope == ANY_SCOPE else principal.missing(scope)
    if missing:
        message, details = missing
        raise ScopeRequired(message, details=details)


def role_check(role: str | None, least: str) -> None:
    """Raise NotPermitted unless `role` can do what `least` can."""
    if not role_at_least(role, least):
        raise NotPermitted(f"Your role in this workspace ({role or 'none'}) does not allow this: it needs "
                           f"{'a' if least == VIEWER else 'an'} {least} or above. Ask an owner of the "
                           "workspace.", details={"required_role": least, "role": role})


class WorkspaceRolePermission(permissions.BasePermission):
    """Apply the module's table: any member reads; writes need the role the view declares (editor unless said);
    an API key also needs the scope the request needs."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request_workspace(request) is None:
            return False
        if isinstance(request.user, ApiKeyPrincipal):
            scope_check(request.user, required_scope(request, view))
        role_check(request_role(request), required_role(request, view))
        return True
