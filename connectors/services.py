"""Making, changing and reading connectors; the only writers of `Connector`."""

from __future__ import annotations

import base64
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.models import Connector
from penguinflow.common.errors import Conflict
from penguinflow.workspaces.credentials import secret_decrypt, secret_encrypt

__all__ = ["connector_create", "connector_cursor_set", "connector_delete", "connector_get", "connector_refused",
           "connector_secret", "connector_update", "connector_webhook_secret"]

# The secret a CRM signs its webhooks with (HubSpot's app client secret; the Basic auth password given to
# Pipedrive): entered in `settings.webhook_secret`, kept encrypted under `_SEALED`, never shown again.
WEBHOOK_SECRET = "webhook_secret"
_SEALED = "webhook_secret_encrypted"


def connector_create(*, workspace: Any, kind: str, name: str, secret: str, base_url: str = "",
                     settings: dict[str, Any] | None = None) -> Connector:
    """Store a connector with its secret encrypted; Conflict when the workspace has one of that name already."""
    connector = Connector(workspace=workspace, kind=kind, name=name, base_url=base_url,
                          settings=_sealed(workspace.pk, settings or {}, {}),
                          secret_encrypted=secret_encrypt(workspace_id=workspace.pk, secret=secret))
    return _saved(connector)


def connector_update(*, connector: Connector, secret: str | None = None, **changes: Any) -> Connector:
    """Change name, base_url or settings; a new secret also clears a refusal (the user fixed what was asked)."""
    if "settings" in changes:
        changes["settings"] = _sealed(connector.workspace_id, changes["settings"] or {}, connector.settings)
    for field, value in changes.items():
        setattr(connector, field, value)
    if secret is not None:
        connector.secret_encrypted = secret_encrypt(workspace_id=connector.workspace_id, secret=secret)
        connector.status, connector.last_error, connector.last_error_at = Connector.Status.ACTIVE, "", None
    return _saved(connector)


def _sealed(workspace_id: Any, settings: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """Settings as stored: a webhook secret given is encrypted; one not given again is kept (a change of other
    settings does not drop it). An empty one removes it."""
    settings = dict(settings)
    settings.pop(_SEALED, None)  # only ever written here
    if WEBHOOK_SECRET not in settings:
        return {**settings, _SEALED: before[_SEALED]} if before.get(_SEALED) else settings
    given = str(settings.pop(WEBHOOK_SECRET) or "")
    if given:
        encrypted = secret_encrypt(workspace_id=workspace_id, secret=given)
        settings[_SEALED] = base64.b64encode(encrypted).decode()
    return settings


def connector_webhook_secret(connector: Connector) -> str | None:
    """The decrypted webhook secret, to check one delivery; None when none was entered."""
    sealed = (connector.settings or {}).get(_SEALED)
    if not sealed:
        return None
    return secret_decrypt(workspace_id=connector.workspace_id, encrypted=base64.b64decode(sealed))


def _saved(connector: Connector) -> Connector:
    try:
        with transaction.atomic():  # a savepoint: the unique name decides between concurrent writers
            connector.save()
    except IntegrityError:
        raise Conflict(f"The workspace has a connector named {connector.name!r} already: choose another name.",
                       code="connector_name_taken") from None
    return connector


def connector_delete(*, connector: Connector) -> None:
    """Delete the connector: steps that name it fail from now on, saying so (publishing refuses them)."""
    connector.delete()


def connector_get(*, workspace: Any, connector_id: object) -> Connector:
    """The workspace's connector ``connector_id``; NotFound for any other id (another workspace's included)."""
    return Connector.objects.get_for_workspace(workspace, connector_id, noun="connector")


def connector_secret(connector: Connector) -> str:
    """The decrypted secret, for one call to the service. The caller never logs or stores it.

    Raises `CredentialUnreadable` when the key changed since it was entered."""
    return secret_decrypt(workspace_id=connector.workspace_id, encrypted=connector.secret_encrypted)


def connector_refused(*, connector: Connector, reason: str) -> None:
    """Record that the service refused the connector's secret: it needs the user's attention."""
    Connector.objects.filter(pk=connector.pk).update(
        status=Connector.Status.NEEDS_ATTENTION, last_error=reason[:1000], last_error_at=timezone.now())


def connector_cursor_set(*, connector: Connector, cursor: dict[str, Any]) -> None:
    """Record where polling the service's changes stopped (the next poll starts there)."""
    connector.cursor = cursor
    Connector.objects.filter(pk=connector.pk).update(cursor=cursor)
