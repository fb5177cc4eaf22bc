"""What every network's client provides, and the one way a post is sent and its answer judged.

A network module (`linkedin`, `x`, `facebook`) turns an account and a text into a request (`request`), reads the
post's id and URL from a success (`published`), and may say what a failure means on its API (`failure`: Facebook
answers an expired token with a 400, X a duplicate post with a 403). `post` sends the request through
`penguinflow.outbound` (the SSRF guard, one deadline, a capped answer) and judges the answer alike for all:

- 2xx: published.
- 401 and 403: the account is refused (token expired or revoked, permission lost): `AccountRefused`, which the
  caller turns into "needs attention" on the connector and a step failure that says what to fix.
- 429: `RateLimitedBy`, with the wait the network asks for (Retry-After, X's x-rate-limit-reset) or a default.
- 408, 5xx, no answer: `NetworkUnavailable` (worth a retry).
- any other 4xx: `PostRejected` with the network's message (worth no retry: the same post would be refused again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from penguinflow.outbound.addresses import Network as AddressRange
from penguinflow.outbound.addresses import OutboundRefused
from penguinflow.outbound.client import Connections, OutboundFailed, OutboundResponse, Resolver, send

__all__ = ["Account", "AccountRefused", "NetworkUnavailable", "PostRejected", "PostRequest", "Published",
           "RateLimitedBy", "SocialError", "SocialNetwork", "bounded_wait", "excerpt_of", "json_of", "post",
           "retry_after_header"]

USER_AGENT = "PenguinFlow-SocialPost/1"
TIMEOUT_S = 15
# A 429 that says nothing of when to come back: wait this long (the networks' windows are 15 minutes to a day).
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)
# The longest wait honoured: X's daily limits reset within 24 hours; anything further is a misread header.
MAX_RATE_LIMIT_WAIT = timedelta(hours=24)
_EXCERPT_CHARS = 300


@dataclass(frozen=True)
class Account:
    """A connected account as a client needs it: where its API is, its token (for this call only), its settings."""

    name: str
    base_url: str
    secret: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PostRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Published:
    post_id: str
    post_url: str


class SocialError(Exception):
    """A post that was not published, and why."""


class AccountRefused(SocialError):
    """The network refused the account's token: the user must reconnect it (``fix`` says how)."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(f"{reason} {fix}")
        self.reason, self.fix = reason, fix


class RateLimitedBy(SocialError):
    """The network's rate limit: post again after ``wait``."""

    def __init__(self, message: str, wait: timedelta) -> None:
        super().__init__(message)
        self.wait = wait


class NetworkUnavailable(SocialError):
    """No answer, or the network failed (5xx): trying again later may work."""


class PostRejected(SocialError):
    """The network refused this post (a duplicate, invalid content): the same post would be refused again."""


class SocialNetwork(Protocol):
    name: str  # the connector kind: "linkedin", "x", "facebook"
    refused_fix: str  # what the user does when the account is refused

    def request(self, account: Account, text: str, url: str | None) -> PostRequest: ...

    def published(self, response: OutboundResponse) -> Published: ...

    def failure(self, response: OutboundResponse) -> SocialError | None:
        """What a non-2xx answer means on this network, when it differs from the common reading (None)."""
        ...


def post(network: SocialNetwork, account: Account, text: str, url: str | None, *, allowed: tuple[AddressRange, ...],
         resolver: Resolver, connections: Connections | None = None) -> Published:
    """Publish on ``network``; raise a SocialError subclass when the post was not published."""
    request = network.request(account, text, url)
    try:
        response = send(method=request.method, url=request.url, headers={"User-Agent": USER_AGENT, **request.headers},
                        body=request.body, timeout_s=TIMEOUT_S, allowed=allowed, resolver=resolver,
                        connections=connections)
    except OutboundRefused as error:
        raise PostRejected(f"The post was not sent: {error} Check the account's API address (base_url).") from None
    except OutboundFailed as error:
        raise NetworkUnavailable(f"The network did not answer: {error}") from None
    if 200 <= response.status < 300:
        return network.published(response)
    raise network.failure(response) or _common_failure(network, response)


def _common_failure(network: SocialNetwork, response: OutboundResponse) -> SocialError:
    said = f"The network answered {response.status}" + (f": {excerpt}" if (excerpt := excerpt_of(response)) else "")
    status = response.status
    if status in (401, 403):
        return AccountRefused(f"{said}.", network.refused_fix)
    if status == 429:
        return RateLimitedBy(said, retry_after_header(response) or DEFAULT_RATE_LIMIT_WAIT)
    if status == 408 or status >= 500:
        return NetworkUnavailable(said)
    return PostRejected(said)


def excerpt_of(response: OutboundResponse) -> str:
    """The start of the answer's body on one line: the network's own words for what went wrong."""
    text = response.body.decode("utf-8", errors="replace")
    return " ".join(text[:_EXCERPT_CHARS].split())


def json_of(response: OutboundResponse) -> Any:
    """The answer's JSON, or None when it has none (an error page, a truncated answer)."""
    try:
        return json.loads(response.body) if not response.truncated else None
    except ValueError:
        return None


def retry_after_header(response: OutboundResponse, *, now: datetime | None = None) -> timedelta | None:
    """The wait a Retry-After header asks for (seconds or an HTTP date), bounded; None when absent or unreadable."""
    value = (response.headers.get("retry-after") or "").strip()
    if value.isdigit():
        return bounded_wait(timedelta(seconds=int(value)))
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return bounded_wait(when - (now or datetime.now(UTC)))


def bounded_wait(wait: timedelta) -> timedelta:
    """At least a second (a reset already past still waits a moment), at most MAX_RATE_LIMIT_WAIT."""
    return min(max(wait, timedelta(seconds=1)), MAX_RATE_LIMIT_WAIT)
