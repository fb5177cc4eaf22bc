"""One Redis connection pool per process, for counters, tokens and the API-key generation (never a store of record)."""

from __future__ import annotations

import redis
from django.conf import settings

_client: tuple[str, redis.Redis] | None = None


def redis_client() -> redis.Redis:
    """Return a client for `settings.REDIS_URL` with short timeouts: callers treat Redis errors as a miss."""
    global _client
    url = settings.REDIS_URL
    if _client is None or _client[0] != url:
        _client = (url, redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5))
    return _client[1]
