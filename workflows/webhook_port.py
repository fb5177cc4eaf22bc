"""The webhook action's live port: the request built from the step's config (Liquid against the contact), signed
with the workspace's secrets, sent through the outbound guard, and its answer judged.

One builder (`build_webhook_request`) makes the request for the live call and for `webhook_request_preview`
(the node test), so a preview shows exactly what would be sent.

- Liquid renders the URL, the header names and values, and each string of the JSON body on its own, never the
  JSON text as a whole: a contact field holding quotes or braces stays a string in the body and cannot add keys.
  Use `| url_encode` for values in a URL's query. A rendered header with a line break, or one PenguinFlow sets
  itself (signature, framing, hop-by-hop), fails the step for good.
- The URL goes through `penguinflow.outbound` (the SSRF guard and the pinned request): no internal addresses,
  no redirects followed (a 3xx is the answer), one deadline, at most 64 KiB of answer read and kept.
- The workspace must have a signing secret (`POST /api/v1/webhook-signing-secrets/rotate`, or the
  `rotate_webhook_secret` command); without one the step fails for good. A secret made on first need would sign
  calls no receiver could verify: its value is shown only when it is made, to whoever makes it.

Exactly once, and what that can honestly mean here: the call is made inline, while the batch's transaction is
open, and the step's record commits with the batch. A worker that dies after the receiver answered but before
the commit runs the step again after recovery, and the webhook is sent again. Every try of one step (a retry
after a 503, a rerun after a crash) carries the same `webhook-id` (`msg_` + a hash of workspace and effect key),
so receivers deduplicate on it as Standard Webhooks asks them to. Delivery is at least once, effect once for a
receiver that deduplicates. The call holds the batch's locked contacts for up to its timeout (at most 30 s);
a receiver that gave no answer is not called again in the same batch, and a batch stops starting calls once they
took WORKFLOW_BATCH_CALL_SECONDS: the steps left wait without spending an attempt (`workflows.batch_calls`).

Answers: 2xx and 3xx advance the step with the response recorded; 408, 409, 425, 429, 5xx, timeouts and
connection failures are retried per the node type's policy (429 and 503 no sooner than their Retry-After, at
most an hour); any other 4xx fails the step for good with the status and the start of the body as the reason.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from liquid.exceptions import LiquidError

from contacts.selectors import contact_as_data
from penguinflow.outbound.addresses import OutboundRefused, allowed_networks
from penguinflow.outbound.client import (
    MAX_TIMEOUT_S,
    Connections,
    OutboundFailed,
    OutboundResponse,
    Resolver,
    send,
    system_resolver,
)
from penguinflow.outbound.retry_after import retry_after_of as outbound_retry_after
from penguinflow.outbound.signing import message_id, signature_headers
from penguinflow.workspaces.services import signing_secrets_in_use
from templates.rendering import text_template
from workflows.batch_calls import BatchCalls
from workflows.engine.nodes.actions import webhook_header_problem
from workflows.engine.ports import PortError, WebhookResult

__all__ = ["LiveWebhooks", "WebhookRequest", "build_webhook_request", "retry_after_of", "webhook_request_preview"]

USER_AGENT = "PenguinFlow-Webhook/1"
# What is kept of the answer's headers on the step: enough to understand it, not every cookie it sets.
KEPT_RESPONSE_HEADERS = ("content-type", "content-length", "location", "retry-after", "date", "etag",
                         "x-request-id", "request-id")
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
MAX_RETRY_AFTER = timedelta(hours=1)
_EXCERPT_CHARS = 300


@dataclass(frozen=True)
class WebhookRequest:
    """A request as it will be sent: the rendered URL, every header (signature included), the body text."""

    webhook_id: str
    method: str
    url: str
    headers: dict[str, str]
    body: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": dict(self.headers), "body": self.body}


def build_webhook_request(*, workspace, key: str, url: str, method: str, headers: dict[str, str], body: Any,
                          data: dict[str, Any], now: datetime | None = None,
                          secrets: list[str] | None = None) -> WebhookRequest:
    """Render and sign the request of a webhook step; raise PortError (for good) when it cannot be made.

    ``secrets`` are the workspace's signing secrets in use, when the caller has read them already."""
    rendered_url = render_text(url, data, "URL").strip()
    own: dict[str, tuple[str, str]] = {}  # lower-case name -> (name, value), so a name given twice counts once
    for name, value in headers.items():
        name, value = render_text(name, data, "header name").strip(), render_text(value, data, f"header {name!r}")
        problem = webhook_header_problem(name, value)
        if problem:
            raise PortError(f"The webhook was not sent: {problem}.", retryable=False)
        own[name.lower()] = (name, value)
    body_text = None
    if body is not None:
        body_text = json.dumps(render_leaves(body, data), ensure_ascii=False, separators=(",", ":"))
    if secrets is None:
        secrets = [secret.secret for secret in signing_secrets_in_use(workspace=workspace)]
    if not secrets:
        raise PortError("The workspace has no webhook signing secret: create one with POST "
                        "/api/v1/webhook-signing-secrets/rotate, then retry the step.", retryable=False)
    msg_id = message_id(str(workspace.pk), key)
    sent_headers = {"User-Agent": USER_AGENT}
    if body_text is not None:
        sent_headers["Content-Type"] = "application/json"
    for lower, (name, value) in own.items():
        for existing in [existing for existing in sent_headers if existing.lower() == lower]:
            del sent_headers[existing]
        sent_headers[name] = value
    sent_headers.update(signature_headers(secrets_in_use=secrets, msg_id=msg_id, timestamp=now or datetime.now(UTC),
                                          body=body_text or ""))
    return WebhookRequest(webhook_id=msg_id, method=method, url=rendered_url, headers=sent_headers, body=body_text)


