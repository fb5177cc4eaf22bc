"""A workspace's VAPID keys (RFC 8292): made on first use, the private key stored encrypted, and the signed
`Authorization` header of a push service's origin (cached: one ECDSA signature per origin and half hour, not
per message).

The private key is encrypted with a key derived from PUSH_KEY_SECRET (default: SECRET_KEY); the fallbacks of
SECRET_KEY_FALLBACKS still decrypt keys stored before a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from email.utils import parseaddr

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import IntegrityError, transaction
from py_vapid import Vapid02
from py_vapid.utils import b64urlencode

from push.models import PushSettings

# A signed JWT is valid for 12 hours (RFC 8292 allows 24); it is re-signed after half an hour of use, well before.
TOKEN_LIFETIME_S = 12 * 3600
TOKEN_REUSE_S = 1800


def _fernet() -> MultiFernet:
    secrets_ = [
        getattr(settings, "PUSH_KEY_SECRET", "") or settings.SECRET_KEY,
        *getattr(settings, "SECRET_KEY_FALLBACKS", []),
    ]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(hashlib.sha256(f"penguinflow.push.vapid:{secret}".encode()).digest())
            )
            for secret in secrets_
        ]
    )


def push_settings_get(*, workspace) -> PushSettings:
    """Return the workspace's push settings, making its VAPID key pair and site key the first time."""
    found = PushSettings.objects.filter(workspace=workspace).first()
    if found is not None:
        return found
    vapid = Vapid02()
    vapid.generate_keys()
    public = b64urlencode(
        vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    private = vapid.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        with transaction.atomic():
            return PushSettings.objects.create(
                workspace=workspace, vapid_public_key=public,
                vapid_private_key_encrypted=_fernet().encrypt(private).decode(),
                site_key=f"ps_{secrets.token_urlsafe(24)}", identity_secret=secrets.token_urlsafe(32),
            )  # fmt: skip
    except IntegrityError:  # another request made them at the same moment: theirs stand
        return PushSettings.objects.get(workspace=workspace)


def subject_of(push_settings: PushSettings, workspace) -> str:
    """The VAPID `sub` claim: the settings' own, else the workspace's sender address, else the project's."""
    if push_settings.subject:
        return push_settings.subject
    address = parseaddr(workspace.from_email or settings.DEFAULT_FROM_EMAIL)[1] or "push@penguinflow.invalid"
    return f"mailto:{address}"


class Signers:
    """The VAPID signers and signed headers of this process, by workspace and push-service origin."""

    def __init__(self) -> None:
        self._keys: dict[
            str, tuple[str, Vapid02, str]
        ] = {}  # workspace id -> (encrypted key, signer, subject)
        self._headers: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def authorization(self, *, push_settings: PushSettings, workspace, audience: str) -> str:
        """Return the `Authorization: vapid t=..., k=...` header for a push service origin (`audience`)."""
        workspace_id = str(push_settings.workspace_id)
        now = time.time()
        with self._lock:
            cached = self._headers.get((workspace_id, audience))
            known = self._keys.get(workspace_id)
        subject = subject_of(push_settings, workspace)
        if known is None or known[0] != push_settings.vapid_private_key_encrypted or known[2] != subject:
            pem = _fernet().decrypt(push_settings.vapid_private_key_encrypted.encode())
            known = (
                push_settings.vapid_private_key_encrypted,
                Vapid02.from_pem(pem),
                subject,
            )
            with self._lock:
                self._keys[workspace_id] = known
            cached = None
        if cached is not None and now - cached[0] < TOKEN_REUSE_S:
            return cached[1]
        header = known[1].sign({"aud": audience, "sub": known[2], "exp": int(now) + TOKEN_LIFETIME_S})[
            "Authorization"
        ]
        with self._lock:
            self._headers[(workspace_id, audience)] = (now, header)
        return header


signers = Signers()
