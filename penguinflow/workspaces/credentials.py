"""Encryption at rest of the workspaces' credentials: Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`).

The key is `CREDENTIALS_KEY` when set, else derived from `SECRET_KEY`; either way it goes through HKDF-SHA256 with
a purpose of its own, so this key is never the one that signs sessions, and a key of any length works. The
workspace's id is bound to each ciphertext (it is encrypted with the secret and checked on reading), so a row
copied into another workspace's credential does not decrypt there.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["CredentialUnreadable", "secret_decrypt", "secret_encrypt"]

_PURPOSE = b"penguinflow credentials v1"


class CredentialUnreadable(Exception):
    """The stored secret cannot be decrypted with the current key (it changed), or belongs elsewhere."""


@functools.cache
def _fernet(material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _current() -> Fernet:
    return _fernet(settings.CREDENTIALS_KEY or settings.SECRET_KEY)


def secret_encrypt(*, workspace_id: object, secret: str) -> bytes:
    """Return the ciphertext of ``secret`` for the workspace."""
    return _current().encrypt(f"{workspace_id}\n{secret}".encode())


def secret_decrypt(*, workspace_id: object, encrypted: bytes | memoryview) -> str:
    """Return the secret; raise CredentialUnreadable when the key changed or the row is another workspace's."""
    try:
        plain = _current().decrypt(bytes(encrypted)).decode()
    except InvalidToken:
        raise CredentialUnreadable("The credential cannot be decrypted (CREDENTIALS_KEY or SECRET_KEY changed "
                                   "since it was saved): enter its secret again.") from None
    owner, _, secret = plain.partition("\n")
    if owner != str(workspace_id):
        raise CredentialUnreadable("The credential belongs to another workspace.")
    return secret
