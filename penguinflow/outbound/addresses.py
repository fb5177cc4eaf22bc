"""Which addresses an outbound request may reach: the SSRF guard's classification and the host spellings it sees
through.

A URL's host can name an internal address in many spellings that resolvers accept: `127.1`, `0x7f000001`,
`2130706433` and `017700000001` are all 127.0.0.1 to `getaddrinfo` (the BSD `inet_aton` forms), and
`[::ffff:127.0.0.1]` is 127.0.0.1 in IPv6 dress. So a host is first read as an address the way the resolver would
read it (`host_address`), and every address is judged by what it reaches (`refusal`), the IPv4 inside an IPv6
form included. Only the networks of `OUTBOUND_ALLOWED_NETWORKS` are exempt.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import SplitResult, urlsplit

__all__ = [
    "IPAddress",
    "Network",
    "OutboundRefused",
    "Target",
    "allowed_networks",
    "host_address",
    "literal_url_refusal",
    "parse_networks",
    "refusal",
    "target_of",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata services, named apart so the refusal says what they are (they are link-local or unique-local
# too, so the general rules refuse them anyway).
_METADATA = {
    ipaddress.ip_address("169.254.169.254"): "a cloud metadata address",
    ipaddress.ip_address("fd00:ec2::254"): "a cloud metadata address",
    ipaddress.ip_address("100.100.100.200"): "a cloud metadata address",
}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# What inet_aton reads: one to four parts, each decimal, octal (leading 0) or hex (0x). Anything else (a name)
# goes to the resolver. Checked before inet_aton, which would also accept "1.2.3.4 trailing words".
_INET_ATON_FORM = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)(?:\.(?:0[xX][0-9a-fA-F]*|[0-9]+)){0,3}")


class OutboundRefused(Exception):
    """The request must not be made: the URL or an address it reaches is not allowed. Never worth a retry."""


def host_address(host: str) -> IPAddress | None:
    """Return the address a URL host spells (any form a resolver accepts as a number), or None for a name."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        if "%" in host:
            raise OutboundRefused("IPv6 zone ids (%...) are not allowed in a URL host.")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise OutboundRefused(f"{host!r} is not a valid IPv6 address.") from None
    if _INET_ATON_FORM.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise OutboundRefused(f"{host!r} is not a valid IPv4 address.") from None
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (mapped, compatible, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def refusal(address: IPAddress, allowed: Iterable[Network] = ()) -> str | None:
    """Return why ``address`` must not be called (None: it may), unless a network of ``allowed`` holds it."""
    inner = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    judged = inner or address
    if any(judged in network or address in network for network in allowed):
        return None
    if judged in _METADATA:
        return f"{address} is {_METADATA[judged]}"
    for what, holds in (
        ("an unspecified address", judged.is_unspecified),
        ("a loopback address", judged.is_loopback),
        ("a link-local address", judged.is_link_local),
        ("a multicast address", judged.is_multicast),
        ("a shared address (CGNAT, 100.64.0.0/10)", judged in _CGNAT),
        ("a private address", judged.is_private),
        ("a reserved address", judged.is_reserved),
        ("not globally routable", not judged.is_global),
    ):
        if holds:
            return f"{address} is {what}"
    return None


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDRs such as ``127.0.0.1/32``; raise ValueError naming the one that is not a network."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip())


@lru_cache(maxsize=8)
def _parsed(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def allowed_networks() -> tuple[Network, ...]:
    """The networks of the OUTBOUND_ALLOWED_NETWORKS setting, the guard's only exemption."""
    from django.conf import settings

    return _parsed(tuple(getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ())))


class Target:
    """Where a URL points: scheme, host as written (a name or an address), port, and the address if literal."""

    __slots__ = ("address", "host", "parts", "port", "scheme")

    def __init__(self, parts: SplitResult, host: str, port: int, address: IPAddress | None) -> None:
        self.parts, self.scheme, self.host, self.port, self.address = parts, parts.scheme, host, port, address


# Spaces and control characters (below 0x21, and DEL): one regex scan, not a Python loop per character (every
# webhook and push message goes through here).
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x20\x7f]")


def target_of(url: str) -> Target:
    """Read an http(s) URL's target; refuse what cannot be called safely (userinfo, control characters...)."""
    if _UNSAFE_CHARACTER.search(url):
        raise OutboundRefused("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise OutboundRefused(f"The URL cannot be read: {error}.") from None
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused("Only http:// and https:// URLs can be called.")
    if "@" in parts.netloc:
        # user@host is refused outright: it hides the host from a quick read and is no way to pass credentials.
        raise OutboundRefused("URLs with a user name or password (user@host) are not allowed; use a header.")
    host = parts.hostname
    if not host:
        raise OutboundRefused("The URL has no host.")
    if host.endswith("."):
        host = host[:-1]
    port = port or (443 if parts.scheme == "https" else 80)
    return Target(parts, host, port, host_address(host))


def literal_url_refusal(url: str, allowed: Iterable[Network] = ()) -> str | None:
    """Return why a URL written in a workflow is refused, judging only what needs no DNS (None: not refused now).

    A host with Liquid in it is judged when the step renders it; a name is judged when it is resolved.
    """
    scheme, _, rest = url.partition("://")
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "{" in netloc:
        return None
    try:
        # Only the scheme and authority: Liquid in the path or query renders at send time.
        target = target_of(f"{scheme}://{netloc}/")
    except OutboundRefused as error:
        return str(error)
    if target.address is None:
        return None
    return refusal(target.address, allowed)
