"""How a CRM's webhook delivery proves it comes from the CRM.

- HubSpot, signature v3: ``X-HubSpot-Signature-v3`` is base64(HMAC-SHA256(client secret, method + URI + body +
  timestamp)), ``X-HubSpot-Request-Timestamp`` in milliseconds; a delivery older than five minutes is refused
  (a replay). The URI is the full address HubSpot called.
- Pipedrive: HTTP Basic authentication with the user and password given when the webhook was made; the password
  is the connector's webhook secret (any user name).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from urllib.parse import unquote

__all__ = ["MAX_AGE_MS", "basic_password", "hubspot_v3_signature", "hubspot_v3_valid"]

MAX_AGE_MS = 5 * 60 * 1000
# HubSpot decodes these in the URI before signing (its documentation's list).
_DECODED = ("%3A", "%2F", "%3F", "%40", "%21", "%24", "%27", "%28", "%29", "%2A", "%2C", "%3B")


def hubspot_v3_signature(*, secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    for encoded in _DECODED:
        uri = uri.replace(encoded, unquote(encoded)).replace(encoded.lower(), unquote(encoded))
    source = method.upper().encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def hubspot_v3_valid(*, secret: str, method: str, uris: list[str], body: bytes, timestamp: str, signature: str,
                     now_ms: int | None = None) -> bool:
    """Whether the delivery is signed by ``secret`` for one of ``uris`` (the address as seen, as configured) and
    recent."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not timestamp.isdigit() or abs(now_ms - int(timestamp)) > MAX_AGE_MS or not signature:
        return False
    return any(hmac.compare_digest(hubspot_v3_signature(secret=secret, method=method, uri=uri, body=body,
                                                        timestamp=timestamp), signature) for uri in uris)


def basic_password(authorization: str) -> str | None:
    """The password of an ``Authorization: Basic`` header; None for any other header."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] if ":" in decoded else None
