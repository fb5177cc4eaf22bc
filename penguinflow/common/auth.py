"""Who is calling and for which workspace: bearer API keys for machines, Django sessions for the browser.

Both set `request.workspace`, which is the only thing the scoped querysets read.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from penguinflow.workspaces.models import Membership, Workspace, WorkspaceAPIKey

# A key is looked up once and then trusted for this many seconds in this process: the hot ingestion path
# must not pay a query per request. Revoking a key therefore takes effect within this delay.
API_KEY_CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """The `request.user` of a call made with an API key: acts with admin rights in its own workspace."""

    key_id: str
    workspace: Workspace
    role: str = Membership.Role.ADMIN
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    is_anonymous: bool = False

    @property
    def pk(self) -> str:
        return self.key_id

    def __str__(self) -> str:
        return f"api-key:{self.key_id}"


class _KeyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, ApiKeyPrincipal]] = {}

    def get(self, digest: str) -> ApiKeyPrincipal | None:
        entry = self._entries.get(digest)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        return None

    def put(self, digest: str, principal: ApiKeyPrincipal) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + API_KEY_CACHE_SECONDS, principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


key_cache = _KeyCache()


def principal_for_key(raw_key: str) -> ApiKeyPrincipal | None:
    """Return the principal of a valid, unrevoked, unexpired key, or None (answers from a short cache)."""
    digest = hashlib.sha256(raw_key.encode()).hexdigest()
    cached = key_cache.get(digest)
    if cached is not None:
        return cached
    principal = principal_for_key_uncached(raw_key)
    if principal is not None:
        key_cache.put(digest, principal)
    return principal


def principal_for_key_uncached(raw_key: str) -> ApiKeyPrincipal | None:
    """Return the principal of a valid, unrevoked, unexpired key, or None, asking the database."""
    try:
        api_key = WorkspaceAPIKey.objects.get_from_key(raw_key)
    except WorkspaceAPIKey.DoesNotExist:
        return None
    if api_key.has_expired:
        return None
    return ApiKeyPrincipal(key_id=str(api_key.pk), workspace=api_key.workspace)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw_key = raw_key.strip()
        if not raw_key or " " in raw_key:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <api key>'.")
        principal = principal_for_key(raw_key)
        if principal is None:
            raise exceptions.AuthenticationFailed("This API key is not valid, or has been revoked.")
        request._request.workspace = principal.workspace
        return principal, principal

    def authenticate_header(self, request) -> str:
        return self.keyword


class WorkspaceSessionAuthentication(authentication.SessionAuthentication):
    """A logged-in user acts in the workspace chosen in the session, else their first membership."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        memberships = Membership.objects.select_related("workspace").filter(user=user).order_by("created_at")
        chosen = request.session.get("workspace_id")
        membership = None
        if chosen:
            membership = memberships.filter(workspace_id=chosen).first()
        membership = membership or memberships.first()
        if membership is None:
            raise exceptions.PermissionDenied("Your user is not a member of any workspace.")
        request._request.workspace = membership.workspace
        request._request.workspace_role = membership.role
        return user, None


def request_workspace(request) -> Workspace | None:
    return getattr(request._request if hasattr(request, "_request") else request, "workspace", None)


def request_role(request) -> str | None:
    user = getattr(request, "user", AnonymousUser())
    if isinstance(user, ApiKeyPrincipal):
        return user.role
    inner = request._request if hasattr(request, "_request") else request
    return getattr(inner, "workspace_role", None)
