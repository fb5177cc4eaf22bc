"""Twilio's request signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed with the auth token, over the
full URL Twilio requested followed by each POST parameter's name and value, sorted by name."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def twilio_signature(*, auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Return the signature Twilio sends for a POST of `params` (pairs; a repeated name appears once per value)."""
    payload = url + "".join(f"{name}{value}" for name, value in sorted(params, key=lambda pair: pair[0]))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_signature_valid(
    *, auth_token: str, urls: Iterable[str], params: list[tuple[str, str]], signature: str
) -> bool:
    """Whether `signature` signs `params` at one of `urls` (the address as we see it, or as configured publicly)."""
    if not signature or not auth_token:
        return False
    return any(
        hmac.compare_digest(twilio_signature(auth_token=auth_token, url=url, params=params), signature)
        for url in dict.fromkeys(urls)
    )