def webhook_request_preview(*, workspace, key: str, url: str, method: str, headers: dict[str, str], body: Any,
                            data: dict[str, Any]) -> dict[str, Any]:
    """Return `{method, url, headers, body}` exactly as a webhook step would send it now, without sending.

    ``data`` is what Liquid sees (`contact`, and `event`, `enrollment` as a step has them). Raises PortError when
    the step could not send it (a header that cannot be sent, a template that cannot render, no signing secret).
    """
    return build_webhook_request(workspace=workspace, key=key, url=url, method=method, headers=headers, body=body,
                                 data=data).as_dict()


class LiveWebhooks:
    """The `webhooks` port of live steps. ``resolver`` is the DNS boundary (tests give their own answers);
    ``calls`` is the batch's (`workflows.batch_calls`), shared with its other ports that call out."""

    def __init__(self, book, workspace, *, calls: BatchCalls, resolver: Resolver = system_resolver) -> None:
        self.book, self.workspace, self.resolver, self.calls = book, workspace, resolver, calls
        self._secrets: list[str] | None = None
        # Kept open while the batch's ports live (a batch's calls to one receiver share a connection), closed
        # when they go.
        self.connections = Connections()
        weakref.finalize(self, self.connections.close)

    def _signing_secrets(self) -> list[str]:
        """The workspace's secrets in use, read once per batch (a batch's ports live as long as the batch)."""
        if self._secrets is None:
            self._secrets = [secret.secret for secret in signing_secrets_in_use(workspace=self.workspace)]
        return self._secrets

    def call(self, *, key: str, contact_id: str, url: str, method: str, headers: dict[str, str], body: Any,
             timeout_s: int) -> WebhookResult:
        contact = self.book.get(contact_id)
        data = {**self.book.template_context.get(key.split(":", 1)[0], {}), "contact": contact_as_data(contact)}
        request = build_webhook_request(workspace=self.workspace, key=key, url=url, method=method, headers=headers,
                                        body=body, data=data, secrets=self._signing_secrets())
        try:
            response = self.calls.make(request.url, lambda: send(
                method=request.method, url=request.url, headers=request.headers,
                body=None if request.body is None else request.body.encode(),
                timeout_s=min(timeout_s, MAX_TIMEOUT_S), allowed=allowed_networks(),
                resolver=self.resolver, connections=self.connections))
        except OutboundRefused as error:
            raise PortError(f"The webhook was not sent: {error}", retryable=False) from None
        except OutboundFailed as error:
            raise PortError(f"The webhook got no answer: {error}") from None
        return _judged(request, response)


def _judged(request: WebhookRequest, response: OutboundResponse) -> WebhookResult:
    """Advance on 2xx/3xx with the answer recorded; raise PortError (retryable or not) on the rest."""
    status = response.status
    text = response.body.decode("utf-8", errors="replace")
    if status < 400:
        detail = {
            "webhook_id": request.webhook_id,
            "sent_url": request.url,
            "response": {
                "status": status,
                "headers": {name: response.headers[name] for name in KEPT_RESPONSE_HEADERS
                            if name in response.headers},
                "body": text,
                "body_truncated": response.truncated,
                "address": response.address,
                "elapsed_ms": response.elapsed_ms,
            },
        }
        return WebhookResult(status_code=status, detail=detail)
    excerpt = " ".join(text[:_EXCERPT_CHARS].split())
    said = f"The receiver answered {status}" + (f": {excerpt}" if excerpt else "")
    if status in RETRYABLE_4XX or status >= 500:
        wait = retry_after_of(response.headers.get("retry-after")) if status in (429, 503) else None
        raise PortError(said, retry_after=wait)
    raise PortError(said, retryable=False)


def retry_after_of(value: str | None, *, now: datetime | None = None) -> timedelta | None:
    """Read a step's Retry-After header, capped at an hour (MAX_RETRY_AFTER); None when absent or unreadable."""
    return outbound_retry_after(value, cap=MAX_RETRY_AFTER, now=now)


def render_text(text: str, data: dict[str, Any], what: str, *, sender: str = "webhook") -> str:
    """Render one Liquid string of an outbound request (``what``: "URL", "body", a header); a template error is
    a permanent step failure naming the part (``sender``: "webhook", "request")."""
    if "{" not in text:
        return text
    try:
        return text_template(text).render(**data)
    except LiquidError as error:
        raise PortError(f"The {sender}'s {what} could not be rendered: {error.message}", retryable=False) from error


def render_leaves(value: Any, data: dict[str, Any], *, sender: str = "webhook") -> Any:
    """Render each string of a JSON value on its own (a contact's quotes stay in their string); keys, numbers,
    booleans and nulls stay as written."""
    if isinstance(value, str):
        return render_text(value, data, "body", sender=sender)
    if isinstance(value, dict):
        return {key: render_leaves(item, data, sender=sender) for key, item in value.items()}
    if isinstance(value, list):
        return [render_leaves(item, data, sender=sender) for item in value]
    return value
