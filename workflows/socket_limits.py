"""Caps on the live screens' websockets (issue 22): sockets open at once per user, and frames a client sends.

Connections are counted in Redis, one sorted set per user (member: the channel name, score: when it was last
seen), so the cap holds across server processes. A server process that dies cannot release its sockets; their
entries age out after `STALE_SECONDS` unless the socket refreshes them (it does every `REFRESH_SECONDS`), so a
crash never locks a user out for long. Two sockets opening in the same instant may both pass at the cap: it is
"about N", which is what a cap against a runaway tab or script needs. With Redis unreachable the cap is not
applied (the live updates travel through Redis too; the screens fall back to refetching).

Clients only listen: whatever they send is ignored unread, and one that sends more than its allowance a minute
is disconnected (4429), so a hostile page cannot keep a server process busy.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque

import redis
from django.conf import settings

from penguinflow.common.redis_client import redis_client

__all__ = ["REFRESH_SECONDS", "TOO_MANY", "ReceivedFrames", "connection_admit", "connection_refresh",
           "connection_release"]

TOO_MANY = 4429  # the close code: the websocket spelling of HTTP 429
STALE_SECONDS = 900
REFRESH_SECONDS = 300


def _key(user_id: object) -> str:
    return f"pf:live-sockets:{user_id}"


def connection_admit(user_id: object, channel_name: str) -> bool:
    """Count this socket for the user and say True, or say False when the user has the most open already."""
    now = time.time()
    try:
        client = redis_client()
        key = _key(user_id)
        pipe = client.pipeline()
        pipe.zremrangebyscore(key, "-inf", now - STALE_SECONDS)
        pipe.zcard(key)
        _, open_now = pipe.execute()
        if open_now >= settings.LIVE_MAX_SOCKETS_PER_USER:
            return False
        pipe = client.pipeline()
        pipe.zadd(key, {channel_name: now})
        pipe.expire(key, STALE_SECONDS)
        pipe.execute()
    except redis.RedisError:
        return True
    return True


def connection_refresh(user_id: object, channel_name: str) -> None:
    """Say the socket is still open (it would age out after STALE_SECONDS otherwise)."""
    with contextlib.suppress(redis.RedisError):
        pipe = redis_client().pipeline()
        pipe.zadd(_key(user_id), {channel_name: time.time()}, xx=True)
        pipe.expire(_key(user_id), STALE_SECONDS)
        pipe.execute()


def connection_release(user_id: object, channel_name: str) -> None:
    with contextlib.suppress(redis.RedisError):
        redis_client().zrem(_key(user_id), channel_name)


class ReceivedFrames:
    """The frames one socket received in the last minute; `allow()` says whether one more is within the cap."""

    def __init__(self, per_minute: int | None = None) -> None:
        self.per_minute = per_minute if per_minute is not None else settings.LIVE_MAX_CLIENT_FRAMES_PER_MINUTE
        self.times: deque[float] = deque()

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        while self.times and self.times[0] <= now - 60:
            self.times.popleft()
        self.times.append(now)
        return len(self.times) <= self.per_minute
