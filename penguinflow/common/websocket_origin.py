"""The origin check of every websocket: the page that opens one must be served by this site.

Channels' AllowedHostsOriginValidator compares only the Origin's host name with ALLOWED_HOSTS, so a page on
another port of an allowed host (a dev server on localhost:3000, any service beside PenguinFlow on the same
machine) could open a socket with the user's cookie, which browsers send to every port of a host. The CSRF check of
Django's own forms compares scheme, host and port; this does the same for sockets: the Origin's host and port must
be the request's own Host (what the browser connected to), or an origin listed in CSRF_TRUSTED_ORIGINS, and the host
must be allowed. Written here because Channels offers only the host-name check or a fixed list of origins.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def _host_and_port(netloc: str, scheme: str) -> tuple[str, str]:
    """('example.com', '443') from 'example.com:443' or, with the scheme's default port, from 'example.com'."""
    host, port = split_domain_port(netloc.lower())  # Django's reading of a Host header: '[::1]' keeps its brackets
    return host, port or DEFAULT_PORTS[scheme]


def origin_allowed(origin: str | None, host: str | None) -> bool:
    if not origin or not host:
        return False
    parts = urlsplit(origin.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if f"{parts.scheme}://{parts.netloc}" in {o.lower().rstrip("/") for o in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    origin_host = _host_and_port(parts.netloc, parts.scheme)
    # The Host header carries no scheme: a port it leaves out is the default of the scheme the page says, so
    # https://example.com matches Host: example.com, and http://example.com:8000 needs Host: example.com:8000.
    request_host = _host_and_port(host, parts.scheme)
    allowed = validate_host(origin_host[0], settings.ALLOWED_HOSTS)
    return bool(origin_host[0]) and origin_host == request_host and allowed


class SameOriginValidator:
    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if origin_allowed(_header(scope, b"origin"), _header(scope, b"host")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
