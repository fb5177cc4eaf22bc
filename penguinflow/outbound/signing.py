"""Standard Webhooks signatures (https://www.standardwebhooks.com/) with a workspace's secrets.

The `standardwebhooks` package computes each signature; this module adds what a sender needs around it: a secret
in the `whsec_` form, a message id that stays the same for every try of one delivery (receivers deduplicate on
it), and one signature per secret in use, space-separated, so that during a rotation receivers that know either
the old or the new secret can verify.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

__all__ = ["SECRET_PREFIX", "message_id", "new_secret", "signature_headers"]

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A new signing secret: 32 random bytes, base64, with the Standard Webhooks prefix."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def message_id(scope: str, key: str) -> str:
    """The `webhook-id` of a delivery: the same for every try of one effect key in one scope (workspace)."""
    return "msg_" + hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]


def signature_headers(*, secrets_in_use: Sequence[str], msg_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """Return the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers for ``body``.

    ``secrets_in_use`` are the workspace's current secret and any older one still in its overlap: one `v1,`
    signature each, space-separated, as the specification allows.
    """
    if not secrets_in_use:
        raise ValueError("no signing secret")
    timestamp = timestamp.astimezone(UTC)
    signatures = [Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets_in_use]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
