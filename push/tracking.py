"""The click token of a push message: `django.core.signing` over the message id, with a salt of its own (an email
token is no push token). The redirect goes to the URL stored on the message: nothing in the request chooses it."""

from __future__ import annotations

import base64
import uuid

from django.conf import settings
from django.core import signing

from penguinflow.common.tokens import b64, sign

_SALT = "penguinflow.push.v1:click"


def click_token(message_id: uuid.UUID) -> str:
    """`Signer(salt=_SALT).sign` of the encoded id, from a cached key (one per message, on the delivery path)."""
    return sign(_SALT, b64(message_id.bytes))


def click_url(message_id: uuid.UUID) -> str:
    return f"{settings.PUBLIC_BASE_URL}/t/p/{click_token(message_id)}"


def read_click_token(token: str) -> uuid.UUID | None:
    """Return the message id of a valid click token, else None (forged, of another kind, malformed)."""
    if not token or len(token) > 200:
        return None
    try:
        raw = signing.Signer(salt=_SALT).unsign(token)
        return uuid.UUID(bytes=base64.urlsafe_b64decode(raw + "=="))
    except (signing.BadSignature, ValueError, TypeError):
        return None
