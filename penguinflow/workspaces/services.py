from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from penguinflow.common.errors import Conflict, InvalidInput, NotFound, NotPermitted
from penguinflow.outbound.signing import new_secret
from penguinflow.workspaces.credentials import secret_decrypt, secret_encrypt
from penguinflow.workspaces.messaging_settings import settings_validate
from penguinflow.workspaces.models import (
    ApiScope,
    Credential,
    Membership,
    WebhookSigningSecret,
    Workspace,
    WorkspaceAPIKey,
    all_scopes,
)


@transaction.atomic
def workspace_get_or_create(*, slug: str, name: str | None = None) -> tuple[Workspace, bool]:
    return Workspace.objects.get_or_create(slug=slug, defaults={"name": name or slug.replace("-", " ").title()})


def _scopes_checked(scopes: Iterable[str]) -> list[str]:
    scopes = list(dict.fromkeys(scopes))
    unknown = [scope for scope in scopes if scope not in ApiScope.values]
    if unknown or not scopes:
        raise InvalidInput(f"Scopes are some of {', '.join(ApiScope.values)}; got {', '.join(scopes) or 'none'}.",
                           details={"scopes": "Unknown scope." if unknown else "Give at least one scope."})
    return scopes


def api_key_create(*, workspace: Workspace, name: str, scopes: Iterable[str] | None = None,
                   rate_limit_per_minute: int | None = None) -> tuple[WorkspaceAPIKey, str]:
    """Create a key (full access unless `scopes` says less) and return it with its secret, which is shown this
    once and stored only hashed."""
    api_key, secret = WorkspaceAPIKey.objects.create_key(
        workspace=workspace, name=name, scopes=_scopes_checked(scopes) if scopes is not None else all_scopes(),
        rate_limit_per_minute=rate_limit_per_minute)
    return api_key, secret


def api_key_change(*, api_key: WorkspaceAPIKey, name: str | None = None, scopes: Iterable[str] | None = None,
                   rate_limit_per_minute: int | None = None, default_rate: bool = False) -> WorkspaceAPIKey:
    """Relabel, rescope or re-rate a key (None: unchanged; `default_rate`: back to the server's rate); effective
    on the next request everywhere (the save bumps the key generation that every process's key cache checks)."""
    if name is not None:
        api_key.name = name
    if scopes is not None:
        api_key.scopes = _scopes_checked(scopes)
    if rate_limit_per_minute is not None or default_rate:
        api_key.rate_limit_per_minute = rate_limit_per_minute
    api_key.save()
    return api_key


def api_key_revoke(*, api_key: WorkspaceAPIKey) -> WorkspaceAPIKey:
    """Revoke a key for good: refused from the next request on, in every process. Revoking twice is a no-op."""
    if not api_key.revoked:
        api_key.revoked = True
        api_key.save()
    return api_key


# --- webhook signing secrets ------------------------------------------------------------------------------------

DEFAULT_OVERLAP_HOURS = 24
MAX_OVERLAP_HOURS = 24 * 7


def signing_secrets_in_use(*, workspace: Workspace, now: datetime | None = None) -> list[WebhookSigningSecret]:
    """The secrets that sign the workspace's webhooks now, newest first: neither revoked nor expired."""
    now = now or timezone.now()
    return list(WebhookSigningSecret.objects.for_workspace(workspace)
                .filter(revoked_at__isnull=True)
                .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                .order_by("-created_at"))


@transaction.atomic
def signing_secret_rotate(*, workspace: Workspace, overlap_hours: float = DEFAULT_OVERLAP_HOURS
                          ) -> WebhookSigningSecret:
    """Make a new current secret (the first, if there is none); the ones in use keep signing beside it for
    ``overlap_hours`` (0: they stop now). The new secret's value is on the returned row: show it this once."""
    if not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
        raise InvalidInput("The overlap must be between 0 and 168 hours.",
                           details={"overlap_hours": f"Must be between 0 and {MAX_OVERLAP_HOURS}."})
    now = timezone.now()
    ends = now + timedelta(hours=overlap_hours)
    # Locked, so two rotations at once cannot both leave an old secret without an end.
    in_use = (WebhookSigningSecret.objects.for_workspace(workspace).select_for_update()
              .filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=ends)))
    in_use.update(expires_at=ends, updated_at=now)
    return WebhookSigningSecret.objects.create(workspace=workspace, secret=new_secret())


def signing_secret_revoke(*, secret: WebhookSigningSecret) -> WebhookSigningSecret:
    """Stop signing with this secret at once (a leaked secret); revoking twice keeps the first time."""
    if secret.revoked_at is None:
        secret.revoked_at = timezone.now()
        secret.save(update_fields=["revoked_at", "updated_at"])
    return secret


@transaction.atomic
def workspace_settings_change(*, workspace: Workspace, changes: dict[str, Any]) -> Workspace:
    """Apply `changes` (top-level settings, each replaced whole) after validating the result; 400 naming each
    problem (`details` keyed by path) and nothing stored when anything is wrong."""
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    try:
        workspace.settings = settings_validate(changes, workspace.settings or {})
    except ValueError as error:
        raise InvalidInput("The settings are not valid.", details=error.args[0]) from None
    workspace.save(update_fields=["settings", "updated_at"])
    return workspace


def write_key_rotate(*, workspace: Workspace) -> Workspace:
    """Give the workspace a new public write key (the first one, too); the old one stops adding events at once
    (within `events.tracking`'s few seconds of cache in each server process). Rotate a key that was abused."""
    workspace.write_key = new_write_key()
    workspace.save(update_fields=["write_key", "updated_at"])
    return workspace


