"""What a browser gives when it subscribes, checked before it is stored: an https endpoint that the SSRF guard
lets us call, and keys that are a P-256 point and a 16-byte secret (RFC 8291)."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric import ec

from penguinflow.common.errors import InvalidInput
from penguinflow.outbound.addresses import OutboundRefused, allowed_networks, target_of
from penguinflow.outbound.client import OutboundFailed, checked_address, system_resolver

MAX_ENDPOINT = 2000


def b64url_decode(value: str) -> bytes:
    """Decode base64url with or without its padding (browsers send it without); ValueError when it is not."""
    text = value.strip()
    if not text or len(text) > 200 or any(c not in _B64URL for c in text.rstrip("=")):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def keys_check(*, p256dh: str, auth: str) -> None:
    """Refuse (400) keys a message could not be encrypted for."""
    problems: dict[str, str] = {}
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(point) != 65:
            raise ValueError("compressed")
    except (ValueError, binascii.Error):
        problems["keys.p256dh"] = "Not an uncompressed P-256 public key in base64url (65 bytes)."
    try:
        if len(b64url_decode(auth)) != 16:
            raise ValueError("length")
    except (ValueError, binascii.Error):
        problems["keys.auth"] = "Not a 16-byte authentication secret in base64url."
    if problems:
        raise InvalidInput(
            "The subscription's keys are not valid.", details=problems, code="invalid_push_keys"
        )


def endpoint_check(endpoint: str, *, resolver=system_resolver) -> str:
    """Return the endpoint if messages may be posted to it: https, and (resolved now; again at each send) on no
    private, loopback, link-local or metadata address unless OUTBOUND_ALLOWED_NETWORKS exempts it."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise InvalidInput(
            "The endpoint must be a URL of at most 2000 characters.",
            details={"endpoint": "Give the subscription's endpoint."},
            code="invalid_push_endpoint",
        )
    try:
        target = target_of(endpoint)
        if target.scheme != "https":
            raise OutboundRefused("A push endpoint must be an https:// URL.")
        checked_address(
            target.address, target.host, target.port, allowed=allowed_networks(), resolver=resolver
        )
    except (OutboundRefused, OutboundFailed) as error:
        raise InvalidInput(
            "The push endpoint cannot be used.",
            details={"endpoint": str(error)},
            code="invalid_push_endpoint",
        ) from None
    return endpoint
