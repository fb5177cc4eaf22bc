"""LinkedIn pages through the Posts API (the subset social_post uses).

`POST /rest/posts` with the headers the versioned API requires (`LinkedIn-Version: YYYYMM`,
`X-Restli-Protocol-Version: 2.0.0`), as the organization `urn:li:organization:<settings.organization_id>`, visible
to everyone on the main feed. A link is shared as the post's article (source and title). LinkedIn answers 201
with an empty body and the post's URN in the `x-restli-id` header; the post is at
`https://www.linkedin.com/feed/update/<urn>/`.

The commentary is LinkedIn's "little text" format, where `( ) [ ] { } < > @ # * _ ~ | \\` mark up mentions and
hashtags: they are escaped, so a contact's text is posted as written (a stray bracket would otherwise cut the
post short or make LinkedIn refuse it).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from connectors.social.limits import little_text
from connectors.social.protocol import Account, PostRequest, Published, SocialError
from penguinflow.outbound.client import OutboundResponse

__all__ = ["API_VERSION", "LINKEDIN", "LinkedIn"]

API_VERSION = "202405"


class LinkedIn:
    name = "linkedin"
    refused_fix = ("Reconnect the LinkedIn page: enter a new access token on the connector, made by an "
                   "administrator of the page with the w_organization_social scope (tokens last 60 days).")

    def request(self, account: Account, text: str, url: str | None) -> PostRequest:
        body: dict = {
            "author": f"urn:li:organization:{account.settings.get('organization_id', '')}",
            "commentary": little_text(text),
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if url:
            body["content"] = {"article": {"source": url, "title": url}}
        return PostRequest("POST", account.base_url.rstrip("/") + "/rest/posts", {
            "Authorization": f"Bearer {account.secret}",
            "LinkedIn-Version": API_VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
            "Content-Type": "application/json",
        }, json.dumps(body, ensure_ascii=False).encode())

    def published(self, response: OutboundResponse) -> Published:
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id") or ""
        if not urn:
            raise SocialError(f"LinkedIn answered {response.status} without the post's id (x-restli-id): the post "
                              "may be published; check the page before running the step again.")
        return Published(urn, f"https://www.linkedin.com/feed/update/{quote(urn, safe=':')}/")

    def failure(self, response: OutboundResponse) -> SocialError | None:
        return None


LINKEDIN = LinkedIn()
