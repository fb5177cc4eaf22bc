"""What every CRM client offers, and the one transport they share.

The transport sends through `penguinflow.outbound` (the SSRF guard resolves the host and refuses private and
metadata addresses, no redirect is followed, one deadline, at most 64 KiB of answer read) and judges answers
the same way for every CRM:

- 401 and 403: the CRM refused the secret (expired, revoked, a scope missing): `CrmRefused`, never retried; the
  caller marks the connector as needing attention.
- 408, 425, 429, 5xx, timeouts and connection failures: `CrmFailed(retryable=True)` with the Retry-After header
  as the CRM sent it (the caller reads it: it knows its retry policy).
- any other 4xx (a field the CRM does not know, a record that is gone) and a 3xx: `CrmRejected`, with the status
  and the start of the CRM's answer, which says what was wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from penguinflow.outbound.addresses import OutboundRefused, allowed_networks
from penguinflow.outbound.client import Connections, OutboundFailed, Resolver, send, system_resolver

__all__ = ["CrmChange", "CrmClient", "CrmFailed", "CrmRecord", "CrmRefused", "CrmRejected", "Transport"]

USER_AGENT = "PenguinFlow-CRM/1"
TIMEOUT_S = 10
_RETRYABLE_4XX = frozenset({408, 425, 429})
_EXCERPT_CHARS = 300


class CrmRefused(Exception):
    """The CRM refused the connector's secret (401/403): a person must enter a new one."""


class CrmRejected(Exception):
    """The CRM refused the request itself (a 4xx other than 401/403/429): trying again would not help."""


class CrmFailed(Exception):
    """No usable answer (5xx, 429, timeout, connection): ``retryable`` when a later try may work."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.retryable, self.retry_after = retryable, retry_after


@dataclass(frozen=True)
class CrmRecord:
    """A record of the CRM: its id, and its address in the CRM's app when the connector knows how to make one."""

    id: str
    url: str | None = None


@dataclass(frozen=True)
class CrmChange:
    """A change the CRM reported: an event type (crm.deal_stage_changed, crm.contact_updated), the email of the
    contact it concerns, a key unique per change (for deduplication) and the event's properties."""

    type: str
    email: str
    key: str
    properties: dict[str, Any] = field(default_factory=dict)
    occurred_at: str | None = None  # ISO 8601, when the CRM says


class CrmClient(Protocol):
    def create(self, *, object: str, fields: Mapping[str, str], idempotency_key: str) -> CrmRecord: ...

    def update(self, *, object: str, record_id: str, fields: Mapping[str, str], idempotency_key: str) -> CrmRecord:
        ...

    def contact_by_email(self, email: str) -> CrmRecord | None: ...


class Transport:
    """Calls to one CRM: its base URL, the authentication headers or query, the outbound guard's resolver."""

    def __init__(self, base_url: str, *, headers: Mapping[str, str] | None = None,
                 query: Mapping[str, str] | None = None, resolver: Resolver = system_resolver,
                 connections: Connections | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers, self.query = dict(headers or {}), dict(query or {})
        self.resolver, self.connections = resolver, connections

    def _redacted(self, text: str) -> str:
        """``text`` without the secret a query carries (Pipedrive's api_token), should a message echo the URL."""
        for value in self.query.values():
            if value:
                text = text.replace(value, "[secret]")
        return text

    def call(self, method: str, path: str, *, body: Any = None, query: Mapping[str, str] | None = None,
             idempotency_key: str | None = None) -> Any:
        """Send one request; return the answer's JSON (None for an empty body) or raise as the module says."""
        params = {**(query or {}), **self.query}
        url = self.base_url + path + (("&" if "?" in path else "?") + urlencode(params) if params else "")
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **self.headers}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = send(method=method, url=url, headers=headers, body=data, timeout_s=TIMEOUT_S,
                            allowed=allowed_networks(), resolver=self.resolver, connections=self.connections)
        except OutboundRefused as error:
            raise CrmFailed(self._redacted(f"The CRM was not called: {error}"), retryable=False) from None
        except OutboundFailed as error:
            raise CrmFailed(self._redacted(f"The CRM did not answer: {error}")) from None
        text = response.body.decode("utf-8", errors="replace")
        excerpt = " ".join(text[:_EXCERPT_CHARS].split())
        said = self._redacted(f"The CRM answered {response.status} to {method} {path.split('?', 1)[0]}" + (
            f": {excerpt}" if excerpt else ""))
        if response.status in (401, 403):
            raise CrmRefused(said)
        if response.status in _RETRYABLE_4XX or response.status >= 500:
            raise CrmFailed(said, retry_after=response.headers.get("retry-after"))
        if response.status >= 300:
            raise CrmRejected(said)
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise CrmFailed(f"The CRM's answer is not JSON: {excerpt[:80]}", retryable=False) from None
