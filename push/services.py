"""Writes of the push settings (the VAPID keys themselves are made in `push.vapid`)."""

from __future__ import annotations

import secrets

from push.models import PushSettings
from push.vapid import push_settings_get


def push_settings_update(*, workspace, **changes) -> PushSettings:
    """Change the subject or the allowed origins of the workspace's push settings."""
    push_settings = push_settings_get(workspace=workspace)
    for name, value in changes.items():
        setattr(push_settings, name, value)
    push_settings.save(update_fields=[*changes, "updated_at"])
    return push_settings


def identity_secret_rotate(*, workspace) -> str:
    """Make a new identity secret and return it (shown once); the previous one stops verifying at once."""
    push_settings = push_settings_get(workspace=workspace)
    push_settings.identity_secret = secrets.token_urlsafe(32)
    push_settings.save(update_fields=["identity_secret", "updated_at"])
    return push_settings.identity_secret
