"""What `POST /api/v1/events` checks before it ingests, shared by its two front doors.

The Django view (`events.views.post_events`) and the ASGI fast path (`events.fastpath`) answer every request
alike: the same order of checks, the same status codes, error codes and messages. The decisions live here as
plain functions; each front door only does the I/O (cache/database for keys, Redis for the rate counter).

Order of checks (as the Django stack has always applied them): Content-Length over the limit (the body-size
middleware, 413), then the bearer key (401), the per-key rate (429 with Retry-After), the content type (415),
the actual body size (413), and finally the body itself (400 / 202).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings

from penguinflow.common.auth import ApiKeyPrincipal
from penguinflow.workspaces.models import ApiScope

EVENTS_PATH = "/api/v1/events"

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Refusal:
    """An answer in the contract's error format (CONTRACT §2), with its extra headers."""

    status: int
    code: str
    message: str
    details: dict | None = None
    headers: tuple[tuple[str, str], ...] = ()


def body_limit(path: str = EVENTS_PATH) -> int:
    return settings.BODY_SIZE_LIMITS.get(path, settings.BODY_SIZE_LIMIT_DEFAULT)


def content_length_refusal(value: str | None, path: str = EVENTS_PATH) -> Refusal | None:
    """Refuse a declared Content-Length that is not a number or over the limit (before anything is read)."""
    if not value:
        return None
    try:
        size = int(value)
    except ValueError:
        return Refusal(400, "bad_request", "The Content-Length header is not a number.")
    return body_size_refusal(size, path)


def body_size_refusal(size: int, path: str = EVENTS_PATH) -> Refusal | None:
    limit = body_limit(path)
    if size > limit:
        return Refusal(413, "payload_too_large",
                       f"The request body is {size} bytes; this endpoint takes at most {limit} bytes.",
                       {"limit_bytes": limit})
    return None


def bearer_key(header: str) -> str | Refusal:
    """Return the raw API key of an Authorization header, or the 401 to answer."""
    if not header:
        return _unauthenticated("not_authenticated",
                                "Authentication is required: send 'Authorization: Bearer <api key>'.")
    scheme, _, raw_key = header.partition(" ")
    raw_key = raw_key.strip()
    if scheme.lower() != "bearer" or not raw_key or " " in raw_key:
        return _unauthenticated("authentication_failed", "The Authorization header must be 'Bearer <api key>'.")
    return raw_key


INVALID_KEY = Refusal(401, "authentication_failed", "This API key is not valid, or has been revoked.",
                      headers=(("WWW-Authenticate", "Bearer"),))


def _unauthenticated(code: str, message: str) -> Refusal:
    return Refusal(401, code, message, headers=(("WWW-Authenticate", "Bearer"),))


def content_type_refusal(content_type: str) -> Refusal | None:
    """Refuse a body not declared `application/json` (parameters such as `charset` allowed): a missing type, or
    a lookalike such as `application/jsonl`, is a client mistake to name, not a body to guess at."""
    if content_type.partition(";")[0].strip().lower() == "application/json":
        return None
    if not content_type:
        return Refusal(415, "unsupported_media_type", "The request has no Content-Type: send application/json.")
    return Refusal(415, "unsupported_media_type", f'Unsupported media type "{content_type}"; send application/json.')


@dataclass(frozen=True, slots=True)
class ThrottleWindow:
    """The fixed rate window a request counts against: Redis key, limit, and when the window ends."""

    key: str
    limit: int
    period: int
    ends_at: float

    def retry_after(self, count: int, now: float) -> int | None:
        """Seconds to wait when `count` (this request included) is over the limit, else None."""
        if count <= self.limit:
            return None
        return max(1, math.ceil(self.ends_at - now))


def throttle_window(key_id: str, now: float | None = None, *, per_minute: int | None = None
                    ) -> ThrottleWindow | None:
    """Return the window of `key_id`'s current request, or None when no rate is configured.

    `per_minute` is the key's own rate (`rate_limit_per_minute`), which replaces the server's default.
    The counter is one Redis key per key and window (INCR, EXPIRE period + 1), shared by all server processes.
    """
    rate = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get("api_key")
    if per_minute is not None:
        rate = f"{per_minute}/m"
    if not rate:
        return None
    count, _, period_name = rate.partition("/")
    period = _PERIODS[period_name[0]]
    now = time.time() if now is None else now
    window = int(now // period)
    return ThrottleWindow(f"pf:throttle:events:{key_id}:{window}", int(count), period, (window + 1) * period)


def scope_refusal(principal: ApiKeyPrincipal) -> Refusal | None:
    """Refuse a key that may not record events (neither `events` nor `write`), naming the scope it needs."""
    missing = principal.missing(ApiScope.EVENTS)
    if missing is None:
        return None
    message, details = missing
    return Refusal(403, "insufficient_scope", message, details)


def throttled(wait: int) -> Refusal:
    return Refusal(429, "throttled", f"Request was throttled. Expected available in {wait} seconds.",
                   headers=(("Retry-After", str(wait)),))
