"""Signing on hot paths: exactly what `django.core.signing.Signer(salt=salt).sign(value)` returns, with the HMAC
key derived once per (salt, secret) instead of once per token (a Signer reads the settings and hashes the secret
each time it signs). `Signer(salt=salt).unsign` verifies the result, with SECRET_KEY_FALLBACKS, so links
signed either way stay valid.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from django.conf import settings


@functools.lru_cache(maxsize=32)
def salted_mac(salt: str, secret: str) -> hmac.HMAC:
    """The keyed HMAC that `Signer(salt=salt).sign` computes (django's `salted_hmac`), to be copied per token."""
    return hmac.new(hashlib.sha256(f"{salt}signer{secret}".encode()).digest(), digestmod=hashlib.sha256)


def b64(data: bytes) -> str:
    """URL-safe base64 without padding, as `django.core.signing` writes it."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign(salt: str, value: str, *, secret: str | None = None) -> str:
    """Return `Signer(salt=salt).sign(value)` (the default ':' separator and sha256), computed from a cached key."""
    mac = salted_mac(salt, settings.SECRET_KEY if secret is None else secret).copy()
    mac.update(value.encode())
    return f"{value}:{b64(mac.digest())}"
