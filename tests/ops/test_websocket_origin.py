"""Which pages may open a websocket: the origin must be the site's own scheme-less host and port (the Host the
browser connected to) or a trusted origin, like Django's CSRF check; the host name alone is not enough."""

from __future__ import annotations

import pytest

from penguinflow.common.websocket_origin import origin_allowed


@pytest.mark.parametrize(("origin", "host"), [
    ("http://localhost:8000", "localhost:8000"),
    ("https://localhost", "localhost"),
    ("https://localhost:443", "localhost"),
    ("http://LOCALHOST:8000", "localhost:8000"),
    ("http://[::1]:8000", "[::1]:8000"),
])
def test_the_site_s_own_pages_may(settings, origin, host):
    settings.ALLOWED_HOSTS = ["localhost", "[::1]"]
    assert origin_allowed(origin, host)


@pytest.mark.parametrize(("origin", "host"), [
    ("http://localhost:3000", "localhost:8000"),  # another port of an allowed host: the cookie would go there too
    ("http://localhost", "localhost:8000"),
    ("https://evil.example", "localhost:8000"),
    ("http://evil.example:8000", "evil.example:8000"),  # a host not allowed, even when it is the Host said
    ("null", "localhost:8000"),  # a sandboxed frame or a file
    ("", "localhost:8000"),
    (None, "localhost:8000"),
    ("http://localhost:8000", None),
])
def test_other_pages_may_not(settings, origin, host):
    settings.ALLOWED_HOSTS = ["localhost", "[::1]"]
    assert not origin_allowed(origin, host)


def test_a_trusted_origin_may_from_behind_a_proxy_that_rewrites_the_host(settings):
    settings.ALLOWED_HOSTS = ["app.example.com", "internal"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    assert origin_allowed("https://app.example.com", "internal:8000")
    assert not origin_allowed("http://app.example.com", "internal:8000")
