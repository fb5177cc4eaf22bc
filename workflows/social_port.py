"""The social_post action's live port: a post on the workspace's LinkedIn page, X account or Facebook page.

The account is a connector of the workspace (`connectors`); its network's client (`connectors.social`) builds
the request and reads the answer, sent through `penguinflow.outbound` (the SSRF guard on the account's API address,
one deadline, a capped answer). Liquid renders the text and the link against the contact, the event and the
enrollment; the rendered post is checked against the network's limit before anything is sent.

Answers: a post published gives its id and URL. A 401/403 (the token expired or was revoked, a permission lost)
marks the connector `needs_attention` with the network's reason, and fails the step for good saying how to fix it;
later steps on that account fail at once with the same reason, without calling, until a new token is entered. A
429 (or Facebook's rate-limit codes) raises `RateLimited` with the wait the network asks for: the step waits and
posts again, never dropped. 5xx and no answer are retried per the node type's policy; any other refusal of the
post (a duplicate, invalid content) fails the step for good with the network's words.

Exactly once, and what that can honestly mean: none of these APIs takes an idempotency key, so a post sent twice
is published twice. The call is made inline, while the batch's transaction is open, and the step's record commits
with the batch. So that a step run again does not post again, the post is written to a ledger in Redis under the
step's effect key (`<enrollment>:<node>:<visit>`) the moment the network answers, before the batch commits: a
batch redone after a rollback, a worker that died after that write, and any later run of the same step find the
post there and answer it again without calling. What remains is the window between the network's answer and that
write (a process killed in those microseconds, or Redis unreachable then): the step runs again after recovery and
the post is published a second time. Delivery is at least once in that window, once everywhere else. A post whose
answer lacks its id (the post may exist) fails the step for good rather than risk a second post.
"""

from __future__ import annotations

import json
import logging
import weakref
from typing import Any

import redis

from connectors.kinds import CATEGORY_SOCIAL, KINDS
from connectors.models import Connector
from connectors.services import connector_get, connector_refused, connector_secret
from connectors.social.limits import length_problem
from connectors.social.networks import network_of
from connectors.social.protocol import (
    Account,
    AccountRefused,
    NetworkUnavailable,
    RateLimitedBy,
    SocialError,
    SocialNetwork,
)
from connectors.social.protocol import post as network_post
from contacts.selectors import contact_as_data
from penguinflow.common.errors import NotFound
from penguinflow.common.redis_client import redis_client
from penguinflow.outbound.addresses import allowed_networks
from penguinflow.outbound.client import Connections, Resolver, system_resolver
from penguinflow.workspaces.credentials import CredentialUnreadable
from workflows.engine.ports import PortError, RateLimited, SocialPosted
from workflows.webhook_port import render_text

__all__ = ["LEDGER_TTL_S", "LiveSocial", "ledger_key"]

logger = logging.getLogger(__name__)

# How long a post is remembered by its effect key: far longer than any retry or recovery of its step.
LEDGER_TTL_S = 30 * 24 * 3600


def ledger_key(workspace_id: object, key: str) -> str:
    return f"pf:social_post:{workspace_id}:{key}"


class LiveSocial:
    """The `social` port of live steps. ``resolver`` is the DNS boundary (tests give their own answers)."""

    def __init__(self, book, workspace, *, resolver: Resolver = system_resolver) -> None:
        self.book, self.workspace, self.resolver = book, workspace, resolver
        self.connections = Connections()
        weakref.finalize(self, self.connections.close)

    def post(self, *, key: str, contact_id: str, account_id: str, text: str, url: str | None) -> SocialPosted:
        connector, network = self._account(account_id)
        rendered, link = self._rendered(key, contact_id, text, url)
        problem = length_problem(network.name, rendered, link)
        if problem:
            raise PortError(f"{problem} (the text as rendered for this contact)", retryable=False)
        earlier = self._ledger_read(key)
        if earlier is not None:
            return SocialPosted(earlier["post_id"], earlier["post_url"], network.name, earlier["text"],
                                detail={"account": connector.name, "url": link, "posted_earlier": True})
        published = self._publish(connector, network, rendered, link)
        self._ledger_write(key, {"post_id": published.post_id, "post_url": published.post_url, "text": rendered})
        return SocialPosted(published.post_id, published.post_url, network.name, rendered,
                            detail={"account": connector.name, "url": link})

    def _account(self, account_id: str) -> tuple[Connector, SocialNetwork]:
        try:
            connector = connector_get(workspace=self.workspace, connector_id=account_id)
        except NotFound as error:
            raise PortError(f"The post was not sent: {error.message}", retryable=False) from None
        network = network_of(connector.kind)
        if network is None or KINDS[connector.kind].category != CATEGORY_SOCIAL:
            raise PortError(f"The connector '{connector.name}' is not a social account: choose a LinkedIn page, an "
                            "X account or a Facebook page.", retryable=False)
        if connector.status == Connector.Status.NEEDS_ATTENTION:
            raise PortError(f"The account '{connector.name}' needs attention: {connector.last_error}",
                            retryable=False)
        return connector, network

    def _rendered(self, key: str, contact_id: str, text: str, url: str | None) -> tuple[str, str | None]:
        contact = self.book.get(contact_id)
        data = {**self.book.template_context.get(key.split(":", 1)[0], {}), "contact": contact_as_data(contact)}
        rendered = render_text(text, data, "text", sender="post").strip()
        if not rendered:
            raise PortError("The post's text is empty once rendered for this contact: give the text a part that "
                            "is always there, or a default (| default: '...').", retryable=False)
        link = render_text(url, data, "link", sender="post").strip() if url else ""
        if link and not link.lower().startswith(("http://", "https://")):
            raise PortError(f"The post's link renders to {link[:200]!r}, which is no web address (https://...).",
                            retryable=False)
        return rendered, link or None

    def _publish(self, connector: Connector, network: SocialNetwork, text: str, link: str | None):
        try:
            account = Account(connector.name, connector.base_url or KINDS[connector.kind].default_base_url,
                              connector_secret(connector), dict(connector.settings))
        except CredentialUnreadable as error:
            raise PortError(f"The post was not sent: {error} Enter the account's token again.",
                            retryable=False) from None
        try:
            return network_post(network, account, text, link, allowed=allowed_networks(), resolver=self.resolver,
                                connections=self.connections)
        except AccountRefused as refused:
            connector_refused(connector=connector, reason=str(refused))
            raise PortError(f"The account '{connector.name}' was refused: {refused}", retryable=False) from None
        except RateLimitedBy as limited:
            raise RateLimited(f"{limited} (posting again in {_in_words(limited.wait)}, when the limit resets)",
                              retry_after=limited.wait) from None
        except NetworkUnavailable as error:
            raise PortError(str(error)) from None
        except SocialError as error:
            raise PortError(str(error), retryable=False) from None

    def _ledger_read(self, key: str) -> dict[str, Any] | None:
        try:
            raw = redis_client().get(ledger_key(self.workspace.pk, key))
        except redis.RedisError as error:
            # Unknown is treated as "not posted": a post missed would be lost for good, a repeat is visible.
            logger.warning("social_post ledger unreadable for %s: %s", key, error)
            return None
        return json.loads(raw) if raw else None

    def _ledger_write(self, key: str, post: dict[str, Any]) -> None:
        try:
            redis_client().set(ledger_key(self.workspace.pk, key), json.dumps(post), ex=LEDGER_TTL_S)
        except redis.RedisError as error:
            logger.warning("social_post ledger unwritable for %s (a rerun of this step would post again): %s",
                           key, error)


def _in_words(wait) -> str:
    seconds = round(wait.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count > 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
