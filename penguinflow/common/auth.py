"""Who is calling and for which workspace: bearer API keys for machines, Django sessions for the browser.

Both set `request.workspace`, which is the only thing the scoped querysets read.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone
from rest_framework import authentication, exceptions

from penguinflow.common.redis_client import redis_client
from penguinflow.workspaces.models import ApiScope, Membership, Workspace, WorkspaceAPIKey, all_scopes

logger = logging.getLogger(__name__)

# A key is looked up once and then trusted for at most this many seconds in this process: the hot ingestion
# path must not pay a query per request. A revocation still takes effect on the next request, in every process:
# each cached answer carries the key generation it was read under, and every request reads the current
# generation from Redis (one GET, or a pipelined one on the events fast path); every revocation, expiry change
# or deletion of a key or a workspace bumps it, after its commit.
API_KEY_CACHE_SECONDS = 10.0
KEY_GENERATION = "pf:auth:key-generation"


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """The `request.user` of a call made with an API key: acts with admin rights in its own workspace, within
    the key's scopes."""

    key_id: str
    workspace: Workspace
    expires_at: datetime | None = None
    prefix: str = ""
    label: str = ""
    scopes: frozenset[str] = frozenset(all_scopes())
    rate_limit_per_minute: int | None = None
    role: str = Membership.Role.ADMIN
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    is_anonymous: bool = False

    @property
    def pk(self) -> str:
        return self.key_id

    def allows(self, scope: str) -> bool:
        """Whether the key holds `scope`; `write` covers `events` (recording an event is a write too)."""
        return scope in self.scopes or (scope == ApiScope.EVENTS and ApiScope.WRITE in self.scopes)

    def missing(self, scope: str) -> tuple[str, dict] | None:
        """Why the key may not make a request that needs `scope` (the message and the error's details), or None
        when it may: one wording for the API's 403 and the events fast path's."""
        if self.allows(scope):
            return None
        scopes = sorted(self.scopes)
        return (f"This API key does not have the '{scope}' scope this request needs; its scopes are: "
                f"{', '.join(scopes) or 'none'}.", {"required_scope": scope, "key_scopes": scopes})

    def __str__(self) -> str:
        return f"api-key:{self.key_id}"


class _KeyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, bytes, ApiKeyPrincipal]] = {}

    def get(self, digest: str, generation: bytes | None) -> ApiKeyPrincipal | None:
        """The cached principal, if it was read under `generation` (None: unknown, so nothing is trusted)."""
        entry = self.peek(digest)
        if entry is None or generation is None or entry[0] != generation:
            return None
        return entry[1]

    def peek(self, digest: str) -> tuple[bytes, ApiKeyPrincipal] | None:
        """The cached (generation, principal), whatever the current generation: the caller must compare."""
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= time.monotonic():
            return None
        principal = entry[2]
        if principal.expires_at is not None and principal.expires_at <= timezone.now():
            return None  # an expired key is looked up again, and refused
        return entry[1], principal

    def put(self, digest: str, principal: ApiKeyPrincipal, generation: bytes | None) -> None:
        if generation is None:
            return
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + API_KEY_CACHE_SECONDS, generation, principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


key_cache = _KeyCache()


def key_digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def key_generation() -> bytes | None:
    """The current key generation (b"" before the first bump), or None when Redis cannot tell."""
    try:
        return redis_client().get(KEY_GENERATION) or b""
    except Exception:
        logger.warning("Redis did not answer for the API-key generation; checking keys in the database")
        return None


def key_generation_bump() -> None:
    """Make every process's cached key answers stale, once the current transaction has committed.

    After the commit, not before: a process that read the new generation before our commit would otherwise
    cache the old row under it.
    """

    def bump() -> None:
        try:
            redis_client().incr(KEY_GENERATION)
        except Exception:  # the cache entries still expire after API_KEY_CACHE_SECONDS
            logger.error("Could not bump the API-key generation: revocations wait up to %s s",
                         API_KEY_CACHE_SECONDS, exc_info=True)

    transaction.on_commit(bump)


def principal_for_key(raw_key: str) -> ApiKeyPrincipal | None:
    """Return the principal of a valid, unrevoked, unexpired key, or None (answers from a short cache)."""
    return principal_for_key_at(raw_key, key_generation())


def principal_for_key_at(raw_key: str, generation: bytes | None) -> ApiKeyPrincipal | None:
    """`principal_for_key` for a caller that has just read the key generation itself (the events fast path
    reads it in a pipeline of its own)."""
    digest = key_digest(raw_key)
    cached = key_cache.get(digest, generation)
    if cached is not None:
        return cached
    principal = principal_for_key_uncached(raw_key)
    if principal is not None:
        key_cache.put(digest, principal, generation)
    return principal


def principal_for_key_uncached(raw_key: str) -> ApiKeyPrincipal | None:
    """Return the principal of a valid, unrevoked, unexpired key, or None, asking the database."""
    try:
        api_key = WorkspaceAPIKey.objects.get_from_key(raw_key)
    except WorkspaceAPIKey.DoesNotExist:
        return None
    if api_key.has_expired:
        return None
    return ApiKeyPrincipal(key_id=str(api_key.pk), workspace=api_key.workspace, expires_at=api_key.expiry_date,
                           prefix=api_key.prefix, label=api_key.name, scopes=frozenset(api_key.scopes or ()),
                           rate_limit_per_minute=api_key.rate_limit_per_minute)


# --- last use ----------------------------------------------------------------------------------------------------

# When a key was last used is written at most once a minute per key, whatever the traffic: first this process
# remembers when it last wrote (no I/O at all on most requests), then Redis (SET NX with a TTL) lets one process
# of all write it, then one UPDATE. A missed write only makes `last_used_at` up to a minute older than true.
LAST_USED_EVERY_SECONDS = 60
LAST_USED_MARK = "pf:auth:last-used:"
_last_used_here: dict[str, float] = {}


def key_last_used_due(key_id: str) -> bool:
    """Whether this process should try to record a use of the key now (cheap: no I/O)."""
    now = time.monotonic()
    if now - _last_used_here.get(key_id, -LAST_USED_EVERY_SECONDS) < LAST_USED_EVERY_SECONDS:
        return False
    if len(_last_used_here) > 10_000:
        _last_used_here.clear()
    _last_used_here[key_id] = now
    return True


def key_last_used_record(key_id: str) -> None:
    """Record that the key was used now, unless another process did within the minute. Never raises: a use
    that is not recorded must not fail the request."""
    try:
        if not redis_client().set(LAST_USED_MARK + key_id, 1, nx=True, ex=LAST_USED_EVERY_SECONDS):
            return
        # An UPDATE, not save(): no signal, so the key caches stay valid (nothing they hold changed).
        WorkspaceAPIKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())
    except Exception:
        logger.warning("Could not record the use of an API key", exc_info=True)


def key_last_used_touch(key_id: str) -> None:
    """`key_last_used_record` when due: for sync callers (the Django views)."""
    if key_last_used_due(key_id):
        key_last_used_record(key_id)


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
        key_last_used_touch(principal.key_id)
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
