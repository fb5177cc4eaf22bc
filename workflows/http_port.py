"""The http_request action's live port: a call to another system whose JSON answer later steps read.

It keeps the webhook action's safety (`workflows.webhook_port`): the URL goes through `penguinflow.outbound`
(the SSRF guard resolves the host and refuses private, loopback, link-local and metadata addresses; no redirect
is followed; one deadline of at most 30 s; at most 64 KiB of answer read), headers are checked as a webhook's
are, Liquid renders the URL, header values and each string of the JSON body on its own, and answers are judged
alike: 408, 409, 425, 429, 5xx, timeouts and connection failures are retried per the node type's policy (the
webhook's: six tries over about half an hour, no sooner than a 429/503's Retry-After); any other 4xx, and a 3xx
(a redirect is not followed, so it has no answer to map), fail the step for good with the status and the start
of the body.

Credentials: with `credential_id`, `{{ credential }}` in a header value is the credential's secret, decrypted
for this call only (`penguinflow.workspaces.services.credential_secret`). It is rendered into headers and
nowhere else (not the URL, not the body: those are kept on the step), and what the step keeps never includes the
request's headers. Another workspace's credential id is not found: the step fails, and publishing refuses it.

Exactly once, and what that can honestly mean: the call is made inline, while the batch's transaction is open,
and the step's record (with the mapped variables) commits with the batch. A worker that dies after the other
side answered but before the commit runs the step again after recovery, and the request is sent again. Every
try of one step (a retry after a 503, a rerun after a crash) carries the same `Idempotency-Key` header
(`pf_` + a hash of the workspace and the effect key), so an API that honours it (Stripe's semantics, the IETF
draft) acts once and answers the first answer again. For one that does not, a non-idempotent call (a POST that
creates something) can happen twice in that crash window: delivery is at least once, effect once for a receiver
that deduplicates. A config that sets its own `Idempotency-Key` header replaces ours.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from typing import Any

from contacts.selectors import contact_as_data
from penguinflow.common.errors import NotFound
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
from penguinflow.workspaces.credentials import CredentialUnreadable
from penguinflow.workspaces.services import credential_secret
from workflows.batch_calls import BatchCalls
from workflows.engine.nodes.actions import webhook_header_problem
from workflows.engine.ports import HttpAnswer, PortError
from workflows.webhook_port import (
    KEPT_RESPONSE_HEADERS,
    RETRYABLE_4XX,
    render_leaves,
    render_text,
    retry_after_of,
)

__all__ = ["LiveHttp", "idempotency_key_of"]

USER_AGENT = "PenguinFlow-HttpRequest/1"
_EXCERPT_CHARS = 300
# What the step keeps of the answer's body (the mapped values are kept whole, in `vars`).
_KEPT_BODY_CHARS = 2000


def idempotency_key_of(workspace_id: object, key: str) -> str:
    """The `Idempotency-Key` of a step: the same for every try of one effect key in one workspace."""
    return "pf_" + hashlib.sha256(f"{workspace_id}:{key}".encode()).hexdigest()[:32]


class LiveHttp:
    """The `http` port of live steps. ``resolver`` is the DNS boundary (tests give their own answers);
    ``calls`` is the batch's (`workflows.batch_calls`): an endpoint silent in the batch, or the batch's time for
    calls spent, defers the step instead of calling."""

    def __init__(self, book, workspace, *, calls: BatchCalls, resolver: Resolver = system_resolver) -> None:
        self.book, self.workspace, self.resolver, self.calls = book, workspace, resolver, calls
        self.connections = Connections()
        weakref.finalize(self, self.connections.close)

    def request(self, *, key: str, contact_id: str, url: str, method: str, headers: dict[str, str], body: Any,
                credential_id: str | None, timeout_s: int) -> HttpAnswer:
        contact = self.book.get(contact_id)
        data = {**self.book.template_context.get(key.split(":", 1)[0], {}), "contact": contact_as_data(contact)}
        rendered_url = render_text(url, data, "URL", sender="request").strip()
        body_text = None
        if body is not None:
            rendered = render_leaves(body, data, sender="request")
            body_text = json.dumps(rendered, ensure_ascii=False, separators=(",", ":"))
        secret = self._secret(credential_id) if credential_id else None
        sent_headers = self._headers(key, headers, {**data, "credential": secret or ""}, has_body=body_text is not None)
        try:
            response = self.calls.make(rendered_url, lambda: send(
                method=method, url=rendered_url, headers=sent_headers,
                body=None if body_text is None else body_text.encode(),
                timeout_s=min(timeout_s, MAX_TIMEOUT_S), allowed=allowed_networks(),
                resolver=self.resolver, connections=self.connections))
        except OutboundRefused as error:
            raise PortError(f"The request was not sent: {error}", retryable=False) from None
        except OutboundFailed as error:
            raise PortError(f"The request got no answer: {error}") from None
        return _judged(rendered_url, sent_headers["Idempotency-Key"], response)

    def _secret(self, credential_id: str) -> str:
        try:
            return credential_secret(workspace=self.workspace, credential_id=credential_id)
        except NotFound as error:
            raise PortError(f"The request was not sent: {error.message}", retryable=False) from None
        except CredentialUnreadable as error:
            raise PortError(f"The request was not sent: {error}", retryable=False) from None

    def _headers(self, key: str, headers: dict[str, str], data: dict[str, Any], *, has_body: bool) -> dict[str, str]:
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json",
                "Idempotency-Key": idempotency_key_of(self.workspace.pk, key)}
        if has_body:
            sent["Content-Type"] = "application/json"
        for name, value in headers.items():
            without_secret = {k: v for k, v in data.items() if k != "credential"}
            name = render_text(name, without_secret, "header name", sender="request").strip()
            value = render_text(value, data, f"header {name!r}", sender="request")
            problem = webhook_header_problem(name, value)
            if problem:
                # The problem names the header, never its value (which may hold the credential).
                raise PortError(f"The request was not sent: {problem}.", retryable=False)
            for existing in [existing for existing in sent if existing.lower() == name.lower()]:
                del sent[existing]
            sent[name] = value
        return sent


def _judged(url: str, idempotency_key: str, response: OutboundResponse) -> HttpAnswer:
    """Answer a 2xx with its JSON (or why there is none); raise PortError (retryable or not) on the rest."""
    status = response.status
    text = response.body.decode("utf-8", errors="replace")
    if status >= 300:
        excerpt = " ".join(text[:_EXCERPT_CHARS].split())
        said = f"The API answered {status}" + (f": {excerpt}" if excerpt else "")
        if 300 <= status < 400:
            raise PortError(f"{said} (a redirect, which is not followed: use the final URL)", retryable=False)
        if status in RETRYABLE_4XX or status >= 500:
            wait = retry_after_of(response.headers.get("retry-after")) if status in (429, 503) else None
            raise PortError(said, retry_after=wait)
        raise PortError(said, retryable=False)
    detail = {
        "idempotency_key": idempotency_key,
        "sent_url": url,
        "response": {
            "status": status,
            "headers": {name: response.headers[name] for name in KEPT_RESPONSE_HEADERS if name in response.headers},
            "body": text[:_KEPT_BODY_CHARS],
            "body_truncated": response.truncated or len(text) > _KEPT_BODY_CHARS,
            "address": response.address,
            "elapsed_ms": response.elapsed_ms,
        },
    }
    answer, problem = _json_of(response, text)
    return HttpAnswer(status_code=status, json=answer, json_problem=problem, detail=detail)


def _json_of(response: OutboundResponse, text: str) -> tuple[Any, str | None]:
    if response.truncated:
        return None, "the answer is larger than 64 KiB, the most a step reads; ask the API for less"
    if not text.strip():
        return None, f"the API answered {response.status} with an empty body"
    try:
        return json.loads(text), None
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        return None, f"the answer is not JSON ({kind}): {' '.join(text[:80].split())}"