def new_write_key() -> str:
    import secrets

    return "wk_" + secrets.token_urlsafe(24)


def tracking_snippet(*, write_key: str, base_url: str) -> str:
    """The HTML a site pastes into its pages: the queue stub, then the script (loaded without blocking)."""
    return (
        "<script>\n"
        "  window.penguinflow = window.penguinflow || [];\n"
        f'  penguinflow.push(["init", {{writeKey: "{write_key}", requireConsent: false}}]);\n'
        "</script>\n"
        f'<script async src="{base_url}/js/penguinflow.js"></script>'
    )
def credential_create(*, workspace: Workspace, name: str, secret: str, description: str = "") -> Credential:
    """Store a credential, its secret encrypted; Conflict when the workspace has one of that name already."""
    encrypted = secret_encrypt(workspace_id=workspace.pk, secret=secret)
    try:
        with transaction.atomic():  # a savepoint: the unique name is what decides between concurrent creates
            return Credential.objects.create(workspace=workspace, name=name, description=description,
                                             secret_encrypted=encrypted)
    except IntegrityError:
        raise Conflict(f"The workspace has a credential named {name!r} already: choose another name, or delete "
                       "that one first.", code="credential_name_taken") from None


def credential_delete(*, credential: Credential) -> None:
    """Delete the credential: steps that name it fail from now on, saying so."""
    credential.delete()


def credential_secret(*, workspace: Workspace | Any, credential_id: str) -> str:
    """Return the decrypted secret of the workspace's credential ``credential_id`` (for a step that sends it).

    Raise NotFound when the workspace has no such credential (another workspace's id included), and
    CredentialUnreadable when it cannot be decrypted. The caller must never log or store the value."""
    credential = Credential.objects.get_for_workspace(workspace, credential_id, noun="credential")
    return secret_decrypt(workspace_id=credential.workspace_id, encrypted=credential.secret_encrypted)


# --- members ----------------------------------------------------------------------------------------------------
# Who may manage whom is the table of `penguinflow.common.permissions`: an owner anyone, an admin (or an API key,
# which acts as one) editors and viewers only. `actor_role` is the caller's role in the workspace.

Role = Membership.Role


def _may_manage(actor_role: str | None, role: str) -> bool:
    """Whether `actor_role` may give `role`, or change or remove a member who has it."""
    if actor_role == Role.OWNER:
        return True
    return actor_role == Role.ADMIN and role in (Role.EDITOR, Role.VIEWER)


def _manage_check(actor_role: str | None, role: str, doing: str) -> None:
    if not _may_manage(actor_role, role):
        raise NotPermitted(f"Your role in this workspace ({actor_role or 'none'}) cannot {doing} {role}s: only an "
                           "owner manages owners and admins.",
                           details={"required_role": Role.OWNER, "role": actor_role})


def _lock_members(workspace: Workspace) -> None:
    # One member change of a workspace at a time: two owners demoting each other at once would leave none.
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()


def _last_owner_check(membership: Membership, doing: str) -> None:
    if membership.role != Role.OWNER:
        return
    if not Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.OWNER).exclude(
            pk=membership.pk).exists():
        raise Conflict(f"{membership.user.email or membership.user.get_username()} is the last owner of this "
                       f"workspace and cannot be {doing}: make another member an owner first.", code="last_owner")


@transaction.atomic
def member_add(*, workspace: Workspace, email: str, role: str, actor_role: str | None) -> Membership:
    """Make the user with this email address a member with `role`. The user must exist (PenguinFlow sends no
    invitations): NotFound when none does, Conflict (`already_member`) when they are a member already."""
    _manage_check(actor_role, role, "add")
    address = email.strip()
    user = (get_user_model().objects.filter(email__iexact=address, is_active=True).order_by("pk").first()
            if address else None)
    if user is None:
        raise NotFound("No user has this email address: they need an account first (staff make one in the admin).",
                       details={"email": "No active user has this address."})
    _lock_members(workspace)
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise Conflict(f"{address} is a member of this workspace already: change their role instead.",
                       code="already_member")
    return Membership.objects.create(workspace=workspace, user=user, role=role)


@transaction.atomic
def member_role_change(*, membership: Membership, role: str, actor_role: str | None) -> Membership:
    """Give the member `role`. Conflict (`last_owner`) when that would leave the workspace without an owner."""
    _lock_members(membership.workspace)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    _manage_check(actor_role, membership.role, "change the role of")
    _manage_check(actor_role, role, "make members")
    if role != Role.OWNER:
        _last_owner_check(membership, "demoted")
    if membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor_role: str | None) -> None:
    """Remove the member from the workspace (their user stays). Conflict (`last_owner`) for the last owner."""
    _lock_members(membership.workspace)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    _manage_check(actor_role, membership.role, "remove")
    _last_owner_check(membership, "removed")
    membership.delete()


@transaction.atomic
def workspace_owner_ensure(*, workspace: Workspace, user) -> Membership | None:
    """Make `user` the owner of a workspace that has none (its creator, say); a workspace with an owner is left
    as it is (None)."""
    _lock_members(workspace)
    if Membership.objects.filter(workspace=workspace, role=Role.OWNER).exists():
        return None
    membership, _ = Membership.objects.update_or_create(workspace=workspace, user=user,
                                                        defaults={"role": Role.OWNER})
    return membership
