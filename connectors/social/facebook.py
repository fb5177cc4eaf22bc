"""Facebook pages through the Graph API (the subset social_post uses).

`POST /<version>/<settings.page_id>/feed` with `message` and `link` (form-encoded) and the page's access token as a
Bearer token (pages_manage_posts, pages_read_engagement). The answer is `{"id": "<page id>_<post id>"}`; the post
is at `https://www.facebook.com/<id>`.

The Graph API says what went wrong in `error.code`, often under a 400: 190 (the token expired or was revoked),
10 and 200-299 (a permission missing) refuse the account; 4, 17, 32 and 613 are rate limits (the step waits, an
hour when the answer does not say: Facebook's windows are an hour long); 1 and 2 are Facebook's own failures.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from connectors.social.protocol import (
    Account,
    AccountRefused,
    NetworkUnavailable,
    PostRequest,
    Published,
    RateLimitedBy,
    SocialError,
    excerpt_of,
    json_of,
    retry_after_header,
)
from penguinflow.outbound.client import OutboundResponse

__all__ = ["FACEBOOK", "GRAPH_VERSION", "Facebook"]

GRAPH_VERSION = "v19.0"
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
_TRANSIENT_CODES = frozenset({1, 2})
_HOUR = timedelta(hours=1)


def _refusal_code(code: int) -> bool:
    return code in (102, 190, 10) or 200 <= code <= 299


class Facebook:
    name = "facebook"
    refused_fix = ("Reconnect the Facebook page: enter a new Page access token on the connector, with the "
                   "pages_manage_posts and pages_read_engagement permissions.")

    def request(self, account: Account, text: str, url: str | None) -> PostRequest:
        fields = {"message": text, **({"link": url} if url else {})}
        page = account.settings.get("page_id", "")
        return PostRequest("POST", f"{account.base_url.rstrip('/')}/{GRAPH_VERSION}/{page}/feed", {
            "Authorization": f"Bearer {account.secret}", "Content-Type": "application/x-www-form-urlencoded"},
            urlencode(fields).encode())

    def published(self, response: OutboundResponse) -> Published:
        answer = json_of(response)
        post_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(post_id, str) or not post_id:
            raise SocialError(f"Facebook answered {response.status} without the post's id "
                              f"({excerpt_of(response)}): the post may be published; check the page before "
                              "running the step again.")
        return Published(post_id, f"https://www.facebook.com/{post_id}")

    def failure(self, response: OutboundResponse) -> SocialError | None:
        answer = json_of(response)
        error = answer.get("error") if isinstance(answer, dict) else None
        if not isinstance(error, dict) or not isinstance(error.get("code"), int):
            return None
        code, message = error["code"], str(error.get("message") or "")[:300]
        said = f"Facebook answered {response.status} (code {code}): {message}"
        if _refusal_code(code):
            return AccountRefused(f"{said}.", self.refused_fix)
        if code in _RATE_LIMIT_CODES:
            return RateLimitedBy(said, retry_after_header(response) or _HOUR)
        if code in _TRANSIENT_CODES:
            return NetworkUnavailable(said)
        return None


FACEBOOK = Facebook()
