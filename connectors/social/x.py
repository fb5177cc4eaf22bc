"""X through API v2 (the subset social_post uses).

`POST /2/tweets` with `{"text": ...}` and the account's OAuth 2.0 user access token as a Bearer token (scopes
tweet.read, tweet.write, users.read). X has no link field: the link goes at the end of the text
(`connectors.social.limits.x_text`). The answer is `{"data": {"id", "text"}}`; the post is at
`https://x.com/i/web/status/<id>`.

A 429 says when the window resets in `x-rate-limit-reset` (epoch seconds): the step waits until then. X answers
a duplicate of a recent post with a 403 that is no refusal of the token: that post is rejected and the account
stays as it is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from connectors.social.limits import x_text
from connectors.social.protocol import (
    DEFAULT_RATE_LIMIT_WAIT,
    Account,
    PostRejected,
    PostRequest,
    Published,
    RateLimitedBy,
    SocialError,
    bounded_wait,
    excerpt_of,
    json_of,
    retry_after_header,
)
from penguinflow.outbound.client import OutboundResponse

__all__ = ["X", "XNetwork", "reset_wait"]


def reset_wait(response: OutboundResponse, *, now: datetime | None = None) -> timedelta | None:
    """The wait until ``x-rate-limit-reset`` (epoch seconds), bounded; None when absent or unreadable."""
    value = (response.headers.get("x-rate-limit-reset") or "").strip()
    if not value.isdigit():
        return None
    reset = datetime.fromtimestamp(int(value), UTC)
    return bounded_wait(reset - (now or datetime.now(UTC)))


class XNetwork:
    name = "x"
    refused_fix = ("Reconnect the X account: enter a new OAuth 2.0 user access token on the connector, with the "
                   "tweet.read, tweet.write and users.read scopes.")

    def request(self, account: Account, text: str, url: str | None) -> PostRequest:
        body = json.dumps({"text": x_text(text, url)}, ensure_ascii=False).encode()
        return PostRequest("POST", account.base_url.rstrip("/") + "/2/tweets", {
            "Authorization": f"Bearer {account.secret}", "Content-Type": "application/json"}, body)

    def published(self, response: OutboundResponse) -> Published:
        answer = json_of(response)
        post_id = answer.get("data", {}).get("id") if isinstance(answer, dict) else None
        if not isinstance(post_id, str) or not post_id:
            raise SocialError(f"X answered {response.status} without the post's id ({excerpt_of(response)}): the "
                              "post may be published; check the account before running the step again.")
        return Published(post_id, f"https://x.com/i/web/status/{post_id}")

    def failure(self, response: OutboundResponse) -> SocialError | None:
        if response.status == 429:
            wait = reset_wait(response) or retry_after_header(response) or DEFAULT_RATE_LIMIT_WAIT
            return RateLimitedBy(f"X's rate limit: {excerpt_of(response) or 'Too Many Requests'}", wait)
        if response.status == 403 and "duplicate" in excerpt_of(response).lower():
            return PostRejected(f"X refused the post as a duplicate of a recent one ({excerpt_of(response)}): "
                                "vary the text (with Liquid, say).")
        return None


X = XNetwork()
