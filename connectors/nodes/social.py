"""The social_post action: publish a post on a LinkedIn page, X or a Facebook page the workspace connected.

The text is Liquid over the contact, the event and the enrollment (``enrollment.vars.*`` included), rendered when
the step runs; the network's length limit (``connectors.social.limits``) is checked at publish where the text is
literal, and at send after rendering. The post's id and URL are kept on the step and written to the enrollment's
variables ``post_id`` and ``post_url`` (a later social_post step replaces them), so the next steps can read them
(a Slack notification with the link, say).

A network's rate limit makes the step wait until the limit resets and post then: it spends none of the step's
attempts, however long the limit lasts (a limit is the network saying "later", not failing). A network that fails
(5xx, no answer) is retried as a webhook is; one that refuses the account's token fails the step for good and
marks the account as needing attention (``workflows.social_port``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from connectors.social.limits import MAX_LIMIT
from workflows.engine.nodes.actions import LIQUID, Webhook
from workflows.engine.outcomes import Advance, Outcome, Wait
from workflows.engine.ports import RateLimited
from workflows.engine.presets import Preset
from workflows.engine.registry import NodeConfig, NodeType, Reference, StepContext, node_type

__all__ = ["PLACEHOLDER_SOCIAL_ACCOUNT", "SocialPost"]

PLACEHOLDER_SOCIAL_ACCOUNT = "<social-account-id>"
_FILL_IN = (f"Replace {PLACEHOLDER_SOCIAL_ACCOUNT} with one of the workspace's social accounts "
            "(/api/v1/connectors, kind linkedin, x or facebook).")


@node_type(
    "social_post",
    kind="action",
    label="Post on social media",
    description="Publish a post on a LinkedIn page, X or a Facebook page the workspace connected (account_id: a "
                "connector of kind linkedin, x or facebook). Liquid in the text and the link. The post's id and "
                "URL are kept on the step and in enrollment.vars.post_id and enrollment.vars.post_url. Limits: "
                "X 280 (a link counts 23), LinkedIn 3,000, Facebook 63,206 characters. A rate limit makes the "
                "step wait for its reset, then post.",
)
class SocialPost(NodeType):
    presets = (
        Preset("social-post-announce", "Announce on social media",
               "Post on the company page when something happens (a launch, a milestone).", "integration",
               {"account_id": PLACEHOLDER_SOCIAL_ACCOUNT,
                "text": "{{ event.properties.title | default: 'Something new' }} is live!",
                "url": "https://example.com/{{ event.properties.slug }}"},
               {"fill_in": _FILL_IN}),
    )
    # The webhook's policy for a network that fails (5xx, timeouts); rate limits wait outside it (see `run`).
    retry = Webhook.retry
    ports = ("social",)
    references = (Reference("account_id", "connectors.Connector", "social account", collection="social_accounts"),)

    class Config(NodeConfig):
        account_id: str = Field(min_length=1, max_length=100,
                                description="A social account of the workspace (/api/v1/connectors).")
        text: str = Field(min_length=1, max_length=MAX_LIMIT, json_schema_extra=LIQUID,
                          description="Liquid over contact, event and enrollment; checked against the network's "
                                      "limit once rendered")
        url: str | None = Field(default=None, max_length=2000, title="Link", json_schema_extra=LIQUID,
                                description="A link to share with the post (Liquid); X adds it to the text")

        @field_validator("text")
        @classmethod
        def _not_blank(cls, text: str) -> str:
            if not text.strip():
                raise ValueError("the text is empty")
            return text

        @field_validator("url")
        @classmethod
        def _a_web_address(cls, url: str | None) -> str | None:
            if url is not None and "{" not in url and not url.strip().lower().startswith(("http://", "https://")):
                raise ValueError("the link must start with https:// (or http://)")
            return url or None

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        try:
            posted = ctx.ports.social.post(key=ctx.effect_key, contact_id=ctx.contact_id,
                                           account_id=config.account_id, text=config.text, url=config.url)
        except RateLimited as limited:
            return _rate_limited(ctx, limited)
        detail: dict[str, Any] = {"account_id": config.account_id, "network": posted.network,
                                  "post_id": posted.post_id, "post_url": posted.post_url, "text": posted.text,
                                  **posted.detail}
        if posted.simulated:
            detail["simulated"] = True
        written = {"post_id": posted.post_id, "post_url": posted.post_url}
        return Advance(detail={**detail, "vars": written}, vars=written)


def _rate_limited(ctx: StepContext, limited: RateLimited) -> Wait:
    """Wait for the network's limit to reset; the step then runs again (same key, no attempt spent)."""
    until = ctx.now + limited.retry_after  # type: ignore[operator]
    return Wait(until=until, detail={"rate_limited": True, "reason": str(limited), "until": until.isoformat()})
